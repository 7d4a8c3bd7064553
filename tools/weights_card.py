"""Measure the held-out tables of a shipped PSNR weights card, `srgan_course/weights/g_hr_x{SCALE}.json`, and write them
into it (the card's other fields — what was trained, how — are written when the weights ship):

- `heldout_real`: the held-out real subject (MNI152, never seen in training), each orientation and all three
  together, every slice the corpus keeps, noise-free: `srgan-course evaluate --data FOLDER --scale SCALE --json`;
- `heldout_phantoms`: 4 demo volumes of a seed no training uses (2024).

The noisy headline is `tools/noise_benchmark.py`. Needs nilearn (the `[real]` extra). A few minutes per scale:

    python tools/weights_card.py SCALE [WORK_DIR]
"""
import json, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scores(volumes, scale):
    "The evaluate --json numbers a card keeps: PSNR / SSIM / NMSE of each method, slices, the gains."
    from srgan_course import evaluate
    r = evaluate.evaluate_model(volumes, scale=scale)
    out = {m: {k: round(r[m][k], 4) for k in ("psnr", "ssim", "nmse")} for m in ("bicubic", "zero_fill", "model")}
    return dict(slices=r["slices"], **out)


def main(scale, work=None):
    from srgan_course import phantoms, real_data
    scale, work = int(scale), Path(work or tempfile.mkdtemp())
    held = real_data.make_real_data(work / "mni152", sources=["mni152"], log=None)["written"]
    if len(held) != 3: sys.exit(f"expected the 3 MNI152 planes, got {held}: install nilearn (.[real])")
    per = {}
    for plane, volumes in [(Path(p).stem.split("_")[-1], [p]) for p in sorted(held)] + [("all", sorted(held))]:
        r = per[plane] = scores(volumes, scale)
        r.update(gain_db=round(r["model"]["psnr"] - r["zero_fill"]["psnr"], 3),
                 gain_ssim_over_zero_fill=round(r["model"]["ssim"] - r["zero_fill"]["ssim"], 4))
    knees = phantoms.make_demo_data(work / "phantoms", volumes=4, seed=2024)
    ph = scores(knees, scale)
    best = max(("bicubic", "zero_fill"), key=lambda m: ph[m]["psnr"])
    ph.update(gain_db=round(ph["model"]["psnr"] - ph[best]["psnr"], 3), gain_ssim=round(ph["model"]["ssim"] - ph[best]["ssim"], 4))
    path = ROOT / "srgan_course" / "weights" / f"g_hr_x{scale}.json"
    card = json.loads(path.read_text())
    card["heldout_real"].update(
        subject="MNI152 2009 T1 template (nilearn), never seen in training: all three orientations, every slice the corpus keeps",
        command=f"srgan-course real-data corpus && mkdir heldout && ln -s $PWD/corpus/mni152_* heldout/ && "
                f"srgan-course evaluate --data heldout --scale {scale} --json (per orientation: one file per folder); "
                f"python tools/weights_card.py {scale}",
        per_orientation=per)
    card["heldout_phantoms"] = dict(command=f"srgan-course demo-data heldout --volumes 4 --seed 2024 && "
                                            f"srgan-course evaluate --data heldout --scale {scale} --json", **ph)
    path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    for plane, r in per.items(): print(plane, r["slices"], r["model"]["psnr"], f"{r['gain_db']:+.3f}")
    print("phantoms", ph["model"]["psnr"], f"{ph['gain_db']:+.3f}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3): sys.exit(__doc__)
    main(*sys.argv[1:])
