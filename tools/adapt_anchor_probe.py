"""A probe for chapter 16's anchor weight: `upscale --adapt 30` at one anchor weight on part of tools/adapt_benchmark.py's
held-out sets (×4; MNI152 at its two highest noise levels, σ 0.025 and 0.05, where the +0.2 dB aim was missed before
the noise floor was removed, and the phantom knees at both of theirs, 0.01 and 0.025, where adaptation can hurt),
3 seeds, into nbs/results/candidates/adapt_anchor_probe_{ANCHOR}.json. Not a shipped measurement: it says
whether a lighter anchor buys the brain more at high noise without hurting the knees. About 26 minutes on one core:

    python tools/adapt_anchor_probe.py ANCHOR
"""
import json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET, SEEDS, SCALE = 30.0, (0, 1, 2), 4
LEVELS = (("MNI152", (0.025, 0.05)), ("phantom knees", (0.01, 0.025)))


def main(anchor):
    import tensorflow as tf
    from srgan_course import adapt, phantoms, real_data
    from adapt_benchmark import PHANTOM_SEED   # tools/ is on the path when this runs as a script
    work = Path(tempfile.mkdtemp())   # the MNI152 planes and knees written for this probe (left for a rerun to inspect)
    held = real_data.make_real_data(work / "mni152", sources=["mni152"], log=None)["written"]
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 planes, got {held}: install nilearn (.[real])")
    sets = {"MNI152": held, "phantom knees": phantoms.make_demo_data(work / "knees", volumes=2, seed=PHANTOM_SEED)}
    out = dict(command=f"python tools/adapt_anchor_probe.py {anchor}", anchor=float(anchor), budget_s=BUDGET,
               seeds=list(SEEDS), scale=SCALE, runs={},
               machine=f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, "
                       f"TensorFlow {tf.__version__}")
    path = ROOT / "nbs" / "results" / "candidates" / f"adapt_anchor_probe_{float(anchor):g}.json"
    for scans, levels in LEVELS:
        for sigma in levels:
            t0 = time.time()
            rows = adapt.measure_adaptation(sets[scans], scale=SCALE, budgets=(BUDGET,), seeds=SEEDS, noise_sigma=sigma,
                                            anchor=float(anchor), log=None)
            summary = adapt.adaptation_summary(rows)
            mean = next(r for r in summary if r["volume"].startswith("mean"))
            worst = min(r["worst_db"] for r in summary if not r["volume"].startswith("mean"))
            out["runs"][f"{scans} sigma {sigma:g}"] = dict(gain_db=mean["gain_db"], std_db=mean["std_db"], worst_db=worst,
                                                           summary=summary, wall_s=round(time.time() - t0))
            path.write_text(json.dumps(out, indent=1) + "\n")
            print(f"anchor {anchor}: {scans} σ {sigma:g}: {mean['gain_db']:+.3f} ± {mean['std_db']:.3f} dB, worst {worst:+.3f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2: sys.exit("usage: python tools/adapt_anchor_probe.py ANCHOR  (e.g. 1: the L1 anchor's weight)")
    main(sys.argv[1])
