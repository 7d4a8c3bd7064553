"""Issue 23's model-size comparison: G_HR ×4 of two or three sizes, each trained with the shipped ×4 weights'
recipe (its card's command, only --width / --num-blocks changed), scored on the held-out real subject with
receiver noise (MNI152, all three planes, every slice, every level of `evaluate.NOISE_LEVELS`) and on the held-out
phantom knees (4 volumes, seed 2024, noise-free and σ 0.025), with the time to upscale one 320×320 slice.
Writes `nbs/results/model_sizes.json`. Needs nilearn (the `[real]` extra).

    python tools/size_benchmark.py RUN_DIR [RUN_DIR ...]   # score each finished `srgan-course train` run folder
                                                        # ("shipped": srgan_course/weights/g_hr_x4.keras)
    python tools/size_benchmark.py --time                # then time every scored model, on an otherwise idle machine

Scoring takes 7–13 minutes per model on one core (runs in parallel processes may share the results file: it is
locked while written). The timings are interleaved (each size timed in turn, five rounds, the median kept) so that
load on the machine falls on every size alike.
"""
import fcntl, json, os, platform, sys, tempfile, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHANTOM_LEVELS, PHANTOM_SEED = (0.0, 0.025), 2024
PATH = ROOT / "nbs" / "results" / "model_sizes.json"


def update(change):
    "Apply change(results) to the results file under an exclusive lock (parallel scoring processes share it)."
    with open(PATH.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = json.loads(PATH.read_text()) if PATH.exists() else {}
        change(out)
        PATH.write_text(json.dumps(out, indent=1) + "\n")


def weights_of(run):
    return ROOT / "srgan_course" / "weights" / "g_hr_x4.keras" if run == "shipped" else Path(run) / "g_hr.keras"


def time_models():
    from srgan_course import evaluate
    from srgan_course.benchmark import time_forward
    import tensorflow as tf
    runs = json.loads(PATH.read_text())["models"]
    models = {name: evaluate.load_generator(ROOT / m["weights"] if m["weights"].startswith("srgan_course") else m["weights"], 4)
              for name, m in runs.items()}
    times = {name: [] for name in models}
    for _ in range(5):   # interleaved rounds: load on the machine lands on every size
        for name, g in models.items(): times[name].append(time_forward(g, (80, 80, 1), runs=3))
    def change(out):
        for name in models: out["models"][name]["seconds_per_320_slice"] = float(np.median(times[name]))
        out["timing"] = dict(what="one 80×80 LR slice -> 320×320, batch of one, compiled, median of 5 interleaved rounds of 3 runs",
                             machine=f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} CPU cores, {platform.machine()}, TensorFlow {tf.__version__}")
    update(change)


def main(*runs):
    if runs == ("--time",): return time_models()
    from srgan_course import evaluate, phantoms, real_data
    from srgan_course.benchmark import count_flops
    if not runs: sys.exit(__doc__)
    work = Path(tempfile.mkdtemp())
    held = real_data.make_real_data(work / "mni152", sources=["mni152"], log=None)["written"]
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 planes, got {held}: install nilearn (.[real])")
    knees = phantoms.make_demo_data(work / "knees", volumes=4, seed=PHANTOM_SEED)
    for run in runs:
        weights = weights_of(run)
        g = evaluate.load_generator(weights, 4)
        cfg = json.loads((Path(run) / "config.json").read_text()) if run != "shipped" else dict(width=48, num_blocks=4)
        name = f"width {cfg['width']}, {cfg['num_blocks']} blocks"
        t0 = time.time()
        up = evaluate.Upscaler(g)   # the model loaded once serves both sets
        real = evaluate.noise_benchmark(held, scales=(4,), weights={4: up}, log=None)
        knee = evaluate.noise_benchmark(knees, scales=(4,), sigmas=PHANTOM_LEVELS, weights={4: up}, log=None)
        row = dict(weights=str(weights.relative_to(ROOT)) if run == "shipped" else str(weights), width=cfg["width"],
                   num_blocks=cfg["num_blocks"], params=int(g.count_params()), gflops_320=count_flops(g, (80, 80, 1)) / 1e9,
                   train_wall_s=None if run == "shipped" else json.loads((Path(run) / "metrics.json").read_text()).get("wall_s"),
                   heldout_real=evaluate.benchmark_summary(real), heldout_phantoms=evaluate.benchmark_summary(knee),
                   score_wall_s=round(time.time() - t0))
        def change(out, name=name, row=row):
            out.setdefault("models", {})[name] = row
            out.update(recipe="the ×4 card's training command (seed 0, 5500 steps) with only --width and --num-blocks changed",
                       heldout=[Path(p).name for p in held] + [f"phantom knees seed {PHANTOM_SEED}: {Path(p).name}" for p in knees],
                       noise="complex Gaussian in the measured k-space, seed 0 (as tools/noise_benchmark.py)")
        update(change)


if __name__ == "__main__":
    main(*sys.argv[1:])
