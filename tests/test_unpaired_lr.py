"""`srgan-course train --unpaired-lr DIR` (issue 20): a scanner's own LR scans, never paired with HR, for G_LR and D_LR.

The folder's reader on every format family `import` reads, the patch stream (shape, range, seed, one scan in memory at a
time), the training batches ((lr, lr_target), hr), the configuration checks, every bad folder as one line through the
command line with nothing left behind, and one short run end to end.
"""
import argparse, json, weakref

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from clitools import run
from srgan_course import data, dicom, formats, train

TINY = ["--hr-patch", "32", "--batch-size", "2", "--width", "8", "--num-blocks", "1", "--d-width", "8",
        "--warmup-steps", "0", "--demo-volumes", "2", "--demo-slices", "4", "--val-every", "3", "--val-batches", "1",
        "--sample-every", "1000", "--log-every", "1000", "--verbose", "0"]




def one_line(code, err, *expected):
    "Exit 2, exactly one error line holding every `expected` text, no traceback."
    errors = [l for l in err.splitlines() if l.startswith("srgan-course: error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, (code, err)
    assert all(e in errors[0] for e in expected), (expected, errors[0])


def scans_of_every_kind(folder, rng):
    "One LR scan of each format family, 16×16 slices of distinct random values; {name: its slices in original units}."
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    stack = rng.uniform(1, 500, (3, 16, 16)).astype(np.float32)
    np.save(folder / "a_stack.npy", stack); made["a_stack.npy"] = stack
    one = rng.uniform(0, 2, (16, 16)).astype(np.float32)
    np.save(folder / "b_slice.npy", one); made["b_slice.npy"] = one[None]
    png = rng.integers(1, 65535, (16, 16)).astype(np.uint16)
    Image.fromarray(png).save(folder / "c_16bit.png"); made["c_16bit.png"] = png[None].astype(np.float32)
    vol = rng.uniform(0, 3000, (16, 16, 2)).astype(np.float32)  # NIfTI (d0, d1, d2): the slices run along d2
    nib.save(nib.Nifti1Image(vol, np.eye(4)), folder / "d_t1.nii.gz"); made["d_t1.nii.gz"] = np.moveaxis(vol, 2, 0)
    series = np.round(rng.uniform(1, 4000, (2, 16, 16))).astype(np.float32)
    dicom.write_dicom_series(folder / "e_series", series); made["e_series"] = series
    target = rng.uniform(0, 1e-4, (2, 16, 16)).astype(np.float32)  # fastMRI units; its k-space is a different array
    formats.write_fastmri(folder / "f_fastmri.h5", target); made["f_fastmri.h5"] = target
    return made


@pytest.fixture
def kinds(tmp_path):
    return tmp_path / "lr", scans_of_every_kind(tmp_path / "lr", np.random.default_rng(0))


def test_every_format_family_is_read_and_normalised_by_its_own_maximum(kinds):
    folder, made = kinds
    (folder / ".DS_Store").write_text("hidden: skipped")
    scans = train.unpaired_lr_scans(folder, lr_patch=16)
    assert [p.name for p in scans] == sorted(made)    # files and a series folder, sorted, the hidden file skipped
    expected = [(name, s / made[name].max()) for name in sorted(made) for s in made[name]]
    assert len(expected) == 11
    # patch = the whole slice, no augmentation: each patch must be a slice of one scan divided by that scan's maximum
    batches = iter(train.unpaired_lr_dataset(scans, 16, batch_size=11, seed=0, augment=False))
    seen, first_batch_scans = set(), None
    for _ in range(20):
        batch = next(batches).numpy()[..., 0]
        found = [min(range(len(expected)), key=lambda j: np.abs(p - expected[j][1]).max()) for p in batch]
        assert all(np.abs(p - expected[j][1]).max() < 1e-5 for p, j in zip(batch, found)), found
        first_batch_scans = first_batch_scans or {expected[j][0] for j in found}
        seen |= set(found)
        if len(seen) == len(expected): break
    assert seen == set(range(len(expected)))     # every slice of every format family, as read and normalised
    assert len(first_batch_scans) >= 3, first_batch_scans  # the shuffle mixes scans within a batch


def test_patches_shape_range_and_seed(kinds):
    folder, _ = kinds
    scans = train.unpaired_lr_scans(folder, lr_patch=8)
    first = lambda seed: next(iter(train.unpaired_lr_dataset(scans, 8, batch_size=32, seed=seed))).numpy()
    a = first(0)
    assert a.shape == (32, 8, 8, 1) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1 and a.max() > 0.9              # normalised, not the scans' own units
    np.testing.assert_array_equal(first(0), a)                          # a seed fixes order, crops, flips and shuffle
    assert np.abs(first(1) - a).max() > 0.1


def test_one_scan_in_memory_at_a_time(kinds, monkeypatch):
    "Checking the folder and streaming it read one scan at a time: each scan read before is gone when the next is read."
    folder, made = kinds
    alive, reads, overlap = [], [], []
    real_scan, real_read = train._lr_scan, formats.read_scan
    def watched(path):   # no ndarray is in a reference cycle: reference counting frees a scan as soon as it is let go
        overlap.append(sum(r() is not None for r in alive))
        image = real_scan(path)
        alive.append(weakref.ref(image))
        return image
    def counted(path, *a, **k):
        reads.append(path); return real_read(path, *a, **k)
    monkeypatch.setattr(train, "_lr_scan", watched)
    monkeypatch.setattr(formats, "read_scan", counted)
    scans = train.unpaired_lr_scans(folder, lr_patch=8)
    assert len(reads) == len(made) and max(overlap) == 0
    stream = train._lr_slices(scans, seed=0)
    reads.clear()
    first = next(stream)
    assert len(reads) == 1                        # the first slice needs one scan, not the folder
    n = len(made[reads[0].name])
    rest = [next(stream) for _ in range(n - 1)]   # the rest of that scan: no other read
    assert len(reads) == 1 and all(s.base is None for s in [first, *rest])  # copies: no slice keeps its scan alive
    next(stream)
    assert len(reads) == 2 and reads[1] != reads[0]
    stream.close()
    overlap.clear()
    for _ in zip(range(3), iter(train.unpaired_lr_dataset(scans, 8, batch_size=64, seed=0))): pass  # through tf.data
    assert overlap and max(overlap) == 0, overlap


def test_training_batches_add_the_scanners_patches(tmp_path):
    "((lr, lr_target), hr): the paired patches as before, lr_target cut from the folder; validation unchanged."
    rng = np.random.default_rng(1)
    folder = tmp_path / "lr"; folder.mkdir()
    slices = [rng.uniform(0.5, 1, (12, 12)).astype(np.float32) for _ in range(2)]
    for k, s in enumerate(slices): np.save(folder / f"s{k}.npy", s)
    (tmp_path / "p").mkdir()
    kspace = data.fft2c(rng.random((2, 64, 64)))
    pairs = data.write_volume(tmp_path / "p" / "a.h5", kspace, patient_id="a", crop=(64, 64))
    cfg = train.TrainConfig(hr_patch=32, batch_size=4, val_batches=1, unpaired_lr=str(folder))
    tr, va = train.make_datasets(cfg, [pairs], [pairs])
    (lr, lr_target), hr = next(iter(tr))
    assert (lr.shape, lr_target.shape, hr.shape) == ((4, 8, 8, 1), (4, 8, 8, 1), (4, 32, 32, 1))
    (lr_spec, target_spec), _ = tr.element_spec
    assert target_spec.shape.as_list()[1:] == lr_spec.shape.as_list()[1:] == [8, 8, 1]   # static patch shapes, as lr's
    windows = [np.rot90(w, k)[::f] for s in slices for y in range(5) for x in range(5)
               for w in [s[y:y + 8, x:x + 8] / s.max()] for k in range(4) for f in (1, -1)]
    for p in lr_target.numpy()[..., 0]:   # each an 8×8 window (rotated / flipped) of a normalised slice of the folder
        assert min(np.abs(p - w).max() for w in windows) < 1e-6
    v = next(iter(va))
    assert len(v) == 2 and v[0].shape == (4, 8, 8, 1) and v[1].shape == (4, 32, 32, 1)


def test_a_scan_smaller_than_the_patch_is_skipped_with_a_warning(tmp_path):
    folder = tmp_path / "lr"; folder.mkdir()
    np.save(folder / "big.npy", np.random.rand(2, 20, 20)); np.save(folder / "tiny.npy", np.random.rand(2, 6, 30))
    with pytest.warns(UserWarning, match=r"skipping tiny.npy: its slices are 6×30, smaller than the LR patch 8×8"):
        assert [p.name for p in train.unpaired_lr_scans(folder, lr_patch=8)] == ["big.npy"]


def test_configuration_checks_name_the_flag():
    for kw, expected in [(dict(ablation="srgan"), "use --ablation srrescycgan"),
                         (dict(ablation="content"), "not 'content'"),
                         (dict(paired=False), "--unpaired / --no-paired"), (dict(unpaired_lr=""), "needs a folder")]:
        with pytest.raises(ValueError, match="--unpaired-lr") as e:
            train.TrainConfig(**{"unpaired_lr": "d", **kw}).validate()
        assert expected in str(e.value), e.value
    assert train.TrainConfig(unpaired_lr="d").validate().unpaired_lr == "d"
    assert "--unpaired-lr" in train.add_train_arguments(argparse.ArgumentParser()).format_help()
    assert "never paired" in train.config_help()["unpaired_lr"]


@pytest.fixture
def no_training(monkeypatch):
    "Fail the test if the run gets as far as its data or its model: the folder must be checked before."
    started = lambda *a, **k: pytest.fail("the run started before --unpaired-lr was checked")
    monkeypatch.setattr(train, "prepare_volumes", started)


def test_bad_folders_are_one_line_and_leave_nothing(tmp_path, capsys, no_training):
    good = tmp_path / "good.npy"; np.save(good, np.random.rand(2, 16, 16))
    (tmp_path / "empty").mkdir()
    (tmp_path / "hidden_only").mkdir(); np.save(tmp_path / "hidden_only" / ".x.npy", np.random.rand(16, 16))
    (tmp_path / "text").mkdir(); np.save(tmp_path / "text" / "a.npy", np.random.rand(16, 16))
    (tmp_path / "text" / "notes.txt").write_text("scanner settings")
    (tmp_path / "bad_npy").mkdir(); (tmp_path / "bad_npy" / "scan.npy").write_bytes(b"\x93NUMPY garbage")
    nib.save(nib.Nifti1Image(np.random.rand(32, 32, 8).astype(np.float32), np.eye(4)), tmp_path / "a.nii.gz")
    b = (tmp_path / "a.nii.gz").read_bytes()
    (tmp_path / "cut").mkdir(); (tmp_path / "cut" / "t.nii.gz").write_bytes(b[: len(b) // 2])
    (tmp_path / "zeros").mkdir(); np.save(tmp_path / "zeros" / "z.npy", np.zeros((16, 16)))
    (tmp_path / "small").mkdir(); np.save(tmp_path / "small" / "s.npy", np.random.rand(4, 4))
    cases = [("missing", "no such folder"), ("good.npy", "is a file; expected a folder"),
             ("empty", "no LR scan"), ("hidden_only", "no LR scan"),
             ("text", "notes.txt: unknown file type; expected NIfTI"),
             ("bad_npy", "scan.npy: not a readable .npy file"),
             ("cut", "t.nii.gz: cannot read the NIfTI image data"), ("zeros", "z.npy: its largest value is 0"),
             ("small", "no LR scan with slices of at least 8×8")]
    for name, expected in cases:
        code, _, err = run(capsys, "train", "--unpaired-lr", tmp_path / name, "--out", tmp_path / "run", *TINY)
        one_line(code, err, f"--unpaired-lr {tmp_path / name}", expected)
        assert not (tmp_path / "run").exists(), f"{name}: a run folder was left behind"
    out = tmp_path / "r"
    code, _, err = run(capsys, "train", "--unpaired-lr", tmp_path / "empty", "--ablation", "srgan", "--out", out)
    one_line(code, err, "--unpaired-lr needs the cycle")
    assert not out.exists()


def test_train_with_unpaired_lr_end_to_end(tmp_path, capsys, kinds):
    "A few steps from the command line: G_HR and metrics written, the scanner's terms (G_LR's degradation, D_LR) logged"
    folder, made = kinds
    out = tmp_path / "run"
    code, said, err = run(capsys, "train", "--unpaired-lr", folder, "--out", out, "--steps", "3", *TINY)
    assert code == 0, err[-3000:]
    assert f"and {len(made)} unpaired LR scan(s) from {folder}" in said, said
    from srgan_course.model import scanner_noise
    from srgan_course.train import _lr_scan, unpaired_lr_scans
    sigma = float(np.median([scanner_noise(_lr_scan(q)) for q in unpaired_lr_scans(folder, 8)]))  # G_LR's noise: the scans' own
    assert f"σ {sigma:.4f}" in said and sigma > 0, said
    assert (out / "g_hr.keras").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]
    assert metrics["step"] == 3
    assert {"degradation", "backward", "d_lr", "cycle", "content"} <= set(history), sorted(history)
    assert all(np.isfinite(v).all() for v in history.values())
    assert json.loads((out / "config.json").read_text())["unpaired_lr"] == str(folder)
    # resumed without the option, the networks would not match the checkpoint: one line, and the run is kept
    code, _, err = run(capsys, "train", "--resume", "--out", out, "--steps", "4", *TINY)
    one_line(code, err, f"was trained with --unpaired-lr {folder}; pass it again")
    assert json.loads((out / "checkpoints" / "state.json").read_text())["step"] == 3 and (out / "g_hr.keras").exists()
    # resumed with other networks (a wider G_HR): one line naming the flag to repeat
    code, _, err = run(capsys, "train", "--unpaired-lr", folder, "--resume", "--out", out, "--steps", "4", *TINY, "--width", "16")
    one_line(code, err, "was trained with --width 8, not 16; pass --width 8")
    # resumed as it was trained: the scanner's networks, G_LR's noise σ included, come back and the run goes on
    code, said, err = run(capsys, "train", "--unpaired-lr", folder, "--resume", "--out", out, "--steps", "4", *TINY)
    assert code == 0 and "resumed at step 3" in said, err[-3000:]
    assert json.loads((out / "metrics.json").read_text())["step"] == 4
