"""One realism fine-tune of the shipped ×4 PSNR weights, scored at realism A = 1 on the held-out sets: a probe for choosing
the realism recipe (tools/realism_weights.py chooses among the probes' files, nbs/results/candidates/realism_probe_*.json).

    python tools/realism_probe.py LAMBDA_ADV G_EMA WORK OUT.json [STEPS [LAMBDA_FM [D_WIDTH]]]

The realism card's command (tools/realism_weights.py) at `--lambda-adv LAMBDA_ADV --g-ema G_EMA` (0: no average) and
`--lambda-fm LAMBDA_FM` (feature matching on D_HR's features; 0 or absent: off) and `--d-width D_WIDTH` (D_HR's base
width; absent: realism_weights.D_WIDTH), run in
WORK (the folders tools/perception_sweep.py prepares: train_mix, phantoms_val, corpus, heldout_real, heldout_phantoms) into
runs/realism_x4_lambda{LAMBDA_ADV}_ema{G_EMA}[_steps{STEPS}][_fm{LAMBDA_FM}][_dw{D_WIDTH}] (STEPS: realism_weights.STEPS unless given), the folder tools/realism_weights.py ships from if it chooses this probe;
then scored with chapter 04's metrics on held-out MNI152 and the held-out phantoms. About 20 minutes of training and 8
of scoring on one CPU core.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(lam, ema, work, out, steps=None, lam_fm=0.0, d_width=None):
    from realism_weights import D_WIDTH, STEPS, train   # tools/ is on the path when this runs as a script
    steps, d_width = int(steps or STEPS), int(d_width or D_WIDTH)
    work = Path(work).resolve()
    flags, _, run = train(work, float(lam), float(ema), steps, float(lam_fm), d_width)   # the folder tools/realism_weights.py reuses if this probe is chosen
    from srgan_course import perception
    from srgan_course.evaluate import load_generator
    from srgan_course.generators import Upscaler
    from perception_sweep import held_out_sets
    sets = held_out_sets(work)
    scores = perception.score_sets(Upscaler(load_generator(run, 4)), sets)
    Path(out).write_text(json.dumps(dict(command=f"srgan-course train {flags}", lambda_adv=float(lam), lambda_fm=float(lam_fm), d_width=d_width, g_ema=float(ema), steps=steps,
                                         held_out=scores), indent=1) + "\n")
    print(json.dumps(scores, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
