"""Chapter 16's measurement of `upscale --adapt` on held-out scans with noise; writes `nbs/results/adaptation.json`.

Two sets, neither seen in the shipped weights' training:
- the held-out real subject (MNI152, each plane, every slice) at every noise level of `evaluate.NOISE_LEVELS`;
- two phantom knee volumes of a seed no training uses (2024): other anatomy, with a synthetic fine texture, at
  noise 0.01 and 0.025 — the scans on which adaptation is least likely to help.
Each: the shipped weights adapted for `BUDGET` seconds to each volume, 3 seeds, complex receiver noise added to the
measured k-space. Needs nilearn (the `[real]` extra). About an hour per scale on one CPU core:

    python tools/adapt_benchmark.py [SCALE ...]      # default: 4

One process per scale may run at once (each on its own core): the results file is locked while it is updated.
"""
import fcntl, json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET, SEEDS = 30.0, (0, 1, 2)  # the README's `upscale --adapt 30`; seeds per volume and level
PHANTOM_LEVELS, PHANTOM_SEED = (0.01, 0.025), 2024
RUN_ORDER = lambda run: (run["scans"] != "MNI152", -run["scale"], run["noise_sigma"])
DESIGN = ("held-out: a contiguous block of slices from the middle of each scan, 2 guard slices each side used by neither; "
          "anchored: L1 to the unadapted output on the scan itself, weight adapt.ANCHOR; "
          "the targets and the anchor's output with the Rician noise floor removed where only noise is (adapt.noise_floor_removed)")


def main(*scales):
    import tensorflow as tf
    from srgan_course import adapt, evaluate, phantoms, real_data
    scales = [int(s) for s in scales] or [4]
    work = Path(tempfile.mkdtemp())
    held = real_data.make_real_data(work / "mni152", sources=["mni152"], log=None)["written"]
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 planes, got {held}: install nilearn (.[real])")
    knees = phantoms.make_demo_data(work / "knees", volumes=2, seed=PHANTOM_SEED)
    path = ROOT / "nbs" / "results" / "adaptation.json"
    t0 = time.time()
    for s in scales:
        for scans, paths, levels in (("MNI152", held, evaluate.NOISE_LEVELS), ("phantom knees", knees, PHANTOM_LEVELS)):
            for sigma in levels:
                rows = adapt.measure_adaptation(paths, scale=s, budgets=(BUDGET,), seeds=SEEDS, noise_sigma=sigma)
                key = f"x{s} {'' if scans == 'MNI152' else 'phantoms '}sigma {sigma:g}"
                run = dict(scale=s, scans=scans, noise_sigma=sigma, rows=rows, summary=adapt.adaptation_summary(rows),
                           wall_s=round(time.time() - t0))
                t0 = time.time()
                with open(path.with_suffix(".lock"), "w") as lock:   # read, merge and write under the lock
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    out = json.loads(path.read_text()) if path.exists() else {}
                    if out.get("budget_s") != BUDGET or out.get("design") != DESIGN: out = {}   # an older measurement: replaced whole
                    out.setdefault("runs", {})[key] = run
                    out["runs"] = dict(sorted(out["runs"].items(), key=lambda kv: RUN_ORDER(kv[1])))   # brain first, ×4 first
                    out.update(command="python tools/adapt_benchmark.py SCALE (one process per scale)", budget_s=BUDGET,
                               seeds=list(SEEDS), design=DESIGN, anchor=adapt.ANCHOR,
                               weights="the shipped G_HR of each scale (srgan_course/weights/g_hr_x{s}.keras)",
                               heldout=[Path(p).name for p in held] + [f"phantom knees seed {PHANTOM_SEED}: {Path(p).name}" for p in knees],
                               machine=f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} CPU cores per process (the adaptation budget is wall "
                                       f"time: fewer cores buy fewer steps), {platform.machine()}, TensorFlow {tf.__version__}")
                    out["wall_s"] = sum(r.get("wall_s", 0) for r in out["runs"].values())   # each level timed as it ran
                    path.write_text(json.dumps(out, indent=1) + "\n")   # after every level: an interrupted run keeps what it measured

if __name__ == "__main__":
    main(*sys.argv[1:])
