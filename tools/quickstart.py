"""Measure the README's quick start as a new user meets it and record it in `nbs/results/quickstart.json`.

A fresh clone of this repository's HEAD, a fresh venv, `pip install -e .`, then `srgan-course train` with its defaults
and an empty demo cache (`SRGAN_COURSE_CACHE` pointing at an empty folder): the install time, the train command's
time, and the held-out PSNR curve the run records in its `metrics.json`. Run it on a quiet machine:

    python tools/quickstart.py            # about 11 minutes on 2 CPU cores
"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, env=None):
    "Run `cmd` in `cwd`; its seconds. Stops with the command's own output if it fails."
    t0 = time.time()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0: sys.exit(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return time.time() - t0


def main(out=ROOT / "nbs" / "results" / "quickstart.json"):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run(["git", "clone", "-q", str(ROOT), str(tmp / "srgan_course")], tmp)
        repo = tmp / "srgan_course"
        install_s = run([sys.executable, "-m", "venv", ".venv"], repo) + run([".venv/bin/pip", "install", "-q", "-e", "."], repo)
        env = dict(os.environ, SRGAN_COURSE_CACHE=str(tmp / "empty_cache"))
        train_s = run([".venv/bin/srgan-course", "train"], repo, env)
        load = os.getloadavg()[0]
        (run_dir,) = [p.parent for p in (repo / "runs").rglob("metrics.json")]
        metrics = json.loads((run_dir / "metrics.json").read_text())
        cfg = json.loads((run_dir / "config.json").read_text())
    warm = cfg["warmup_steps"]
    phase = lambda step: "content-only warm-up" if step <= warm else "full SRResCycGAN (adversarial + cycle)"
    curve = [dict(wall_s=p["seconds"], step=p["step"], phase=phase(p["step"]), psnr=p["model_psnr"],
                  psnr_zero_fill=p["zero_fill_psnr"], psnr_bicubic=p["bicubic_psnr"]) for p in metrics["curve"]]
    res = dict(command="git clone <repo> && cd srgan_course && python3 -m venv .venv && .venv/bin/pip install -e . && "
                       ".venv/bin/srgan-course train (the README's first command, on a fresh clone with an empty demo cache: "
                       "SRGAN_COURSE_CACHE pointing at an empty folder; tools/quickstart.py)",
               machine=f"{os.cpu_count()} CPU cores, no GPU (load average {load:.1f} at the end of the run)",
               install_s=round(install_s, 1), train_command_s=round(train_s, 1), total_s=round(install_s + train_s, 1),
               train_s=metrics["wall_s"], steps=cfg["steps"], warmup_steps=warm, milestones=cfg["milestones"],
               lambda_adv=cfg["lambda_adv"], lambda_cycle=cfg["lambda_cycle"], seconds_per_step=metrics["seconds_per_step"],
               final=metrics["validation"], curve=curve,
               curve_note="the curve is measured on 4 central slices per validation volume, the final line on all of them")
    Path(out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "curve"}, indent=1))


if __name__ == "__main__":
    main()
