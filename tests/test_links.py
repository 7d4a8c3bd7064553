"""Every markdown link in the course resolves: README.md, index.ipynb and every notebook's markdown cells.

A relative link is resolved from the folder the file is *opened from* (a symlinked notebook opened in
nbs/ resolves its links in nbs/, as JupyterLab does), and a `#anchor` must name a heading (or an explicit
id) of its target. Web links are not fetched. Images count too.
"""
import json, re, shutil, unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", ".git", "_proc", "_docs", ".ipynb_checkpoints", "build", "dist", "runs"}

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")  # [text](target "title")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)                       # [name]: target
HTML = re.compile(r"<(?:a|img|source)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)
EXPLICIT_ID = re.compile(r"""<[^>]+\b(?:id|name)\s*=\s*["']([^"']+)["']|\{#([\w:.-]+)[^}]*\}""")


def course_files():
    "README.md, index.ipynb and every notebook JupyterLab would list (symlinks too), as repo-relative paths."
    found = []
    for p in sorted(ROOT.rglob("*")):
        rel = p.relative_to(ROOT)
        if set(rel.parts) & SKIP_DIRS or p.is_dir(): continue
        if p.suffix == ".ipynb" or rel.as_posix() == "README.md": found.append(rel)
    return found


def markdown_of(path):
    "The markdown text of a .md file or of a notebook's markdown cells."
    text = (ROOT / path).read_text(encoding="utf-8")
    if path.suffix != ".ipynb": return text
    cells = json.loads(text)["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def links_in(markdown):
    "Link targets in `markdown`, code blocks and code spans excluded."
    prose = CODE_SPAN.sub("", FENCE.sub("", markdown))
    return [m.group(1) for rx in (INLINE, REFDEF, HTML) for m in rx.finditer(prose)]


def _slugs(title):
    "The anchor ids a heading gets: GitHub's (lower case, punctuation dropped) and JupyterLab's (spaces to '-')."
    title = re.sub(r"<[^>]+>|[*_`]|\[([^\]]*)\]\([^)]*\)", r"\1", title).strip()
    github = re.sub(r"[^\w\- ]", "", unicodedata.normalize("NFKC", title).lower()).replace(" ", "-")
    return {github, title.replace(" ", "-"), title.lower().replace(" ", "-")}


def anchors_of(path):
    "Every anchor a file defines."
    md = FENCE.sub("", markdown_of(path))
    ids = set().union(*(_slugs(h) for h in HEADING.findall(md))) if HEADING.search(md) else set()
    return ids | {a or b for a, b in EXPLICIT_ID.findall(md)}


def broken_links(path):
    "(target, reason) for each link in `path` that does not resolve."
    broken = []
    for target in links_in(markdown_of(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I): continue  # http(s), mailto, attachment:, data:
        file_part, _, anchor = target.partition("#")
        dest = (ROOT / path).parent / unquote(file_part) if file_part else ROOT / path
        rel = Path(dest).resolve() if dest.exists() else None
        if rel is None: broken.append((target, f"no such file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")); continue
        if anchor and (dest.suffix in (".md", ".ipynb")) and unquote(anchor) not in anchors_of(Path(dest).relative_to(ROOT)):
            broken.append((target, f"no heading or id '#{anchor}' in {Path(dest).relative_to(ROOT)}"))
    return broken


def test_finds_the_course():
    files = {p.as_posix() for p in course_files()}
    assert {"README.md", "index.ipynb"} <= files and any(f.startswith("nbs/00_") for f in files), files


@pytest.mark.parametrize("path", course_files(), ids=lambda p: p.as_posix())
def test_links_resolve(path):
    broken = broken_links(path)
    assert not broken, f"{path}: broken links:\n" + "\n".join(f"  ({t}): {why}" for t, why in broken)


def test_link_checker_catches_breakage(tmp_path, monkeypatch):
    "The checker itself: a missing file, a missing anchor, a link in a code span (ignored)."
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "nbs").mkdir()
    (tmp_path / "nbs" / "a.md").write_text("# Quick start\n")
    (tmp_path / "README.md").write_text("[ok](nbs/a.md#quick-start) [ok](nbs/a.md#Quick-start) [bad](nbs/b.md) "
                                        "[bad](nbs/a.md#nope) `[code](nowhere.md)` [web](https://example.org/x)\n")
    assert [t for t, _ in broken_links(Path("README.md"))] == ["nbs/b.md", "nbs/a.md#nope"]


def test_no_symlinked_notebooks():
    "A symlinked notebook shows in JupyterLab with links resolved from the wrong folder (nbs/index.ipynb -> nbs/nbs/...)."
    links = [p.as_posix() for p in course_files() if (ROOT / p).is_symlink()]
    assert not links, f"symlinked notebooks: {links}"


def test_root_index_is_clean():
    "index.ipynb sits outside nbs/, so plain `nbdev-clean` does not reach it: it must be committed clean all the same."
    nb = json.loads((ROOT / "index.ipynb").read_text())
    assert set(nb["metadata"]) <= {"kernelspec", "jupytext", "widgets", "nbdev"}, nb["metadata"]
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"index.ipynb has outputs in cells {dirty}: run nbdev-clean --fname index.ipynb"


def test_jupyterlab_saves_notebooks_clean(tmp_path, monkeypatch):
    "nbdev's pre-save hook (installed by `nbdev-install-hooks`, README) undoes what JupyterLab adds on open."
    from nbdev.clean import clean_jupyter
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "nbs").mkdir(); shutil.copy2(ROOT / "nbs" / "00_data.ipynb", tmp_path / "nbs" / "00_data.ipynb")
    committed = json.loads((ROOT / "nbs" / "00_data.ipynb").read_text())
    opened = json.loads(json.dumps(committed))
    opened["metadata"]["kernelspec"]["display_name"] = "Python 3 (ipykernel)"
    opened["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "file_extension": ".py"}
    model = dict(type="notebook", content=opened)
    monkeypatch.chdir(tmp_path)  # the server calls the hook with paths relative to its root
    clean_jupyter(model=model, path="nbs/00_data.ipynb")
    assert model["content"]["metadata"] == committed["metadata"]
    assert model["content"]["cells"] == committed["cells"]
