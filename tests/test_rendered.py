"""The rendered course in docs/ (tools/render_course.py) is current, clean and linked.

Each page is a chapter's Run All at its defaults. A page whose sources (the notebook's cells, the package
modules it reaches, the shipped weights and committed results it reads) changed after it was rendered
fails here: rerun `.venv/bin/python tools/render_course.py`.
"""
import importlib.util, json, re
from html.parser import HTMLParser
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
        f"run .venv/bin/python tools/render_course.py {nb_path.stem.split('_')[0]}")


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_run_all_at_defaults_is_clean(nb_path):
    "The render is a Run All at the chapter's defaults: it finished (the page exists) and wrote nothing to stderr."
    page = (DOCS / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    n = page.count('data-mime-type="application/vnd.jupyter.stderr"')
    assert n == 0, f"{nb_path.stem}: {n} stderr outputs in its Run All at defaults (see docs/{nb_path.stem}.html)"
    n = MANIFEST[nb_path.stem]["stderr_outputs"]  # counted before `#| hide` cells leave the page
    assert n == 0, f"{nb_path.stem}: {n} stderr outputs in its Run All at defaults, in cells the page hides"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_quick_chapters_run_at_defaults_in_ci(nb_path):
    """CI runs a chapter at its own defaults whenever that takes at most QUICK_S seconds, so a check that passes only at
    CI sizes is caught; an exception names its reason (`_not_at_defaults` in its tests/notebook_params file)."""
    assert nb_path.stem in MANIFEST, \
        f"{nb_path.stem} has never been rendered: tools/render_course.py {nb_path.stem.split('_')[0]}"
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


# What the page shows: nbdev's directives honoured, maths as MathML, no CDN, long lines wrapped.

_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
_DIRECTIVE_LINE = re.compile(r"^[ \t]*#\|.*(?:\n|$)", re.M)
_RAW_TEX = re.compile(r"\$\$.+?\$\$|\$[^\s$][^$]*\$|\\[A-Za-z]+\{", re.S)  # $$…$$, $…$, \frac{ / \begin{


class _ClassText(HTMLParser):
    "The text of each element with class `cls`, leaving out what `skip` tags inside it hold."
    def __init__(self, cls, skip=()):
        super().__init__(); self.cls, self.skip, self.open, self.texts = cls, set(skip), [], []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID: return
        root = self.cls in (dict(attrs).get("class") or "").split()
        if root and not any(r for _, r, _ in self.open): self.texts.append("")
        self.open.append((tag, root, tag in self.skip))

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag: pass  # an element left open (<p>) closes with its parent

    def handle_data(self, data):
        if any(r for _, r, _ in self.open) and not any(s for _, _, s in self.open): self.texts[-1] += data


def _texts(page, cls, skip=()):
    parser = _ClassText(cls, skip); parser.feed(page); return parser.texts


def _code_shown(text):
    "A code cell's text as the page shows it: its `#|` directive lines cut."
    return _DIRECTIVE_LINE.sub("", text).strip()


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_page_shows_no_cell_directive(nb_path):
    "`#| export`, `#| default_exp x` … are for nbdev: the code shown on the page has none of them."
    page = (DOCS / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    lines = [l.strip() for text in _texts(page, "jp-InputArea-editor") for l in _DIRECTIVE_LINE.findall(text)]
    assert not lines, f"docs/{nb_path.stem}.html shows {len(lines)} directive lines, e.g. {lines[:3]}: re-render it"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_page_leaves_out_hidden_cells(nb_path):
    "A `#| hide` cell (set-up) is not on the page, by cell id nor by code; every other cell with content is, by its id."
    page = (DOCS / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    code_shown = {_code_shown(text) for text in _texts(page, "jp-InputArea-editor")}
    wrong = []
    for cell in json.loads(nb_path.read_text(encoding="utf-8"))["cells"]:
        src, on_page = "".join(cell["source"]), f'id="cell-id={cell["id"]}"' in page
        opts = render_course.directives(src) if cell["cell_type"] == "code" else {}
        if "hide" in opts or opts.get("include") == "false":
            if on_page or (_code_shown(src) and _code_shown(src) in code_shown): wrong.append(f"shown: {src[:50]!r}")
        elif not on_page and (cell["cell_type"] != "code" or _code_shown(src)): wrong.append(f"missing: {src[:50]!r}")
    assert not wrong, f"docs/{nb_path.stem}.html is not the notebook as nbdev shows it: {wrong[:3]}: re-render it"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_page_maths_is_mathml(nb_path):
    "The markdown's maths is MathML on the page, which a browser renders offline: no TeX is left for MathJax."
    page = (DOCS / f"{nb_path.stem}.html").read_text(encoding="utf-8")
    tex = [m for text in _texts(page, "jp-RenderedMarkdown", skip=("code", "pre")) for m in _RAW_TEX.findall(text)]
    assert not tex, f"docs/{nb_path.stem}.html shows {len(tex)} formulas as TeX, e.g. {tex[:3]}"
    has_maths = any(t == "markdown" and render_course._MATH.search(src) for t, src in render_course._cells(nb_path))
    assert not has_maths or "<math" in page, f"docs/{nb_path.stem}.html has no MathML though its notebook has maths"


def test_pages_load_no_script_from_a_cdn():
    "The pages work offline: no <script> loads MathJax, require.js or anything else from the network."
    found = []
    for page in [DOCS / "index.html"] + [DOCS / f"{p.stem}.html" for p in CHAPTERS]:
        for script in re.findall(r"<script\b[^>]*>.*?</script>", page.read_text(encoding="utf-8"), re.S | re.I):
            if re.search(r"https?://|src=[\"']//|mathjax", script, re.I): found.append(f"{page.name}: {script[:80]}")
    assert not found, f"{len(found)} scripts from the network, e.g. {found[:3]}: re-render the pages"


def test_course_css_wraps_long_lines():
    "Long code and log lines wrap instead of running off the page (the lab template clips the input area)."
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", (DOCS / "course.css").read_text(encoding="utf-8"))
    wrapping = [sel for sel, body in rules
                if re.search(r"white-space:\s*pre-wrap", body) and re.search(r"overflow-wrap:\s*anywhere", body)]
    for target in (".jp-InputArea-editor", ".jp-OutputArea-output pre"):
        assert any(target in sel for sel in wrapping), f"docs/course.css does not wrap long lines in {target}"


def test_maths_becomes_mathml_outside_code():
    "$…$ inline, $$…$$ a block; code, an escaped dollar and a lone $5 untouched; an unknown macro stays TeX."
    text = ("Loss $\\ell_1 = \\lVert x - y\\rVert_1$ and\n$$\\frac{a}{b}$$\nnot `echo $HOME $PATH` nor\n"
            "```\ncost = $x$\n```\ncosts \\$ 5 or $5, not $\\nosuchmacro{x}$.")
    new, converted, as_tex = render_course.markdown_maths(text)
    assert (converted, as_tex) == (2, ["$\\nosuchmacro{x}$"])
    assert '<math display="inline">' in new and '<math display="block">' in new and "\\ell" not in new
    for kept in ("`echo $HOME $PATH`", "```\ncost = $x$\n```", "costs \\$ 5 or $5", "$\\nosuchmacro{x}$"):
        assert kept in new


def test_mathml_spaces_as_tex_does():
    "What latex2mathml leaves out: min_G's limit under it in display, thin spaces in 2 log D (none in log(x)), -x a sign."
    mathml = render_course.mathml
    assert "<munder><mo>min</mo>" in mathml("\\min_G V", display=True) and "<msub><mo>min</mo>" in mathml("\\min_G V")
    assert mathml("2\\log D").count("<mspace") == 2 and "<mspace" not in mathml("\\log(1 - D)")
    assert '<mo form="prefix">&#x02212;</mo>' in mathml("\\sigma(-x) = -1") and "prefix" not in mathml("a - b")
    assert mathml("|x|").count('lspace="0" rspace="0"') == 2


def test_mathml_survives_markdown():
    "nbconvert's markdown leaves the MathML alone: no emphasis from `*` or `_`, no `ns0:` tags in a heading."
    from nbconvert.filters import markdown2html_mistune
    html = markdown2html_mistune(render_course.markdown_maths("## Loss $\\lambda_{cyc}$\n\n$\\text{a*b and c*d}$")[0])
    assert html.count("<math") == 2 and "<em>" not in html and "ns0:" not in html, html


def test_as_published_hides_what_nbdev_hides():
    "`#| hide` and directive-only cells dropped, `#| echo: false` inputs hidden, `#|` lines cut, `#| export` code kept."
    import nbformat
    v4 = nbformat.v4
    code = ["#| default_exp models", "#| hide\nimport os", "#| export\ndef f(): pass", "#|echo: false\nshow_doc(f)",
            "#| include: false\nx = 1"]
    nb = v4.new_notebook(cells=[v4.new_code_cell(c) for c in code] + [v4.new_markdown_cell("#| not a directive")])
    render_course.as_published(nb)
    assert [c.source for c in nb.cells] == ["def f(): pass", "show_doc(f)", "#| not a directive"]
    assert render_course.directives("#| default_exp models\n#| eval: false\n#|hide\nx = 1  #| not a directive") == {
        "default_exp": "models", "eval": "false", "hide": ""}
    page, _ = render_course.to_html(nb, "t")
    inputs = _texts(page, "jp-InputArea-editor")
    assert [t.strip() for t in inputs] == ["def f(): pass"], inputs  # show_doc(f)'s input hidden by echo: false
