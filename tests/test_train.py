"""srgan_course.train beyond the notebook: crash + resume in a subprocess, tf.distribute on two logical
CPU devices (needs a fresh process), the NaN guard through train_from_config, the subject split, and the
CLI options generated from the configuration dataclasses."""
import argparse, dataclasses, json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg", "CUDA_VISIBLE_DEVICES": ""}
TINY = dict(hr_patch=32, batch_size=2, width=8, num_blocks=1, d_width=8, warmup_steps=2, demo_volumes=2,
            demo_slices=4, val_every=5, val_batches=1, sample_every=1000, log_every=5, verbose=0)


def _python(code, timeout=300):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_resume_after_sigkill(tmp_path):
    "Kill a run after its first checkpoint; the resumed run continues from that step with the optimiser state."
    out = tmp_path / "run"
    cfg = dict(TINY, out=str(out), steps=100_000, checkpoint_every=3, milestones=(4, 1_000_000))
    proc = subprocess.Popen([sys.executable, "-c", f"from srgan_course.train import *; train_from_config({cfg!r})"],
                            cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state_file = out / "checkpoints" / "state.json"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if state_file.exists() and json.loads(state_file.read_text())["step"] >= 6: break
            time.sleep(0.2)
        assert proc.poll() is None, f"training exited early: {proc.stderr.read()[-2000:]}"
        assert state_file.exists(), "no checkpoint appeared within 240 s"
    finally:
        proc.send_signal(signal.SIGKILL); proc.wait()
    saved = json.loads(state_file.read_text())
    warm = TINY["warmup_steps"]  # the content-only warm-up steps G_HR alone: no discriminator update
    assert saved["step"] % 3 == 0 and saved["step"] == saved["g_iterations"] == saved["d_iterations"] + warm

    from srgan_course.train import train_from_config
    result = train_from_config(dict(cfg, steps=saved["step"] + 4, resume=True))
    resumed = result["resumed_from"]
    assert resumed["step"] == saved["step"], (resumed, saved)            # continues from the checkpoint
    assert resumed["g_iterations"] == resumed["d_iterations"] + warm == saved["step"]  # optimiser state restored
    assert resumed["learning_rate"] == pytest.approx(5e-4)              # the schedule too (halved after step 4)
    assert resumed["d_learning_rate"] == resumed["learning_rate"]       # D's schedule runs on the global step, not its lagging iterations
    assert result["start_step"] == saved["step"] and result["step"] == saved["step"] + 4
    assert result["g_iterations"] == saved["step"] + 4
    assert json.loads(state_file.read_text())["step"] == saved["step"] + 4
    with pytest.raises(ValueError, match="already holds a run"):
        train_from_config(dict(cfg, steps=1))


def test_unpaired_lr_step_on_two_cpus():
    """With a scanner's unpaired LR, two replicas average every term over the global batch: from the same weights, the
    terms that draw no noise (content, TV, cycle, adversarial, D_HR's) equal the single-device ones, and the step trains.
    Weights are not compared: Adam's first step divides each gradient by its own size, so a weight whose gradient is
    near zero moves differently under any other summation order (D_HR by 1.7e-4 in the paired model too)."""
    r = _python("""
        from srgan_course.train import *
        from srgan_course.model import ModelConfig, build_model
        split_cpu(2)
        import math, numpy as np, tensorflow as tf
        s = make_strategy("mirrored"); assert s.num_replicas_in_sync == 2
        cfg = ModelConfig(width=8, num_blocks=1, d_width=8, g_lr_width=8, gan_kind="bce")  # RaGAN's batch mean is per replica
        lr, hr = tf.random.uniform((4, 8, 8, 1), seed=1), tf.random.uniform((4, 32, 32, 1), seed=2)
        lr_t = tf.random.uniform((4, 8, 8, 1), seed=3)
        single = build_model(cfg, unpaired_lr=True)
        with s.scope(): dist = build_model(cfg, global_batch_size=4, unpaired_lr=True)
        for a, b in zip([*single.generators, *single.discriminators], [*dist.generators, *dist.discriminators]): b.set_weights(a.get_weights())
        one, two = (m.train_on_batch((lr, lr_t), hr, return_dict=True) for m in (single, dist))
        for k in ("content", "tv", "cycle", "adversarial", "d_hr"): assert math.isclose(one[k], two[k], rel_tol=1e-5), (k, one, two)
        assert all(math.isfinite(v) for v in two.values()) and {"backward", "degradation", "d_lr"} <= set(two), two
        assert int(dist.step_counter.numpy()) == 1
        print("OK")
    """)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]


def test_mirrored_strategy_on_two_cpus():
    "Two replicas: one step equals the single-device step (global-batch loss averaging); the full model trains."
    r = _python("""
        from srgan_course.train import *
        from srgan_course.model import build_model
        split_cpu(2)
        import dataclasses, math, tensorflow as tf
        s = make_strategy("mirrored"); assert s.num_replicas_in_sync == 2, s.num_replicas_in_sync
        cfg = TrainConfig(hr_patch=32, batch_size=4, width=8, num_blocks=1, d_width=8, verbose=0)
        lr, hr = tf.random.uniform((4, 8, 8, 1), seed=1), tf.random.uniform((4, 32, 32, 1), seed=2)
        diff = strategy_matches_single_device(dataclasses.replace(cfg, ablation="content"), lr, hr, s)
        assert diff < 1e-4, diff
        with s.scope(): m = build_model(cfg, global_batch_size=4)
        h = m.fit(tf.data.Dataset.from_tensors((lr, hr)).repeat(), epochs=1, steps_per_epoch=3, verbose=0).history
        assert int(m.step_counter.numpy()) == 3 and all(math.isfinite(v[-1]) for v in h.values()), h
        print("OK", diff)
    """)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]


def test_nan_guard_keeps_last_good_checkpoint(tmp_path):
    "A learning rate that blows up: a clear TrainingDiverged, and the newest checkpoint has finite weights."
    from srgan_course.train import train_from_config, TrainConfig
    from srgan_course.model import build_model
    from srgan_course.callbacks import TrainingDiverged, Checkpointer
    import numpy as np
    cfg = dict(TINY, out=str(tmp_path / "run"), steps=200, checkpoint_every=1, learning_rate=1e30, warmup_steps=0)
    with pytest.raises(TrainingDiverged, match="diverged at step .*last good checkpoint"):
        train_from_config(cfg)
    m = build_model(TrainConfig(**{k: v for k, v in cfg.items() if k != "out"}))
    state = Checkpointer(m, tmp_path / "run" / "checkpoints").restore()
    assert all(np.isfinite(w).all() for w in m.get_weights()), state


def test_cli_arguments_and_errors(tmp_path):
    from srgan_course.train import add_train_arguments, config_from_args, train_from_config
    p = add_train_arguments(argparse.ArgumentParser())
    c = config_from_args(p.parse_args(["--steps", "7", "--ablation", "srgan", "--lambda-tv", "2", "--mixed-precision"]))
    assert (c.steps, c.ablation, c.lambda_tv, c.mixed_precision, c.paired) == (7, "srgan", 2.0, True, True)
    for argv, msg in [(["--hr-patch", "30"], "--hr-patch"), (["--ablation", "x"], "--ablation"),
                      (["--unpaired", "--ablation", "content"], "unpaired"), (["--resume"], "--out"),
                      (["--degradation", "jpeg"], "--degradation"), (["--steps", "0"], "--steps"),
                      (["--unpaired-lr", "scans", "--ablation", "srgan"], "--unpaired-lr"),
                      (["--unpaired-lr", "scans", "--unpaired"], "--unpaired-lr")]:
        with pytest.raises(ValueError, match=msg): config_from_args(p.parse_args(argv))
    with pytest.raises(FileNotFoundError, match="nope"):
        train_from_config(dict(TINY, data=str(tmp_path / "nope"), out=str(tmp_path / "r"), steps=1))


def test_cli_options_come_from_the_dataclass():
    "Every TrainConfig field is an option with its type, its comment as help and its default; --unpaired still works."
    from srgan_course.train import TrainConfig, add_train_arguments, config_from_args, config_help
    p = add_train_arguments(argparse.ArgumentParser())
    text = p.format_help()
    helps = config_help(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        assert flag in text, flag
        assert helps.get(f.name), f"{f.name} has no trailing comment: it is the option's help"
    assert "generator width (paper: 64) (default: 32)" in " ".join(text.split())
    c = config_from_args(p.parse_args(["--milestones", "5,10", "--noise", "0.01,0.05", "--val-data", "v", "--no-paired"]))
    assert (c.milestones, c.noise, c.val_data, c.paired) == ((5, 10), (0.01, 0.05), "v", False)
    assert config_from_args(p.parse_args(["--unpaired"])).paired is False
    assert config_from_args(p.parse_args(["--noise", "0.02", "--alpha-init", "3"])).noise == 0.02
    assert config_from_args(p.parse_args([])) == TrainConfig()  # nothing given: the demo defaults
    random_vgg = ["--perceptual-weights", "random"]
    assert config_from_args(p.parse_args(["--paper", "--steps", "5", *random_vgg])) == TrainConfig.paper(steps=5, perceptual_weights="random")
    with pytest.raises(SystemExit):
        p.parse_args(["--steps", "many"])


def _volumes(folder, subjects):
    "Tiny fastMRI files, one per (name, patient_id)."
    import numpy as np
    from srgan_course import data
    folder.mkdir(parents=True, exist_ok=True)
    kspace = data.fft2c(np.random.default_rng(0).random((2, 32, 32)))
    return [data.write_volume(folder / f"{name}.h5", kspace, patient_id=pid, crop=(32, 32)) for name, pid in subjects]


def test_split_by_subject_never_splits_a_patient(tmp_path):
    "Held-out validation is by patient_id: no subject on both sides, independent of file names and order."
    from srgan_course.train import split_by_subject, volume_subject, prepare_volumes, TrainConfig
    from srgan_course.data import DataError
    subjects = [(f"v{i:02d}", f"patient{i % 6}") for i in range(15)]  # 6 subjects, 2-3 volumes each
    paths = _volumes(tmp_path / "all", subjects)
    train, val = split_by_subject(paths)
    ids = lambda ps: {volume_subject(p) for p in ps}
    assert ids(train) and ids(val) and not ids(train) & ids(val)
    assert len(train) + len(val) == 15 and len(ids(val)) == 1
    assert split_by_subject(list(reversed(paths))) == (train, val)
    renamed = _volumes(tmp_path / "renamed", [(f"z{99 - i}", pid) for i, (_, pid) in enumerate(subjects)])
    assert ids(split_by_subject(renamed)[1]) == ids(val)
    assert volume_subject(_volumes(tmp_path / "anon", [("x", "")])[0]) == "file:x.h5"  # no patient_id: its own subject
    tiny = TrainConfig(**TINY)
    assert prepare_volumes(dataclasses.replace(tiny, data=str(tmp_path / "all"))) == (train, val)
    other = _volumes(tmp_path / "val", [("w", "patient-new")])
    assert prepare_volumes(dataclasses.replace(tiny, data=str(tmp_path / "all"), val_data=str(tmp_path / "val"))) == (sorted(paths), other)
    _volumes(tmp_path / "leaky", [("w", "patient3")])
    with pytest.raises(DataError, match="also in the training"):
        prepare_volumes(dataclasses.replace(tiny, data=str(tmp_path / "all"), val_data=str(tmp_path / "leaky")))
    _volumes(tmp_path / "one", [("a", "p"), ("b", "p")])
    with pytest.raises(DataError, match="need at least 2 subjects"):
        prepare_volumes(dataclasses.replace(tiny, data=str(tmp_path / "one")))
    with pytest.raises(FileNotFoundError, match="--val-data"):
        prepare_volumes(dataclasses.replace(tiny, data=str(tmp_path / "all"), val_data=str(tmp_path / "missing")))


def test_one_cadence_and_the_config_of_an_earlier_run():
    "--every sets every cadence, each *_every overrides it; a config.json written before --every loads unchanged."
    import argparse
    from srgan_course.train import TrainConfig, add_train_arguments, as_config, config_from_args
    p = add_train_arguments(argparse.ArgumentParser())
    given = config_from_args(p.parse_args("--val-every 400 --checkpoint-every 400 --sample-every 400".split()))
    assert given.cadence == TrainConfig().cadence == (400, 400, 400, 10)
    assert config_from_args(p.parse_args("--every 50 --sample-every 7".split())).cadence == (50, 50, 7, 10)
    earlier = {f: v for f, v in dataclasses.asdict(TrainConfig()).items() if f != "every"}
    earlier.update(val_every=5, checkpoint_every=3, sample_every=1000, upsample="auto", alpha_init=None)
    cfg = as_config(earlier).validate()
    assert cfg.cadence == (5, 3, 1000, 10) and (cfg.upsample_mode, cfg.initial_alpha) == ("zero_fill", 9.5)


def test_resume_of_a_finished_run(tmp_path, capsys):
    "A run SIGKILLed during its final evaluation: --resume says it is finished, trains nothing, redoes only the evaluation."
    out = tmp_path / "run"
    cfg = dict(TINY, out=str(out), steps=4, checkpoint_every=2)
    killed = _python(f"""
        import os, signal
        from srgan_course import train
        train.score_generator = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)  # the final evaluation is where it dies
        train.train_from_config({cfg!r})
    """)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["step"] == 4 and (out / "g_hr.keras").exists() and not (out / "metrics.json").exists()
    exported = (out / "g_hr.keras").stat().st_mtime_ns

    from srgan_course.train import train_from_config
    capsys.readouterr()
    m = train_from_config(dict(cfg, resume=True))                     # no AttributeError ('StepTimer' ... 'times')
    said = capsys.readouterr().out
    assert "is finished" in said and "redoing what its end did not write: the evaluation" in said, said
    assert (m["step"], m["g_iterations"], m["seconds_per_step"]) == (4, 4, None) and "training srrescycgan" not in said
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == m and set(metrics["validation"]) >= {"model", "bicubic", "zero_fill"}
    assert (out / "g_hr.keras").stat().st_mtime_ns == exported         # the export was complete: not redone
    assert json.loads((out / "checkpoints" / "state.json").read_text())["step"] == 4

    assert train_from_config(dict(cfg, resume=True)) == metrics       # complete: nothing to redo
    assert "nothing to redo" in capsys.readouterr().out


def test_paper_settings_are_the_papers():
    "TrainConfig.paper(): RaGAN, lambda_adv 1, VGG19 perceptual loss that needs ImageNet weights (random only by name)."
    from srgan_course.train import TrainConfig
    from srgan_course.losses import VGG19_WEIGHTS_FILE
    c = TrainConfig.paper()
    assert (c.gan_kind, c.lambda_adv, c.lambda_perceptual, c.lambda_content, c.lambda_cycle) == ("ragan", 1.0, 1.0, 10.0, 10.0)
    assert (c.learning_rate, c.milestones, c.batch_size, c.hr_patch // c.scale, c.warmup_steps) == (1e-4, (5000, 10000, 20000, 30000), 16, 32, 0)
    with pytest.raises(ValueError, match="--perceptual-weights") as info:
        c.validate()
    assert VGG19_WEIGHTS_FILE in str(info.value) and "random" in str(info.value)
    with pytest.raises(ValueError, match="no such file"):
        TrainConfig.paper(perceptual_weights="/nowhere/vgg19.h5").validate()
    assert TrainConfig.paper(perceptual_weights="random").validate().gan_kind == "ragan"
    TrainConfig.paper(lambda_perceptual=0.0).validate()
    TrainConfig(lambda_perceptual=1.0, paired=False).validate()   # unpaired: the term is off, nothing to load


def test_cli_perceptual_without_weights_is_one_line(tmp_path):
    "srgan-course train --paper without a VGG19 file: exit 2, one line naming --perceptual-weights and the file, no run folder."
    from srgan_course.losses import VGG19_WEIGHTS_FILE
    cli = [sys.executable, "-c", "from srgan_course.cli import main; raise SystemExit(main())"]
    r = subprocess.run([*cli, "train", "--paper", "--out", str(tmp_path / "run")], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("srgan-course: error: --lambda-perceptual 1"), r.stderr[-2000:]
    assert "--perceptual-weights" in lines[0] and VGG19_WEIGHTS_FILE in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()
    r = subprocess.run([*cli, "train", "--lambda-perceptual", "1", "--perceptual-weights", str(tmp_path / "vgg.h5")],
                       cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize("flags", [["--ablation", "content"], ["--unpaired"]])
def test_cli_feature_matching_without_d_hr_or_pairs_is_one_line(tmp_path, flags):
    "--lambda-fm needs D_HR and each SR's own HR: without them, exit 2, one line naming --lambda-fm, no run folder."
    cli = [sys.executable, "-c", "from srgan_course.cli import main; raise SystemExit(main())"]
    r = subprocess.run([*cli, "train", "--lambda-fm", "1", *flags, "--out", str(tmp_path / "run")], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "--lambda-fm" in lines[0] and "D_HR" in lines[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr and not (tmp_path / "run").exists()


def test_cli_feature_matching_with_a_scanners_unpaired_lr_is_one_line(tmp_path):
    "--lambda-fm with --unpaired-lr (D_HR then judges the scanner's images, which have no HR): exit 2, one line, no run folder."
    cli = [sys.executable, "-c", "from srgan_course.cli import main; raise SystemExit(main())"]
    subprocess.run([*cli, "demo-data", str(tmp_path / "d"), "--volumes", "2"], cwd=ROOT, env=ENV, check=True, capture_output=True)
    r = subprocess.run([*cli, "train", "--data", str(tmp_path / "d"), "--unpaired-lr", str(tmp_path / "d"), "--lambda-fm", "1",
                        "--steps", "2", "--out", str(tmp_path / "run")], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    lines = [x for x in r.stderr.strip().splitlines() if x.startswith("srgan-course")]
    assert r.returncode == 2 and len(lines) == 1 and "--lambda-fm" in lines[0] and "--unpaired-lr" in lines[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr and not (tmp_path / "run").exists()


def test_feature_matching_with_unpaired_lr_is_refused_by_the_config():
    "TrainConfig.checks itself refuses --lambda-fm with --unpaired-lr, before any data is read or network built."
    from srgan_course.model import FM_WITH_UNPAIRED_LR
    from srgan_course.train import TrainConfig
    cfg = TrainConfig(unpaired_lr="scanner", lambda_fm=1.0, ablation="srrescycgan")
    assert [msg for ok, msg in cfg.checks() if not ok] == [FM_WITH_UNPAIRED_LR]
    assert all(ok for ok, _ in dataclasses.replace(cfg, lambda_fm=0.0).checks())


def test_content_model_beats_zero_fill_on_held_out_phantoms():
    "CI-sized claim: a content-only G_HR trained briefly on demo phantoms beats zero-fill on phantoms of other subjects (seed)."
    import keras
    from srgan_course.train import TrainConfig, cached_demo_volumes, make_datasets
    from srgan_course.model import build_model
    from srgan_course.generators import Upscaler
    from srgan_course.evaluate import evaluate_model
    keras.utils.set_random_seed(0)
    cfg = TrainConfig(ablation="content", hr_patch=32, batch_size=8, width=16, num_blocks=2, val_batches=1)
    train_paths = cached_demo_volumes(2, seed=0, slices=4)
    held_out = cached_demo_volumes(2, seed=1000, slices=4)     # other subjects: never seen in training
    train_ds, _ = make_datasets(cfg, train_paths, held_out)
    model = build_model(cfg)
    model.fit(train_ds, epochs=1, steps_per_epoch=200, verbose=0, shuffle=False)
    res = evaluate_model(held_out, weights=Upscaler(model.g_hr), scale=4)  # fastMRI PSNR on whole held-out slices
    print({m: round(res[m]["psnr"], 2) for m in ("model", "zero_fill", "bicubic")})
    assert res["model"]["psnr"] > res["zero_fill"]["psnr"] + 0.2, res    # measured: 29.69 vs 29.31 dB (bicubic 29.06) after 200 steps
    assert res["model"]["psnr"] > res["bicubic"]["psnr"] + 0.2, res


def test_init_g_hr_fine_tunes_the_shipped_weights(tmp_path, capsys):
    "--init-g-hr shipped: G_HR starts as the shipped ×4 network (a step at a negligible rate leaves it there); a mismatch is one line."
    import numpy as np
    from srgan_course.evaluate import load_generator
    from srgan_course.train import train_from_config
    from clitools import run
    shipped = dict(width=48, num_blocks=4, projection=False, scale=4)
    cfg = dict(TINY, **shipped, out=str(tmp_path / "ft"), steps=1, warmup_steps=0, ablation="srgan", init_g_hr="shipped",
               learning_rate=1e-12, d_learning_rate=1e-3, lambda_adv=1.0, gan_kind="ragan")
    train_from_config(cfg)
    tuned, start = load_generator(tmp_path / "ft", 4), load_generator(None, 4)
    assert max(float(np.abs(a - b).max()) for a, b in zip(tuned.get_weights(), start.get_weights())) < 1e-6
    code, out, err = run(capsys, "train", "--init-g-hr", "shipped", "--width", 8, "--steps", 1, "--out", tmp_path / "bad")
    assert code == 2 and "--init-g-hr shipped" in err and "--width" in err and "Traceback" not in err, err
    assert not (tmp_path / "bad").exists()   # the failed run leaves nothing behind
    code, _, err = run(capsys, "train", "--init-g-hr", tmp_path / "nowhere.keras", "--steps", 1)
    assert code == 2 and "no such file" in err and len(err.strip().splitlines()) == 1, err


def test_g_ema_exports_the_moving_average_and_a_resume_exports_it_again(tmp_path):
    """--g-ema leaves training as it is and ends G as the moving average Adam kept beside its weights: with momentum
    0.5, after 3 steps, a3 = (a2 + w3) / 2 with a2 = (w1 + w2) / 2 and a1 = w1, where wk are G_HR's weights after step k
    of the same run without the average (--seed makes the two runs one trajectory). A finished run resumed to redo a
    lost export exports the same average (the checkpoint holds it)."""
    import keras
    import numpy as np
    from srgan_course.evaluate import load_generator
    from srgan_course.train import train_from_config

    class Snapshots(keras.callbacks.Callback):
        "G_HR's weights after every training step."
        def __init__(self): super().__init__(); self.w = []
        def on_train_batch_end(self, batch, logs=None): self.w.append(self.model.g_hr.get_weights())

    base = dict(TINY, checkpoint_every=1, val_every=1, warmup_steps=0)
    close = lambda a, b: all(np.allclose(x, y, rtol=0, atol=1e-6) for x, y in zip(a, b))
    plain, averaged = Snapshots(), Snapshots()
    train_from_config(dict(base, steps=3, out=str(tmp_path / "plain")), callbacks=[plain])
    w = dict(enumerate(plain.w, start=1))
    assert len(w) == 3 and close(load_generator(tmp_path / "plain").get_weights(), w[3])   # without it: the last step
    train_from_config(dict(base, steps=3, out=str(tmp_path / "average"), g_ema=0.5), callbacks=[averaged])
    assert len(averaged.w) == 3 and all(close(a, b) for a, b in zip(averaged.w, plain.w))   # training as it was
    average = load_generator(tmp_path / "average").get_weights()
    expected = [((a + b) / 2 + c) / 2 for a, b, c in zip(w[1], w[2], w[3])]
    assert close(average, expected) and not close(average, w[3]) and not close(w[2], w[3])
    (tmp_path / "average" / "g_hr.keras").unlink()
    (tmp_path / "average" / "metrics.json").unlink()
    train_from_config(dict(base, steps=3, out=str(tmp_path / "average"), g_ema=0.5, resume=True))
    assert close(load_generator(tmp_path / "average").get_weights(), expected)
    for switched in (0.0, 0.9):   # the checkpoint keeps the average of one momentum: a resume may not switch it
        with pytest.raises(ValueError, match=r"trained with --g-ema 0\.5, not "):
            train_from_config(dict(base, steps=4, out=str(tmp_path / "average"), g_ema=switched, resume=True))
