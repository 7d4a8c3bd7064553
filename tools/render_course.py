"""Render the course to static HTML: every chapter run top to bottom at its own defaults, as a student's Run All does.

    .venv/bin/python tools/render_course.py            # re-run the chapters whose sources changed
    .venv/bin/python tools/render_course.py --all      # re-run every chapter
    .venv/bin/python tools/render_course.py 08 15      # re-run these chapters
    .venv/bin/python tools/render_course.py 16 --record  # ... with record_results=True: the run rewrites its committed results

Each chapter runs with papermill at its defaults in a scratch folder, its long logs are trimmed and
its widgets replaced by a note (a static page cannot run them), and nbconvert's lab template turns it
into `docs/NN_name.html`. As in nbdev's docs, a `#| hide` cell is left out, an `#| echo: false` cell
shows only its output, and the `#|` directive lines are cut from the code shown (an `#| export` cell
keeps its code: the course reads it). The markdown's maths ($...$, $$...$$) becomes MathML at build time
(latex2mathml), which browsers render natively, offline, without MathJax; the formulas it cannot convert
stay TeX and are counted in the chapter's printed line. The page styles go into one shared
`docs/course.css` instead of 400 KB inlined per page (with the course's rule that long lines wrap), and
the figures into `docs/img/`, named by their content hash. `docs/MANIFEST.json` records, per chapter,
the hash of the sources that made the page (the notebook's cells, every package module it reaches, the
shipped weights and committed results it reads, and this tool), the Run-All time and the number of stderr outputs;
`tests/test_rendered.py` fails when a page is older than its sources. Quarto (nbdev-docs) is not
installable offline, hence nbconvert. The pages need no kernel, no server and no network: they load no
script from a CDN.
"""
import argparse, ast, hashlib, html, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, PKG, DOCS = ROOT / "nbs", ROOT / "srgan_course", ROOT / "docs"
MANIFEST = DOCS / "MANIFEST.json"
CELL_TIMEOUT = 1200  # seconds one cell may run (the longest chapter's whole Run All takes under 10 minutes here)
STREAM_HEAD, STREAM_TAIL = 15, 10  # lines kept at each end of a long log
WIDGET = "application/vnd.jupyter.widget-view+json"


def chapters():
    "The course notebooks in order: NN_name, and NNx_name for a chapter split off NN_name (00b_pipeline after 00_data)."
    return sorted([*NBS.glob("[0-9][0-9]_*.ipynb"), *NBS.glob("[0-9][0-9][a-z]_*.ipynb")])


def _cells(nb_path):
    "(cell_type, source) of every cell: what the author wrote, not outputs or metadata."
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


_MAGIC = re.compile(r"^\s*[%!].*$", re.M)  # IPython magics and shell lines: not Python


def _modules_named(code, package_module=False):
    "Package module names that `code` imports (absolute, or relative inside the package) or names as `srgan_course.x`."
    names = set(re.findall(r"srgan_course\.(\w+)", code))  # also `python -m srgan_course.unpaired` in a string
    try: tree = ast.parse(_MAGIC.sub("", code))
    except SyntaxError: tree = None  # a cell that is not Python (a %%bash cell): the regex above is all there is
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("srgan_course.")}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if (node.level == 0 and mod == "srgan_course") or (package_module and node.level == 1 and not mod):
                names |= {a.name for a in node.names}  # from srgan_course import data / from . import data
            elif node.level == 0 and mod.startswith("srgan_course."): names.add(mod.split(".")[1])
            elif package_module and node.level == 1: names.add(mod.split(".")[0])  # from .data import x
    return {n for n in names if (PKG / f"{n}.py").exists()}


def _tracked(folder):
    "The files git tracks under `folder`: what a fresh clone has (no scratch files, no caches)."
    out = subprocess.run(["git", "ls-files", "-z", "--", folder.relative_to(ROOT).as_posix()], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return {ROOT / f for f in out.split("\0") if f}


def dependencies(nb_path):
    "Every file whose content shapes the chapter's rendered outputs (sorted, repo-relative)."
    cells = _cells(nb_path)
    code = "\n".join(s for t, s in cells if t == "code")
    todo = set().union(*(_modules_named(s) for t, s in cells if t == "code")) | {"__init__"}
    m = re.search(r"#\|\s*default_exp\s+(\w+)", code)
    if m: todo.add(m.group(1))
    if "srgan-course" in code: todo.add("cli")  # the CLI run as a command
    seen = set()
    while todo:
        mod = todo.pop()
        if mod in seen: continue
        seen.add(mod)
        todo |= _modules_named((PKG / f"{mod}.py").read_text(encoding="utf-8"), package_module=True) - seen
    files = {PKG / f"{m}.py" for m in seen}
    if "evaluate" in seen:  # evaluate.py loads the shipped weights; the realism ones only for a chapter that asks for realism
        files |= {f for f in _tracked(PKG / "weights") if "_gan" not in f.name or "realism" in code}
    text = "\n".join(s for _, s in cells)
    for folder in (NBS / "results", NBS / "images"):   # tracked, or written by a --record run and not yet committed
        files |= {f for f in _tracked(folder) | set(folder.rglob("*")) if f.is_file() and f.name in text}
    files.add(Path(__file__).resolve())  # this tool: what a page shows and hides is decided here
    return sorted(f.relative_to(ROOT).as_posix() for f in files)


def source_hash(nb_path):
    "sha256 over the chapter's cells and every dependency's bytes."
    h = hashlib.sha256(json.dumps(_cells(nb_path)).encode())
    for rel in dependencies(nb_path):
        h.update(rel.encode()); h.update(hashlib.sha256((ROOT / rel).read_bytes()).digest())
    return h.hexdigest()


def _as_shown(text):
    "A log as a terminal or JupyterLab shows it: of each line rewritten with carriage returns (a progress bar), the last version."
    return "\n".join(line.rstrip("\r").split("\r")[-1] for line in text.split("\n"))


def _merged_streams(outputs):
    "Consecutive stream outputs of one name joined into one, as the notebook displays them."
    merged = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1]["text"] += out["text"]
        else: merged.append(out)
    return merged


def _trim(nb):
    "Long logs cut to their ends, widgets replaced by a note; returns the number of stderr outputs."
    stderr = 0
    for cell in nb.cells:
        if "outputs" in cell: cell.outputs = _merged_streams(cell.outputs)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                stderr += out.get("name") == "stderr"
                out["text"] = _as_shown(out["text"])
                lines = out["text"].splitlines(keepends=True)
                if len(lines) > STREAM_HEAD + STREAM_TAIL + 1:
                    cut = len(lines) - STREAM_HEAD - STREAM_TAIL
                    out["text"] = "".join(lines[:STREAM_HEAD] + [f"... {cut} lines trimmed ...\n"] + lines[-STREAM_TAIL:])
            data = out.get("data", {})
            if "image/png" in data: data["image/png"] = _smaller_png(data["image/png"])
            if WIDGET in data:
                out["data"] = {"text/plain": "[interactive widget: run this notebook in JupyterLab to use it]"}
        cell.metadata.pop("papermill", None); cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None); nb.metadata.pop("widgets", None)
    return stderr


def _smaller_png(b64):
    "The same picture re-encoded losslessly with zlib's best effort (Pillow's optimize), if that is smaller."
    import base64, io
    from PIL import Image
    raw = base64.b64decode(b64)
    buf = io.BytesIO(); Image.open(io.BytesIO(raw)).save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode() + "\n" if buf.tell() < len(raw) else b64


_DIRECTIVE = re.compile(r"^[ \t]*#\|(.*)(?:\n|$)", re.M)  # an nbdev / Quarto cell option: `#| export`, `#| echo: false`


def directives(source):
    "A code cell's `#|` directives as {name: value}: `#| hide` gives {'hide': ''}, `#| echo: false` {'echo': 'false'}."
    return dict(re.match(r"\s*([\w-]*)\s*:?\s*(.*?)\s*$", line).groups() for line in _DIRECTIVE.findall(source))


def as_published(nb):
    "In place, as nbdev's docs: `#| hide` and directive-only cells gone, `echo: false` inputs hidden, `#|` lines cut."
    shown = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            opts = directives(cell.source)
            if "hide" in opts or opts.get("include", "").lower() == "false": continue
            cell.source = _DIRECTIVE.sub("", cell.source)
            if not cell.source.strip() and not cell.get("outputs"): continue  # only directives (`#| default_exp x`)
            if opts.get("echo", "").lower() == "false": cell.metadata["transient"] = {"remove_source": True}
        shown.append(cell)
    nb.cells = shown
    return nb


_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?(?:^ {0,3}\1[`~]*[ \t]*$|\Z)"  # a fenced code block
                   r"|(`+)(?!`).+?(?<!`)\2(?!`)", re.M | re.S)             # an inline code span
_MATH = re.compile(r"(?<!\\)\$\$(?P<block>.+?)(?<!\\)\$\$"                                # $$ display $$
                   r"|(?<![\\$])\$(?![\s$])(?P<inline>(?:\\.|[^$\\])+?)(?<!\s)\$(?!\d)"   # $inline$ (pandoc's rule)
                   r"|(?P<env>\\begin\{(?P<name>[a-z]+\*?)\}.*?\\end\{(?P=name)\})", re.S)  # \begin{align}…


def _markdown_safe(xml):
    "MathML whose text passes through a markdown parser untouched: its markdown-active characters as entities."
    active = lambda text: re.sub(r"[\\`*_\[\]~|$]", lambda c: f"&#{ord(c.group())};", text)
    return re.sub(r">([^<]+)<", lambda m: f">{active(m.group(1))}<", xml)


_LIMITS = re.compile(r"\\(min|max|lim|sup|inf)(?=\s*_)")  # operators whose limits TeX sets under them in display maths
_FUNCTION = re.compile(r"\\(?:log|ln|exp)(?![A-Za-z])(?:_\{[^{}]*\}|_\w)?")  # \log_{10}: latex2mathml spaces it not
_BRACKETS = ("(", "[", "\\{", "\\big", "\\Big", "\\left", "\\,", "\\;", "\\!", "\\quad", "\\qquad")
_CLOSING = r"&#x00029;|&#x0005D;|&#x0007D;|&#x0007C;|&#x02016;|[)\]}|]"  # ) ] } | ‖ as latex2mathml writes them
_UNARY = re.compile(rf"(<mo[^>]*>(?!{_CLOSING})[^<]*</mo>)<mo>(&#x02212;|&#x0002B;)</mo>")  # - or + after an operator
_BARS = re.compile(r"<mo((?: [^>]*)?)>(&#x0007C;|&#x02016;)</mo>")  # | and ‖, which TeX sets with no space around them


def _tex_for_mathml(tex, display):
    "TeX with the spacing TeX's own rules give and latex2mathml does not: \\min_G's limit under it, \\log x's thin spaces."
    if display: tex = _LIMITS.sub(r"\\\1\\limits", tex)
    def spaced(m):
        before, after = tex[:m.start()].rstrip()[-1:], tex[m.end():].lstrip()
        return ("\\," if before and (before.isalnum() or before in ")}") else "") + m.group() + (
            "" if not after or after.startswith(_BRACKETS) else "\\,")
    return _FUNCTION.sub(spaced, tex)


def mathml(tex, display=False):
    "TeX as one line of MathML (latex2mathml), or None when it cannot be converted (an unknown macro included)."
    import latex2mathml.converter
    tex = _tex_for_mathml(tex.strip(), display)
    try: xml = latex2mathml.converter.convert(tex, display="block" if display else "inline")
    except Exception: return None
    if "\\" in xml: return None  # latex2mathml passes an unknown macro through as text
    xml = _UNARY.sub(r'\1<mo form="prefix">\2</mo>', xml)  # -x after `(`, `=` or `,`: a sign, set close to x as TeX does
    xml = _BARS.sub(r'<mo\1 lspace="0" rspace="0">\2</mo>', xml)  # |x|, not | x |
    # HTML needs no xmlns; with one, nbconvert's heading anchors (ElementTree) rename the tags `ns0:math`, unrendered
    return _markdown_safe(xml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1))


def markdown_maths(text):
    "Markdown with its maths as MathML, code blocks and spans untouched; returns (text, converted, [TeX left as TeX])."
    converted, failed = [], []
    def convert(m):
        xml = mathml(m["block"] or m["inline"] or m["env"], display=m["inline"] is None)
        (failed if xml is None else converted).append(m.group())
        return m.group() if xml is None else xml
    parts, start = [], 0
    for code in _CODE.finditer(text):
        parts += [_MATH.sub(convert, text[start:code.start()]), code.group()]; start = code.end()
    parts.append(_MATH.sub(convert, text[start:]))
    return "".join(parts), len(converted), failed


def render_maths(nb):
    "In place, the maths of every markdown cell and markdown output as MathML; returns (converted, [TeX left as TeX])."
    converted, failed = 0, []
    def convert(text):
        nonlocal converted
        text, n, bad = markdown_maths(text); converted += n; failed.extend(bad)
        return text
    for cell in nb.cells:
        if cell.cell_type == "markdown": cell.source = convert(cell.source)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data: data["text/markdown"] = convert(data["text/markdown"])
    return converted, failed


_STYLE = re.compile(r"<style[^>]*>.*?</style>\s*", re.S)
_MERMAID = re.compile(r"<script type=\"module\">.*?</script>\s*<!-- End of mermaid configuration -->", re.S)
_HREF = re.compile(r"""(href|src)=(["'])([^"'#:]+?)(\.ipynb)?(#[^"']*)?\2""")


def _relink(m):
    "A chapter's relative links made to work from docs/: chapters to their pages, images and results to nbs/."
    attr, q, target, ipynb, anchor = m.groups()
    anchor = anchor or ""
    if ipynb and re.fullmatch(r"\d\d[a-z]?_\w+", target): return f"{attr}={q}{target}.html{anchor}{q}"
    if ipynb: target += ".ipynb"
    if target.startswith(("images/", "results/")): target = "../nbs/" + target  # ../README.md etc. work unchanged: docs/ and nbs/ are siblings
    return f"{attr}={q}{target}{anchor}{q}"


_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js_requirejs %}{% endblock %}
{% block html_head_js_mathjax %}{% endblock %}
"""  # the lab template without its CDN scripts: require.js (no output uses it) and MathJax (the maths is MathML)
COURSE_CSS = """
/* The course's own rules (tools/render_course.py): long lines wrap instead of running off the page. */
.jp-InputArea-editor .highlight pre, .jp-OutputArea-output pre, .jp-RenderedHTMLCommon pre {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
math[display="block"] { overflow-x: auto; }
"""


def to_html(nb, title):
    "The lab template's page with its styles moved to course.css; returns (page, css)."
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="lab", template_file="course.html.j2",
                            extra_loaders=[DictLoader({"course.html.j2": _TEMPLATE})])
    body, _ = exporter.from_notebook_node(nb)
    head, rest = body.split("</head>", 1)
    css = "\n".join(_STYLE.findall(head))  # the template's styles; styles inside outputs stay where they are
    head = _STYLE.sub("", head)
    if "jp-Mermaid" not in rest:  # no diagram on the page: the template's 400-line mermaid loader has nothing to do
        head = _MERMAID.sub("", head)
    page = head + '<link rel="stylesheet" href="course.css">\n</head>' + rest
    page = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", page, count=1, flags=re.S)
    return _HREF.sub(_relink, page), re.sub(r"</?style[^>]*>", "", css) + COURSE_CSS


_INLINE_IMAGE = re.compile(r'src="data:image/(png|jpeg);base64,([^"]+)"')


def externalise_images():
    """Every page's inline images moved to `docs/img/<content hash>.<ext>`, and images no page shows removed.

    Content-addressed, so a figure a re-render leaves unchanged is the same file and adds nothing to git;
    the pages themselves stay small text that diffs."""
    import base64
    img = DOCS / "img"; img.mkdir(exist_ok=True)
    def put(m):
        raw = base64.b64decode(m.group(2))
        name = f"{hashlib.sha256(raw).hexdigest()[:16]}.{'jpg' if m.group(1) == 'jpeg' else 'png'}"
        if not (img / name).exists(): (img / name).write_bytes(raw)
        return f'src="img/{name}"'
    shown = set()
    for page in sorted(DOCS.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        new = _INLINE_IMAGE.sub(put, text)
        if new != text: page.write_text(new, encoding="utf-8")
        shown |= set(re.findall(r'src="img/([0-9a-f]{16}\.(?:png|jpg))"', new))
    for f in img.iterdir():
        if f.name not in shown: f.unlink()


def title_of(nb_path):
    "The chapter's first heading and the line after it."
    for kind, src in _cells(nb_path):
        if kind == "markdown" and src.lstrip().startswith("# "):
            lines = [l for l in src.strip().splitlines() if l.strip()]
            return lines[0].lstrip("# ").strip(), (lines[1].strip() if len(lines) > 1 else "")
    return nb_path.stem, ""


def records(nb_path):
    "True when the chapter's parameters cell has `record_results` (its run can rewrite its committed results file)."
    return any(t == "code" and re.search(r"^record_results\s*=", s, re.M) for t, s in _cells(nb_path))


def render(nb_path, manifest, record=False):  # record: run with record_results=True (the chapter rewrites its results)
    "Run one chapter at its defaults and write its page; updates `manifest` in place."
    import nbformat, papermill as pm
    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a student's shell: the chapter itself must keep TF quiet
    sources = source_hash(nb_path)  # before the run: a file edited while it runs leaves the page stale, not falsely current
    before = {rel: hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() for rel in dependencies(nb_path)}
    cells = _cells(nb_path)
    params = {"record_results": True} if record and records(nb_path) else {}
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures into the outputs (CI sets Agg)
    with tempfile.TemporaryDirectory(prefix="render_") as tmp:
        out = Path(tmp) / nb_path.name
        for attempt in (1, 2):  # a run stuck in one cell (seen in chapter 20's widget cell, kernel idle) is run again once
            start = time.perf_counter()
            try:
                pm.execute_notebook(str(nb_path), str(out), cwd=tmp, kernel_name="python3", parameters=params,
                                    progress_bar=False, log_output=False, execution_timeout=CELL_TIMEOUT)
                break
            except TimeoutError:  # nbclient's CellTimeoutError
                if attempt == 2: raise
                print(f"{nb_path.stem}: a cell ran over {CELL_TIMEOUT} s; running the chapter again", flush=True)
        seconds = time.perf_counter() - start
        nb = nbformat.read(out, as_version=4)
    after = {rel: hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() for rel in dependencies(nb_path)}
    changed = {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}
    if params and _cells(nb_path) == cells and all(rel.startswith("nbs/results/") for rel in changed):
        sources = source_hash(nb_path)  # the run rewrote only its own results file, which the page shows: hash it as written
    stderr = _trim(nb)  # before as_published: a hidden cell's stderr counts too
    as_published(nb)
    formulas, as_tex = render_maths(nb)
    title, summary = title_of(nb_path)
    page, css = to_html(nb, f"{nb_path.stem} · {title}")
    DOCS.mkdir(exist_ok=True)
    (DOCS / "course.css").write_text(css, encoding="utf-8")
    (DOCS / f"{nb_path.stem}.html").write_text(page, encoding="utf-8")
    manifest[nb_path.stem] = {"source_sha256": sources, "run_all_s": round(seconds, 1), "stderr_outputs": stderr,
                              "title": title, "summary": summary, "rendered": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(f"{nb_path.stem}: {seconds:.0f} s at defaults, {stderr} stderr outputs, {formulas} formulas as MathML, "
          f"{len(as_tex)} left as TeX", json.dumps(manifest[nb_path.stem]), flush=True)
    for tex in as_tex: print(f"  left as TeX (latex2mathml cannot convert it): {tex}", flush=True)


def write_index(manifest):
    "docs/index.html: every chapter with its summary and its measured Run-All time."
    rows = "\n".join(
        f'<tr><td><a href="{s}.html">{html.escape(s)}</a></td><td><b>{html.escape(m["title"])}</b><br>{html.escape(m["summary"])}</td>'
        f'<td style="text-align:right">{m["run_all_s"]:.0f} s</td></tr>'
        for s, m in sorted(manifest.items()))
    (DOCS / "index.html").write_text(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>srgan_course, rendered</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.4em;vertical-align:top;border-bottom:1px solid #ddd}}</style></head>
<body><h1>srgan_course: the course, rendered</h1>
<p>Every chapter run top to bottom at its own defaults (a student's Run All) on a 2-core CPU, outputs kept.
Widgets need a live kernel: open the notebook in JupyterLab to use them. Regenerate with
<code>.venv/bin/python tools/render_course.py</code>. Back to the <a href="../README.md">README</a>.</p>
<table><tr><th>chapter</th><th></th><th>Run All</th></tr>
{rows}
</table></body></html>
""", encoding="utf-8")


def stale(manifest):
    "Chapters whose page is missing or older than their sources."
    return [p for p in chapters() if manifest.get(p.stem, {}).get("source_sha256") != source_hash(p)
            or not (DOCS / f"{p.stem}.html").exists()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", help="chapter numbers or names to re-run (default: the stale ones)")
    ap.add_argument("--all", action="store_true", help="re-run every chapter")
    ap.add_argument("--check", action="store_true", help="only list the stale chapters; exit 1 if any")
    ap.add_argument("--record", action="store_true", help="run chapters that have `record_results` with it on (rewrites nbs/results)")
    a = ap.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    if a.check:
        todo = stale(manifest)
        print("\n".join(p.stem for p in todo) or "all pages current"); return 1 if todo else 0
    if a.all: todo = chapters()
    elif a.chapters:
        todo = [p for p in chapters() if any(p.stem == c or p.stem.startswith(f"{c}_") for c in a.chapters)]
        if len(todo) == 0: ap.error(f"no chapter matches {a.chapters}")
    else: todo = stale(manifest)
    failed = []
    for p in todo:
        try: render(p, manifest, record=a.record)
        except Exception as e:  # one failing chapter is reported; the others still render
            failed.append(p.stem); print(f"{p.stem}: FAILED at its defaults: {str(e).strip().splitlines()[-1] if str(e).strip() else e!r}", flush=True)
            continue
        on_disk = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}  # another render may have written since
        on_disk[p.stem] = manifest[p.stem]; manifest = {k: on_disk[k] for k in sorted(on_disk)}
        tmp = MANIFEST.with_suffix(f".{os.getpid()}.tmp"); tmp.write_text(json.dumps(manifest, indent=1) + "\n"); tmp.replace(MANIFEST)
        write_index(manifest)
    externalise_images()
    if failed: print("failed:", " ".join(failed)); return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
