"""Run every course notebook top to bottom with papermill: at its own defaults where that is quick, else at CI sizes.

A notebook's `parameters` cell holds its size knobs; `tests/notebook_params/<notebook>.json` gives the CI
values per notebook (none for the chapters whose Run All at defaults takes under a minute: they run as a
student's Run All does) and its time budget. A cell error, an output on stderr (with TensorFlow's log level
left as a student's shell leaves it) or a run over budget fails the test (the budget stretched on a slow machine by the
ratio `tests/speed_reference.py` measures there, and on a busy one by how many times over its CPUs were asked for).
`SRGAN_COURSE_FULL=1 .venv/bin/python -m pytest tests/test_notebooks.py` runs every chapter at its own defaults
instead (what a student's Run All does; no time budget).

Stderr is read from two places, so that a chapter gets the same verdict on every run. The kernel runs as in
JupyterLab: ipykernel points file descriptor 2 (where C++ writes) at a pipe, and a thread copies what arrives both
into the notebook, as a red output, and to the kernel process's own stderr. The copy into the notebook is sent
from that thread and can miss its cell (a line written to fd 2 in every run showed up in the notebook in 4 runs of
5), so fd-2 text is read from the kernel's own stderr, which `run_notebook` sends to a file. Python-level writes
(`sys.stderr`, warnings, tracebacks) go only to the notebook, flushed before each cell ends, and are read from the
cells' outputs. What the kernel writes before the first cell starts is its own start-up (ipykernel's `Kernel is
running over TCP without encryption`, which a notebook server shows in its terminal, not in a notebook): not counted.
Nor is what the kernel logs after the last cell as it is shut down: jupyter_client interrupts a kernel before asking
it to shut down, and when that SIGINT lands inside one of ipykernel's message handlers the kernel logs
`KeyboardInterrupt caught in kernel.` (a race that failed CI once; no notebook shows it). Only that exact line is
dropped, and only after the last cell ended: fd-2 text a cell writes as it ends still counts.
"""
import contextlib, json, os, threading, time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
# NN_name, and NNx_name for a chapter split off NN_name (fastai's letter suffix: 00b_pipeline follows 00_data)
NOTEBOOKS = sorted([*NBS.glob("[0-9][0-9]_*.ipynb"), *NBS.glob("[0-9][0-9][a-z]_*.ipynb")])
PARAMS_DIR = ROOT / "tests" / "notebook_params"  # one JSON per notebook: CI parameter values + "_budget_s"
CELL_TIMEOUT = 600  # seconds for one cell
FULL = os.environ.get("SRGAN_COURSE_FULL") == "1"  # full mode: every chapter at its own defaults, as Run All in JupyterLab does


def ci_params(nb_path):
    "The CI parameters of `nb_path` and its time budget in seconds."
    f = PARAMS_DIR / f"{nb_path.stem}.json"
    d = json.loads(f.read_text()) if f.exists() else {}
    if FULL: return {}, float("inf")  # the chapter's defaults, no time budget (a full run takes long)
    return {k: v for k, v in d.items() if not k.startswith("_")}, d.get("_budget_s", 240)


def reference_seconds():
    "Wall seconds of tests/speed_reference.py in a fresh process: interpreter start, imports, 61 training steps."
    import subprocess, sys
    start = time.perf_counter()
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "speed_reference.py")], capture_output=True, text=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert r.returncode == 0, f"tests/speed_reference.py failed:\n{r.stderr[-2000:]}"
    return time.perf_counter() - start


def budget_factor(seconds, reference):
    "How much longer than on the reference machine a budget may take here: never less than its own budget."
    return max(1.0, seconds / reference)


def machine_factor():
    "This machine's speed factor now, from one timing of the reference workload."
    from speed_reference import REFERENCE_S
    return budget_factor(reference_seconds(), REFERENCE_S)


@contextlib.contextmanager
def cpu_demand(interval=1.0):
    """While the block runs, sample how many tasks want a CPU (/proc/loadavg's running count, less the sampler); the
    list yielded holds their mean after the block (0 where /proc/loadavg does not exist)."""
    samples, stop, mean = [], threading.Event(), []
    def sample():
        while not stop.wait(interval):
            try: samples.append(int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1)
            except OSError: return
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try: yield mean
    finally:
        stop.set(); sampler.join()
        mean.append(sum(samples) / len(samples) if samples else 0.0)


def contention(demand, cores):
    "How many times over the machine's cores were asked for: a chapter sharing them runs that much longer (at least 1)."
    return max(1.0, demand / cores)


def test_budget_factor_stretches_and_never_shrinks():
    assert budget_factor(17.5, 8.75) == pytest.approx(2.0)
    assert budget_factor(4.0, 8.75) == 1.0   # a faster machine keeps the budget: the check stays as strict
    assert contention(4.0, 2) == 2.0 and contention(1.0, 2) == 1.0


def test_cpu_demand_sees_busy_processes():
    "Three CPU-bound processes on this machine's cores: the sampler counts them (other tests may add more, never fewer)."
    import subprocess, sys
    busy = [subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 4\nwhile time.time() < end: pass"])
            for _ in range(3)]
    with cpu_demand(interval=0.2) as demand:
        time.sleep(3)
    for p in busy: p.wait()
    assert demand[0] >= 2.5, demand


def test_readme_quotes_the_reference_time():
    from speed_reference import REFERENCE_S
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"`tests/speed_reference.py` takes {REFERENCE_S:g} s" in text


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


# The kernel's environment as a student's shell leaves it: TensorFlow's log level unset (each chapter keeps TF quiet
# itself), and pytest's marker unset (with it ipykernel leaves fd 2 alone, so C++ lines would never reach the notebook).
KERNEL_ENV = {"TF_CPP_MIN_LOG_LEVEL": None, "PYTEST_CURRENT_TEST": None}


def kernel_manager_class(stderr_path, env):
    "A kernel manager whose kernel runs with `env` applied to its environment (None unsets) and its stderr in a file."
    from jupyter_client.manager import AsyncKernelManager

    class KernelStderrToFile(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["env"] = dict(kw.get("env") or os.environ)
            for k, v in env.items():
                if v is None: kw["env"].pop(k, None)
                else: kw["env"][k] = v
            with open(stderr_path, "ab") as f:  # the kernel process gets its own copy of the descriptor
                kw["stderr"] = f
                await super()._async_launch_kernel(kernel_cmd, **kw)
    return KernelStderrToFile


SHUTDOWN_LINE = "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel."  # jupyter_client's interrupt at shutdown


def run_notebook(nb_path, out_path, params, cwd, env=None):
    """Run `nb_path` with papermill as a student's kernel runs it (`KERNEL_ENV`, then `env`): the executed notebook,
    seconds taken, and every stderr text: each stderr output of a cell, and what the kernel wrote to its fd 2 while
    the cells ran."""
    import papermill as pm
    stderr_path = Path(out_path).with_suffix(".kernel-stderr.txt")
    stderr_path.write_bytes(b"")
    first_cell_at = []  # bytes of kernel stderr written before the first cell started: the kernel's own start-up
    cell_done_at = [0]  # bytes written when the latest cell ended; after the last one comes the kernel's shutdown
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(nb_path), str(out_path),
            parameters=params,
            cwd=str(cwd),  # notebooks write their files into a scratch folder
            kernel_name="python3", progress_bar=False, log_output=False,
            execution_timeout=CELL_TIMEOUT,
            kernel_manager_class=kernel_manager_class(stderr_path, {**KERNEL_ENV, **(env or {})}),
            on_cell_start=lambda cell, cell_index: first_cell_at or first_cell_at.append(stderr_path.stat().st_size),
            on_cell_executed=lambda cell, cell_index, execute_reply: cell_done_at.append(stderr_path.stat().st_size),
        )
    except Exception as e:  # a cell error or a dead kernel: what the kernel said on stderr helps
        e.add_note(f"kernel stderr:\n{stderr_path.read_text(errors='replace')[-3000:]}")
        raise
    elapsed = time.perf_counter() - start
    out = nbformat.read(out_path, as_version=4)
    cells = [f"cell {i}: " + "".join(o.get("text", "")) for i, c in enumerate(out.cells)
             for o in c.get("outputs", []) if o.get("name") == "stderr"]
    raw = stderr_path.read_bytes()
    start_at = first_cell_at[0] if first_cell_at else len(raw)
    end_at = max(start_at, cell_done_at[-1])
    shutdown = [l for l in raw[end_at:].decode(errors="replace").splitlines(keepends=True)
                if l.strip() != SHUTDOWN_LINE]
    kernel = raw[start_at:end_at].decode(errors="replace") + "".join(shutdown)
    return out, elapsed, cells + ([f"kernel fd 2 while the cells ran: {kernel}"] if kernel else [])


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(nb_path, tmp_path):
    params, budget = ci_params(nb_path)
    with cpu_demand() as demand:
        out, elapsed, stderr = run_notebook(nb_path, tmp_path / nb_path.name, params, cwd=tmp_path)
    assert not stderr, f"{nb_path.name}: {len(stderr)} outputs on stderr (red in the notebook):\n" + \
        "\n---\n".join(t.strip()[:300] for t in stderr)
    assert_within_budget(f"{nb_path.name} under CI parameters", elapsed, budget, demand[0])


def assert_within_budget(what, elapsed, budget, demand):
    "A run over its budget fails unless a slow machine (the reference workload) or a busy one (`demand`) explains it."
    if elapsed < budget: return
    # slow chapter, or a slow or busy machine? time the reference workload, see what shared the CPUs
    speed, shared = machine_factor(), contention(demand, os.cpu_count())
    assert elapsed < budget * speed * shared, (
        f"{what} took {elapsed:.0f}s: budget {budget}s on the reference machine, "
        f"{budget * speed * shared:.0f}s here (tests/speed_reference.py took {speed:.2f}x its reference time; "
        f"{demand:.1f} tasks on average wanted this machine's {os.cpu_count()} CPUs while it ran)")


def _cell(source): return nbformat.v4.new_code_cell(source)


def test_stderr_check_is_deterministic(tmp_path):
    "A C++-style line (os.write, libc's write) and a Python-level one are caught on every run; a clean run has none."
    line = lambda n: f"E0000 00:00:1796322340.287349    4137 fake.cc:{n}] a C++-style line {n}\\n"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [_cell("import ctypes, os, sys"),
                _cell(f"os.write(2, b'{line(1)}')"),
                _cell(f"line = b'{line(2)}'\nctypes.CDLL(None).write(2, line, len(line))"),
                _cell("print('a Python-level line', file=sys.stderr)"),
                _cell(f"os.write(2, b'{SHUTDOWN_LINE}\\n')  # the shutdown race's line, written while cells run: counts"),
                _cell(f"os.write(2, b'{line(3)}')  # as the last cell ends: its copy into the notebook is often lost")]
    nbformat.write(nb, tmp_path / "loud.ipynb")
    for run in range(3):
        _, _, stderr = run_notebook(tmp_path / "loud.ipynb", tmp_path / f"loud_{run}.ipynb", {}, cwd=tmp_path)
        kernel = [t for t in stderr if t.startswith("kernel fd 2")]
        assert len(kernel) == 1 and all(f"a C++-style line {n}\n" in kernel[0] for n in (1, 2, 3)), (run, stderr)
        assert SHUTDOWN_LINE in kernel[0], (run, stderr)
        assert "cell 3: a Python-level line\n" in stderr, (run, stderr)
    nb.cells = [_cell("import sys, os\nprint('stdout is fine'); sys.stderr.flush()")]
    nbformat.write(nb, tmp_path / "quiet.ipynb")
    assert run_notebook(tmp_path / "quiet.ipynb", tmp_path / "quiet_out.ipynb", {}, cwd=tmp_path)[2] == []


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_cells_parse(nb_path):
    "Every code cell is Python (IPython magics and shell lines aside): a broken cell fails here in a second, not in a run."
    import ast, re
    for i, cell in enumerate(nbformat.read(nb_path, as_version=4).cells):
        if cell.cell_type == "code":
            try: ast.parse(cell.source)
            except SyntaxError:   # IPython lines (a line of a docstring may start with % too: plain Python first)
                try: ast.parse(re.sub(r"^\s*[%!].*$", "", cell.source, flags=re.M))
                except SyntaxError as e: pytest.fail(f"{nb_path.name} cell {i}: {e}")
