"""The README's quick start is exactly two commands, CI runs the second verbatim, and the
README says what index.ipynb says."""
import json, os, re, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands():
    "The bash commands in the README's Quick start section."
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [c.strip() for c in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_quick_start_has_two_commands():
    cmds = quick_start_commands()
    assert len(cmds) == 2, cmds
    assert all("\n" not in c for c in cmds), "each quick-start command must be one line"
    assert "srgan-course train" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci.splitlines(), ".ci/run must run the README's test command verbatim"



def test_ci_installs_a_package_that_was_removed_but_left_its_config(tmp_path):
    "A removed package keeps a dpkg record ('deinstall ok config-files'); .ci/run must still count it as missing."
    ci = (ROOT / ".ci" / "run").read_text()
    fn = next(l for l in ci.splitlines() if l.startswith("installed()"))
    fake = tmp_path / "dpkg-query"
    fake.write_text('#!/bin/sh\ncase "$*" in *gone*) printf "deinstall ok config-files";; '
                    '*here*) printf "install ok installed";; *held*) printf "hold ok installed";; *) exit 1;; esac\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    verdict = {p: subprocess.run(["bash", "-c", f'{fn}\ninstalled {p}'], env=env).returncode == 0
               for p in ("here", "held", "gone", "never")}
    assert verdict == {"here": True, "held": True, "gone": False, "never": False}
    assert 'installed "$p" || missing+=("$p")' in ci   # and that is what decides what apt-get installs

def test_readme_matches_index_notebook():
    nb = json.loads((ROOT / "index.ipynb").read_text())
    md = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    norm = lambda s: re.sub(r"\s+", " ", s).strip()
    assert norm(md) == norm((ROOT / "README.md").read_text()), "README.md and index.ipynb differ: regenerate one from the other"


def test_course_map_links_exist():
    text = (ROOT / "README.md").read_text()
    missing = [p for p in re.findall(r"\]\((nbs/[^)]+\.ipynb)\)", text) if not (ROOT / p).exists()]
    assert not missing, f"README links to notebooks that do not exist: {missing}"
