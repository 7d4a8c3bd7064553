"""One realism fine-tune of the shipped ×4 PSNR weights, scored at realism A = 1 on the held-out sets: a probe for choosing
the realism recipe (tools/realism_weights.py chooses among the probes' files, nbs/results/candidates/realism_probe_*.json).

    python tools/realism_probe.py LAMBDA_ADV G_EMA WORK OUT.json [STEPS]

The realism card's command (tools/realism_weights.py) at `--lambda-adv LAMBDA_ADV --g-ema G_EMA` (0: no average), run in
WORK (the folders tools/perception_sweep.py prepares: train_mix, phantoms_val, corpus, heldout_real, heldout_phantoms) into
runs/realism_x4_lambda{LAMBDA_ADV}_ema{G_EMA}[_steps{STEPS}] (STEPS: realism_weights.STEPS unless given), the folder tools/realism_weights.py ships from if it chooses this probe;
then scored with chapter 04's metrics on held-out MNI152 and the held-out phantoms. About 20 minutes of training and 8
of scoring on one CPU core.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(lam, ema, work, out, steps=None):
    from realism_weights import STEPS, train   # tools/ is on the path when this runs as a script
    steps = int(steps or STEPS)
    work = Path(work).resolve()
    flags, _, run = train(work, float(lam), float(ema), steps)   # the folder tools/realism_weights.py reuses if this probe is chosen
    from srgan_course import perception
    from srgan_course.evaluate import load_generator
    from srgan_course.generators import Upscaler
    from perception_sweep import held_out_sets
    sets = held_out_sets(work)
    scores = perception.score_sets(Upscaler(load_generator(run, 4)), sets)
    Path(out).write_text(json.dumps(dict(command=f"srgan-course train {flags}", lambda_adv=float(lam), g_ema=float(ema), steps=steps,
                                         held_out=scores), indent=1) + "\n")
    print(json.dumps(scores, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
