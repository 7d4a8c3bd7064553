"""Chapter 16's measurement of `upscale --adapt` on the noisy held-out benchmark: the shipped weights adapted for
`BUDGET` seconds to each plane of the held-out real subject (MNI152, every slice), 3 seeds, at every noise level of
`evaluate.NOISE_LEVELS` (complex receiver noise in the measured k-space); writes `nbs/results/adaptation.json`.
Needs nilearn (the `[real]` extra). About 25 minutes per scale on 2 CPU cores:

    python tools/adapt_benchmark.py [SCALE ...]      # default: 4 2
"""
import json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET, SEEDS = 30.0, (0, 1, 2)  # the README's `upscale --adapt 30`; seeds per volume and level


def main(*scales):
    import tensorflow as tf
    from srgan_course import adapt, evaluate, real_data
    scales = [int(s) for s in scales] or [4, 2]
    held = real_data.make_real_data(Path(tempfile.mkdtemp()) / "mni152", sources=["mni152"], log=None)["written"]
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 planes, got {held}: install nilearn (.[real])")
    path = ROOT / "nbs" / "results" / "adaptation.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    if out.get("budget_s") != BUDGET: out = {}   # an older measurement (another design): replaced whole
    t0 = time.time()
    for s in scales:
        for sigma in evaluate.NOISE_LEVELS:
            rows = adapt.measure_adaptation(held, scale=s, budgets=(BUDGET,), seeds=SEEDS, noise_sigma=sigma)
            out.setdefault("runs", {})[f"x{s} sigma {sigma:g}"] = dict(scale=s, noise_sigma=sigma, rows=rows, summary=adapt.adaptation_summary(rows))
            out.update(command="python tools/adapt_benchmark.py " + " ".join(map(str, scales)), budget_s=BUDGET, seeds=list(SEEDS),
                       weights="the shipped G_HR of each scale (srgan_course/weights/g_hr_x{s}.keras)", heldout=[Path(p).name for p in held],
                       machine=f"{os.cpu_count()} CPU cores, {platform.machine()}, TensorFlow {tf.__version__}")
            out["wall_s"] = round(out.get("wall_s", 0) + time.time() - t0); t0 = time.time()
            path.write_text(json.dumps(out, indent=1) + "\n")   # after every level: an interrupted run keeps what it measured


if __name__ == "__main__":
    main(*sys.argv[1:])
