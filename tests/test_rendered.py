"""The rendered course in docs/ (tools/render_course.py) is current, clean and linked.

Each page is a chapter's Run All at its defaults. A page whose sources (the notebook's cells, the package
modules it reaches, the shipped weights and committed results it reads) changed after it was rendered
fails here: rerun `.venv/bin/python tools/render_course.py`.
"""
import importlib.util, json, re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
spec = importlib.util.spec_from_file_location("render_course", ROOT / "tools" / "render_course.py")
render_course = importlib.util.module_from_spec(spec); spec.loader.exec_module(render_course)
CHAPTERS = render_course.chapters()
MANIFEST = json.loads((DOCS / "MANIFEST.json").read_text()) if (DOCS / "MANIFEST.json").exists() else {}
QUICK_S = 60  # a chapter whose Run All at defaults takes at most this long runs at its defaults in CI
LINK = re.compile(r"""<(?:a|img|link|script)\b[^>]*?\b(?:href|src)=["']([^"']+)["']""", re.I)


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_page_is_current(nb_path):
    entry = MANIFEST.get(nb_path.stem)
    assert entry and (DOCS / f"{nb_path.stem}.html").exists(), f"docs/{nb_path.stem}.html is missing: run tools/render_course.py"
    assert entry["source_sha256"] == render_course.source_hash(nb_path), (
        f"docs/{nb_path.stem}.html is older than its sources {render_course.dependencies(nb_path)} or the notebook: "
        f"run .venv/bin/python tools/render_course.py {nb_path.stem[:2]}")


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_run_all_at_defaults_is_clean(nb_path):
    "The render is a Run All at the chapter's defaults: it finished (the page exists) and wrote nothing to stderr."
    page = (DOCS / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    n = page.count('data-mime-type="application/vnd.jupyter.stderr"')
    assert n == 0, f"{nb_path.stem}: {n} stderr outputs in its Run All at defaults (see docs/{nb_path.stem}.html)"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_quick_chapters_run_at_defaults_in_ci(nb_path):
    """CI runs a chapter at its own defaults whenever that takes at most QUICK_S seconds, so a check that passes only at
    CI sizes is caught; an exception names its reason (`_not_at_defaults` in its tests/notebook_params file)."""
    assert nb_path.stem in MANIFEST, f"{nb_path.stem} has never been rendered: tools/render_course.py {nb_path.stem[:2]}"
    seconds = MANIFEST[nb_path.stem]["run_all_s"]
    params = json.loads((ROOT / "tests" / "notebook_params" / f"{nb_path.stem}.json").read_text())
    ci = {k for k in params if not k.startswith("_")}
    if seconds <= QUICK_S and "_not_at_defaults" not in params:
        assert not ci, f"{nb_path.stem} runs in {seconds:.0f} s at its defaults, yet CI overrides {sorted(ci)}"


def test_pages_links_resolve():
    broken = []
    for page in [DOCS / "index.html"] + [DOCS / f"{p.stem}.html" for p in CHAPTERS]:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:|#", target): continue  # web links, data: URLs and anchors within the page
            if not (page.parent / unquote(target.split("#")[0])).exists(): broken.append(f"{page.name} -> {target}")
    assert not broken, f"broken links in docs/: {broken}"


def test_index_lists_every_chapter_and_readme_links_it():
    index = (DOCS / "index.html").read_text(encoding="utf-8")
    missing = [p.stem for p in CHAPTERS if f'href="{p.stem}.html"' not in index]
    assert not missing, f"docs/index.html does not link {missing}"
    assert "docs/index.html" in (ROOT / "README.md").read_text(encoding="utf-8"), "README does not link the rendered course"


def test_dependencies_follow_every_import_of_the_package():
    "The hash covers each module a chapter reaches, relative imports on consecutive lines included (model.py's style)."
    deps = set(render_course.dependencies(render_course.NBS / "11_model.ipynb"))
    for mod in ("metrics", "adversarial", "cycle", "losses", "layers", "generators", "discriminators", "model"):
        assert f"srgan_course/{mod}.py" in deps, f"11_model's page would not go stale when srgan_course/{mod}.py changes"
    assert render_course._modules_named("from . import adversarial, cycle, losses\nfrom .layers import X",
                                        package_module=True) == {"adversarial", "cycle", "losses", "layers"}


def test_progress_bars_are_shown_as_their_last_state():
    "A Keras progress bar rewrites its line with carriage returns: the page keeps the last version, as JupyterLab shows it."
    shown = render_course._as_shown("Epoch 1/1\n 1/400 ━ loss 0.3\r 2/400 ━ loss 0.2\r400/400 ━ loss 0.1\ndone\n")
    assert shown == "Epoch 1/1\n400/400 ━ loss 0.1\ndone\n"
