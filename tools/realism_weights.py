"""Train the shipped realism weights `srgan_course/weights/g_hr_x4_gan.keras` and write their card `g_hr_x4_gan.json`.

Reads chapter 20's sweep (`nbs/results/perception.json`) and picks λ_adv there: the largest whose held-out PHANTOM
PSNR (mean over seeds) stays above zero-fill's — the held-out real subject is not used for the choice. Then one
`srgan-course train` run fine-tunes the shipped ×4 PSNR weights at that λ_adv with the adversarial term on for
every step (the sweep's recipe, `STEPS` steps), and the result is scored on the held-out real subject (MNI152,
all three orientations) and the held-out phantoms at realism A = 0, 0.5 and 1, beside the baselines. Uses the
folders `tools/perception_sweep.py` prepared in WORK_DIR. About 15 minutes on 2 CPU cores:

    python tools/realism_weights.py [WORK_DIR]
    python tools/realism_weights.py WORK_DIR --train-only LAMBDA   # start the run before the sweep has chosen (kept if chosen)
"""
import hashlib, json, os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = 1200  # fine-tuning steps (the sweep's runs: 500)


def choose_lambda(res):
    "The largest λ_adv whose mean held-out phantom PSNR stays above zero-fill's."
    from srgan_course.perception import summarize
    zero_fill = res["baselines"]["zero_fill"]["phantoms"]["psnr"]
    ok = [r["lambda_adv"] for r in summarize(res, "phantoms") if r.get("lambda_adv") and r["psnr"]["mean"] > zero_fill]
    if not ok: sys.exit("no λ_adv > 0 of the sweep keeps the held-out phantoms' PSNR above zero-fill's: nothing to ship")
    return max(ok)


def parent_data_flags(card=ROOT / "srgan_course" / "weights" / "g_hr_x4.json"):
    "The --noise and --contrast flags of the PSNR weights' training command: the fine-tuning sees the data its parent saw."
    cmd = next(c for c in json.loads(Path(card).read_text())["commands"] if c.startswith("srgan-course train")).split()
    return " ".join(f"{k} {cmd[cmd.index(k) + 1]}" for k in ("--noise", "--contrast") if k in cmd)


def fine_tune_flags(out, lam, g_ema=0.0):
    "The `srgan-course train` flags of a realism fine-tune into run folder `out` (relative to WORK) at λ_adv `lam`."
    average = f"--g-ema {g_ema:g} " if g_ema else ""
    return (f"--data train_mix --val-data phantoms_val --out {out} --init-g-hr shipped --scale 4 --seed 0 --width 48 "
            f"--num-blocks 4 --no-projection --batch-size 8 --hr-patch 64 {parent_data_flags()} --ablation srgan "
            f"--gan-kind ragan --lambda-adv {lam:g} {average}--learning-rate 1e-4 --d-learning-rate 4e-4 --milestones 800 "
            f"--steps {STEPS} --warmup-steps 0 --val-every 400 --checkpoint-every 400 --sample-every 400")


def train(work, lam):
    "The fine-tuning run at `lam` (the command the card prints), unless a finished one is in its folder; (flags, wall s, run folder)."
    run = work / "runs" / f"realism_x4_lambda{lam:g}"
    flags = fine_tune_flags(f"runs/{run.name}", lam)
    done, made_by = run / "metrics.json", run / "made_by.json"   # a finished run is reused only if this command and parent made it
    recipe = dict(flags=flags, parent_sha256=hashlib.sha256((ROOT / "srgan_course" / "weights" / "g_hr_x4.keras").read_bytes()).hexdigest())
    if done.exists() and json.loads(done.read_text()).get("step") == STEPS and made_by.exists() and json.loads(made_by.read_text()) == recipe:
        return flags, json.loads(done.read_text())["wall_s"], run
    shutil.rmtree(run, ignore_errors=True)
    subprocess.run([str(ROOT / ".venv" / "bin" / "srgan-course"), "train", *flags.split()], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)  # the command the card prints, run as a user would
    made_by.write_text(json.dumps(recipe))
    return flags, json.loads(done.read_text())["wall_s"], run


def realism_scores(psnr_w, gan_w, sets, baselines):
    "Scores of the blend at realism A = 0, 0.5, 1 on each held-out set, with the sweep's baselines beside them."
    from srgan_course import perception, metrics
    from srgan_course.evaluate import interpolate_weights
    from srgan_course.generators import Upscaler
    scores = {f"realism {a:g}": perception.score_sets(Upscaler(interpolate_weights(psnr_w, gan_w, a)), sets) for a in (0.0, 0.5, 1.0)}
    return scores | {m: baselines[m] for m in metrics.BASELINES}


def main(work="perception_work", *args):
    work = Path(work).resolve()
    if args[:1] == ("--train-only",): return train(work, float(args[1]))
    from srgan_course import perception
    from srgan_course.data import list_volumes
    from srgan_course.evaluate import load_generator
    res = json.loads((ROOT / "nbs" / "results" / "perception.json").read_text())
    lam = choose_lambda(res)
    flags, wall, run_dir = train(work, lam)
    run = json.loads((run_dir / "metrics.json").read_text())
    psnr_w, gan_w = load_generator(None, 4), load_generator(run_dir, 4)
    sets = {"real": perception.held_out_stacks(list_volumes(work / "heldout_real")),
            "phantoms": perception.held_out_stacks(list_volumes(work / "heldout_phantoms"))}
    scores = realism_scores(psnr_w, gan_w, sets, res["baselines"])
    table = lambda s: ("| | PSNR (dB) | SSIM | HFEN | spectral gap (dB) | critic accuracy |\n|---|---|---|---|---|---|\n" +
                       "\n".join(f"| {k} | {v[s]['psnr']:.2f} | {v[s]['ssim']:.3f} | {v[s]['hfen']:.3f} | {v[s]['spectral_gap_db']:+.2f} | "
                                 f"{v[s]['critic_acc']:.3f} |" for k, v in scores.items()))
    card = dict(
        model="G_HR, x4, the same architecture as g_hr_x4.keras (width 48, 4 residual blocks, no projection, zero-filled k-space base)",
        training=(f"fine-tuned from g_hr_x4.keras (the PSNR weights, 100 % L1 + TV) with D_HR and the relativistic adversarial loss "
                  f"(RaGAN, lambda_adv {lam:g}; content L1 x10 + TV x1 kept) for {STEPS} steps, the adversarial term on for all of them "
                  f"(100 %); ablation 'srgan' (no G_LR / D_LR: no cycle). lambda_adv chosen on chapter 20's sweep as the largest whose "
                  f"held-out phantom PSNR stays above zero-fill's; the held-out real subject was not used to choose"),
        command=f"srgan-course train {flags}",
        folders="train_mix and phantoms_val as for g_hr_x4.keras (its card's first four commands); tools/realism_weights.py",
        lambda_adv=lam, steps=STEPS, adversarial_steps=STEPS, share_adversarial=1.0, seed=0, wall_s=round(wall),
        seconds_per_step=run.get("seconds_per_step"), machine=f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} CPU cores (no GPU)",
        validation_phantoms=run["validation"],
        heldout_real=dict(subject="MNI152 2009 T1 template (nilearn), never seen in training: all three orientations, every slice the corpus keeps",
                          scores={k: v["real"] for k, v in scores.items()}, table=table("real")),
        heldout_phantoms=dict(subject="4 demo volumes, seed 2024", scores={k: v["phantoms"] for k, v in scores.items()}, table=table("phantoms")),
        metrics="chapter 04: PSNR / SSIM (fastMRI, volume maximum), HFEN (LoG 15x15, sigma 1.5), spectral gap over 1/8..1/2 cycles/pixel, "
                "fresh-critic held-out accuracy (seed 0); per volume, averaged over the set's volumes",
        sources_and_licences="as g_hr_x4.json (Colin27: Debian mricron-data; BrainWeb: ITK examples, Apache-2.0; phantoms: this project)")
    weights = ROOT / "srgan_course" / "weights"
    shutil.copy2(run_dir / "g_hr.keras", weights / "g_hr_x4_gan.keras")
    (weights / "g_hr_x4_gan.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    print(card["heldout_real"]["table"])


if __name__ == "__main__":
    main(*sys.argv[1:])
