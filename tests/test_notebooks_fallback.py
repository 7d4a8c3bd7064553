"""The chapters that use the optional real-MR corpus, run again with every source hidden.

`SRGAN_COURSE_HIDE_REAL=all` makes installed sources look missing (`real_data.hidden`), so on a machine that has
the corpus (CI: `.ci/run` installs it) each such chapter also runs its fallback — phantoms, a stand-in volume, or
the statistics committed in `nbs/results/` — at its CI sizes: no error, no stderr, its own checks passing, and one
printed line that names what is missing and how to install it. Where no source is installed at all,
`test_notebook_runs` has already run these chapters exactly this way, so the test is skipped as a duplicate.
"""
import nbformat
import pytest

from srgan_course import real_data
from test_notebooks import NOTEBOOKS, assert_within_budget, ci_params, cpu_demand, run_notebook


def uses_corpus(nb_path):
    "True when a chapter's own (not exported) code looks for the real corpus."
    cells = nbformat.read(nb_path, as_version=4).cells
    return any(c.cell_type == "code" and not c.source.startswith("#| export")
               and any(k in c.source for k in ("real_data.installed(", "make_real_data(")) for c in cells)


CORPUS_CHAPTERS = [p for p in NOTEBOOKS if uses_corpus(p)]


def test_the_corpus_chapters_are_found():
    assert {p.stem for p in CORPUS_CHAPTERS} >= {"01_formats", "02_real_data", "03_phantoms", "15_evaluation", "16_adapt"}


@pytest.mark.parametrize("nb_path", CORPUS_CHAPTERS, ids=lambda p: p.stem)
def test_chapter_without_the_corpus(nb_path, tmp_path):
    if not any(real_data.locate(n, tmp_path) for n in real_data.SOURCES):
        pytest.skip("no real source is installed: test_notebook_runs already ran this chapter's fallback")
    params, budget = ci_params(nb_path)
    with cpu_demand() as demand:
        out, elapsed, stderr = run_notebook(nb_path, tmp_path / nb_path.name, params, cwd=tmp_path,
                                            env={real_data.HIDE_ENV: "all"})
    assert not stderr, f"{nb_path.name} without the corpus: {len(stderr)} outputs on stderr:\n" + "\n---\n".join(stderr)
    text = "\n".join("".join(o.get("text", "")) for c in out.cells for o in c.get("outputs", []))
    said = [l for l in text.splitlines() if "not installed" in l]
    assert said and any(s.install in "\n".join(said) for s in real_data.SOURCES.values()), \
        f"{nb_path.name} did not say which source is missing and how to install it"
    assert_within_budget(f"{nb_path.name} without the corpus", elapsed, budget, demand[0])


def test_real_data_chapter_with_only_mni152(tmp_path):
    "Chapter 02 with only the [real] extra (MNI152, no Debian data): the held-out subject is one that is installed."
    if not real_data.locate("mni152", tmp_path):
        pytest.skip("nilearn (the [real] extra) is not installed")
    nb_path = next(p for p in CORPUS_CHAPTERS if p.stem == "02_real_data")
    params, budget = ci_params(nb_path)
    out, elapsed, stderr = run_notebook(nb_path, tmp_path / nb_path.name, params, cwd=tmp_path,
                                        env={real_data.HIDE_ENV: "colin27,brainweb"})
    assert not stderr, "\n---\n".join(stderr)
