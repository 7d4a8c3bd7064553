"""The package is exported from the notebooks, and the notebooks are committed clean.

Both checks run nbdev on a scratch copy, so the working tree is never modified by a test.
"""
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _copy_project(dst):
    for name in ["nbs", "srgan_course", "pyproject.toml", "index.ipynb"]:
        src = ROOT / name
        if src.is_dir(): shutil.copytree(src, dst / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else: shutil.copy2(src, dst / name)
    return dst


def _bin(name):
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


def _tree(root, pattern):
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.glob(pattern)) if p.is_file()}


def test_package_matches_notebooks(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run([_bin("nbdev-export")], cwd=proj, check=True, capture_output=True)
    before, after = _tree(ROOT, "srgan_course/**/*.py"), _tree(proj, "srgan_course/**/*.py")
    stale = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not stale, f"srgan_course is out of sync with nbs/ (run nbdev-export): {stale}"


def test_notebooks_are_clean(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run([_bin("nbdev-clean")], cwd=proj, check=True, capture_output=True)
    before, after = _tree(ROOT, "nbs/*.ipynb"), _tree(proj, "nbs/*.ipynb")
    dirty = sorted(k for k in before if before[k] != after.get(k))
    assert not dirty, f"notebooks are not clean (run nbdev-clean): {dirty}"


def test_package_lines_fit_in_120_characters():
    """The house style's line length, in every module the notebooks export. nbdev writes some lines itself and they are
    left as it writes them: a module's docstring (the chapter's one-line summary), its `__all__`, and `_modidx.py`; the
    hand-written `__init__.py` keeps its docstring's table of TensorFlow's start-up lines whole, one line per row."""
    long = []
    for p in sorted((ROOT / "srgan_course").glob("*.py")):
        if p.name == "_modidx.py": continue
        for n, line in enumerate(p.read_text().split("\n"), 1):
            table_row = p.name == "__init__.py" and line.startswith("|")
            if len(line) > 120 and n > 1 and not line.startswith("__all__ = ") and not table_row:
                long.append(f"{p.name}:{n}: {line.strip()[:60]}")
    assert not long, f"{len(long)} package lines over 120 characters: " + "; ".join(long[:10])
