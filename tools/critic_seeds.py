"""How far the realism weights' critic target rests on one critic: the fresh critic (chapter 04, `metrics.critic_accuracy`)
retrained with seeds 0 … N−1 on the held-out MNI152 subject, at realism A = 0 and A = 1 (the card scores seed 0 only);
writes `nbs/results/candidates/realism_critic_seeds.json`. Seed 0 chose the recipe among the probes
(tools/realism_weights.py), which flatters it; seeds 1 … N−1 did not, and their drop (`held_out_drop_*`) is the
honest one.

    python tools/critic_seeds.py WORK [N]

WORK: the folders tools/perception_sweep.py prepares (heldout_real). N: 5 unless given. About 70 s per seed and A on
2 CPU cores.
"""
import json, sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nbs" / "results" / "candidates" / "realism_critic_seeds.json"


def main(work, n=5):
    from srgan_course import metrics
    from srgan_course.evaluate import load_generator
    from srgan_course.generators import Upscaler
    from perception_sweep import held_out_sets   # tools/ is on the path when this runs as a script
    volumes = held_out_sets(Path(work).resolve())["real"]
    runs = {}
    for a in (0.0, 1.0):
        up = Upscaler(load_generator(None, 4, realism=a))
        pairs = [(hr, np.clip(np.asarray(up(lr), np.float32), 0, None)) for lr, hr in volumes.values()]   # SR once per A
        runs[f"realism {a:g}"] = [float(np.mean([metrics.critic_accuracy(hr, sr, seed=s) for hr, sr in pairs])) for s in range(int(n))]
    drop = np.subtract(runs["realism 0"], runs["realism 1"])
    res = dict(subject="MNI152, all three orientations (heldout_real)", seeds=list(range(int(n))), critic_acc=runs,
               drop=drop.tolist(), drop_mean=float(drop.mean()), drop_std=float(drop.std(ddof=1)) if len(drop) > 1 else 0.0,
               choosing_seed=0, held_out_drop_mean=float(drop[1:].mean()) if len(drop) > 1 else None,
               held_out_drop_std=float(drop[1:].std(ddof=1)) if len(drop) > 2 else None,
               weights=json.loads((ROOT / "srgan_course" / "weights" / "g_hr_x4_gan.json").read_text())["command"])
    OUT.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
