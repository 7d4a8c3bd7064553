"""The README's headline table: the shipped ×4 and ×2 weights and both baselines on the held-out real subject (MNI152,
all three planes, every slice) with complex receiver noise added to the measured k-space at every level of
`evaluate.NOISE_LEVELS`; writes `nbs/results/noise_benchmark.json` (chapter 15 shows it). Needs nilearn (the
`[real]` extra). A few minutes on 2 CPU cores:

    python tools/noise_benchmark.py [WORK_DIR]
"""
import json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(work=None):
    import tensorflow as tf
    from srgan_course import evaluate, real_data
    work = Path(work or tempfile.mkdtemp())
    held = real_data.make_real_data(work / "mni152", sources=["mni152"], log=None)["written"]
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 planes, got {held}: install nilearn (.[real])")
    t0 = time.time()
    rows = evaluate.noise_benchmark(held)
    out = dict(command="python tools/noise_benchmark.py", heldout=[Path(p).name for p in held],
               weights={f"x{s}": f"srgan_course/weights/g_hr_x{s}.keras (shipped)" for s in (4, 2)},
               noise="complex Gaussian in the measured k-space, sigma per real/imaginary part in units of the volume maximum; seed 0",
               machine=f"{os.cpu_count()} CPU cores, {platform.machine()}, TensorFlow {tf.__version__}",
               wall_s=round(time.time() - t0), rows=rows, summary=evaluate.benchmark_summary(rows))
    path = ROOT / "nbs" / "results" / "noise_benchmark.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(evaluate.benchmark_table(out["summary"]))


if __name__ == "__main__":
    main(*sys.argv[1:])
