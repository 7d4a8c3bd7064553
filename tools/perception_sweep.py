"""Chapter 20's perception–distortion sweep at full size; writes `nbs/results/perception.json`, `nbs/images/perception_curve.png`
and `nbs/images/perception_crops.png`.

The shipped ×4 PSNR weights fine-tuned with RaGAN at every λ_adv of `perception.SWEEP_LAMBDAS`, seeds 0 and 1,
`SWEEP_STEPS` steps each, on the shipped recipe's data (the open real-MR corpus's Colin27 and BrainWeb volumes and
12 demo phantoms; 2 more phantoms validate); scored on the held-out real subject (MNI152, all three orientations)
and 4 held-out phantoms. Needs the real-MR sources (`pip install -e ".[real]"`, Debian mricron-data and
insighttoolkit5-examples). An interrupted sweep continues where it stopped. About an hour on 2 CPU cores:

    python tools/perception_sweep.py [WORK_DIR]
"""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(*args): subprocess.run([str(ROOT / ".venv" / "bin" / "srgan-course"), *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def prepare(work):
    "The shipped recipe's folders (the ×4 card's commands): train_mix, phantoms_val, heldout_real, heldout_phantoms."
    if not (work / "corpus" / "MANIFEST.json").exists(): sh("real-data", work / "corpus")
    for name, n, seed in (("phantoms", 12, 0), ("phantoms_val", 2, 1000), ("heldout_phantoms", 4, 2024)):
        if not (work / name).is_dir(): sh("demo-data", work / name, "--volumes", n, "--seed", seed)
    for folder, sources in (("train_mix", ["corpus/colin27_*", "corpus/brainweb_*", "phantoms/*.h5"]), ("heldout_real", ["corpus/mni152_*"])):
        (work / folder).mkdir(exist_ok=True)
        for pattern in sources:
            for f in work.glob(pattern):
                link = work / folder / f.name
                if not link.exists(): link.symlink_to(f.resolve())
    return work / "train_mix", work / "phantoms_val"


def held_out_sets(work):
    """The two held-out sets every realism tool scores on, from the folders `prepare` makes in `work`: "real", MNI152 in
    its three orientations (heldout_real), and "phantoms", 4 demo volumes of seed 2024 (heldout_phantoms)."""
    from srgan_course import perception
    from srgan_course.data import list_volumes
    real = list_volumes(work / "heldout_real")
    if len(real) != 3:
        sys.exit(f"expected the 3 MNI152 orientations in {work / 'heldout_real'}, found {len(real)}: install nilearn (.[real])")
    return {"real": perception.held_out_stacks(real), "phantoms": perception.held_out_stacks(list_volumes(work / "heldout_phantoms"))}


def main(work="perception_work"):
    from srgan_course import perception
    work = Path(work).resolve(); work.mkdir(exist_ok=True)
    data, val = prepare(work)
    sets = held_out_sets(work)
    res = perception.run_sweep(ROOT / "nbs" / "results" / "perception.json", work / "runs", sets, data=str(data), val_data=str(val))
    perception.curve_figure(res, "real", ROOT / "nbs" / "images" / "perception_curve.png")
    perception.crops_figure(sets["real"], perception.sweep_upscalers(work / "runs", res), ROOT / "nbs" / "images" / "perception_crops.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
