"""Run every course notebook top to bottom with papermill: at its own defaults where that is quick, else at CI sizes.

A notebook's `parameters` cell holds its size knobs; `tests/notebook_params/<notebook>.json` gives the CI
values per notebook (none for the chapters whose Run All at defaults takes under a minute: they run as a
student's Run All does) and its time budget. A cell error, an output on stderr (with TensorFlow's log level
left as a student's shell leaves it) or a run over budget fails the test.
`SRGAN_COURSE_FULL=1 .venv/bin/python -m pytest tests/test_notebooks.py` runs every chapter at its own defaults
instead (what a student's Run All does; no time budget).
"""
import json, os, time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
NOTEBOOKS = sorted(NBS.glob("[0-9][0-9]_*.ipynb"))
PARAMS_DIR = ROOT / "tests" / "notebook_params"  # one JSON per notebook: CI parameter values + "_budget_s"
CELL_TIMEOUT = 600  # seconds for one cell
FULL = os.environ.get("SRGAN_COURSE_FULL") == "1"  # full mode: every chapter at its own defaults, as Run All in JupyterLab does


def ci_params(nb_path):
    "The CI parameters of `nb_path` and its time budget in seconds."
    f = PARAMS_DIR / f"{nb_path.stem}.json"
    d = json.loads(f.read_text()) if f.exists() else {}
    if FULL: return {}, float("inf")  # the chapter's defaults, no time budget (a full run takes long)
    return {k: v for k, v in d.items() if not k.startswith("_")}, d.get("_budget_s", 240)


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2, f"no course notebooks found in {NBS}"


def test_params_name_real_notebooks():
    stems = {p.stem for p in NOTEBOOKS}
    unknown = [f.name for f in PARAMS_DIR.glob("*.json") if f.stem not in stems]
    assert not unknown, f"tests/notebook_params has files for notebooks that do not exist: {unknown}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_parameters_cell(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb_path.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
    params, _ = ci_params(nb_path)
    for name in params:
        assert f"{name} =" in tagged[0].source, f"{nb_path.name}: CI sets '{name}' but the parameters cell does not define it"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(nb_path, tmp_path):
    import papermill as pm
    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a student's shell: each chapter keeps TensorFlow quiet itself
    params, budget = ci_params(nb_path)
    start = time.perf_counter()
    pm.execute_notebook(
        str(nb_path), str(tmp_path / nb_path.name),
        parameters=params,
        cwd=str(tmp_path),  # notebooks write their files into a scratch folder
        kernel_name="python3", progress_bar=False, log_output=False,
        execution_timeout=CELL_TIMEOUT,
    )
    elapsed = time.perf_counter() - start
    out = nbformat.read(tmp_path / nb_path.name, as_version=4)
    stderr = ["".join(o.get("text", "")).strip()[:300] for c in out.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not stderr, f"{nb_path.name}: {len(stderr)} outputs on stderr (red in the notebook):\n" + "\n---\n".join(stderr)
    assert elapsed < budget, f"{nb_path.name} took {elapsed:.0f}s under CI parameters (budget {budget}s)"
