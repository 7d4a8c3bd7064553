"""Score candidate weights as nbs/results/candidates/candidates.json records them (before they ship).

    python tools/score_candidates.py subset WEIGHTS SCALE CORPUS OUT.json
        the noise benchmark on 20 central slices of each MNI152 plane in CORPUS (`srgan-course real-data CORPUS`), seed 0
    python tools/score_candidates.py realism PARENT RUN WORK OUT.json
        realism A = 0, 0.5, 1 between a ×4 PSNR candidate PARENT and its fine-tune RUN, scored as tools/realism_weights.py
        scores the shipped pair (tools/perception_sweep.py's held_out_sets: held-out MNI152 and 4 demo volumes of seed 2024)

`subset`: about 75 s per scale on one core; `realism`: about 20 minutes on one core (six fresh critics).
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def subset(weights, scale, corpus, out):
    from srgan_course import evaluate
    held = sorted(Path(corpus).glob("mni152_*.h5"))
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 orientations in {corpus}, found {len(held)}: srgan-course real-data {corpus}")
    rows = evaluate.noise_benchmark(held, scales=(int(scale),), weights={int(scale): weights}, slices=20, log=None)
    summary = evaluate.benchmark_summary(rows)
    print(evaluate.benchmark_table(summary))
    Path(out).write_text(json.dumps(summary, indent=1) + "\n")


def realism(parent, run, work, out):
    from srgan_course.evaluate import load_generator
    from realism_weights import realism_scores   # tools/ is on the path when this runs as a script
    from perception_sweep import held_out_sets, prepare
    work = Path(work).resolve()
    prepare(work)   # the folders the realism tools share (made once)
    sets = held_out_sets(work)
    baselines = json.loads((ROOT / "nbs" / "results" / "perception.json").read_text())["baselines"]
    scores = realism_scores(load_generator(parent, 4), load_generator(run, 4), sets, baselines)
    for s in sets:
        print(s); print("\n".join(f"| {k} | {v[s]['psnr']:.2f} | {v[s]['ssim']:.3f} | {v[s]['hfen']:.3f} | "
                                  f"{v[s]['spectral_gap_db']:+.2f} | {v[s]['critic_acc']:.3f} |" for k, v in scores.items()))
    Path(out).write_text(json.dumps(scores, indent=1) + "\n")


if __name__ == "__main__":
    commands = {"subset": subset, "realism": realism}
    if len(sys.argv) != 6 or sys.argv[1] not in commands: sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
