"""What a careless or hostile user meets (issue 22): no traceback, no silent wrong output, no lost data.

Each test reproduces one case of the issue at CI size and checks the promised answer: one line naming the
file and exit 2, an output that keeps the input's values, or a refusal that leaves the user's files as they
were. The command line runs in-process through `cli.main` (a subprocess would start TensorFlow each time).
"""
import warnings
import os, signal

import h5py
import nibabel as nib
from pathlib import Path
import numpy as np
import pytest

from clitools import run
from srgan_course import cli, data, dicom, formats, pipeline




def one_line(code, err, expected, exit_code=2):
    "Exit `exit_code`, exactly one error line naming `expected`, no traceback."
    errors = [l for l in err.splitlines() if l.startswith("srgan-course: error:")]
    assert code == exit_code and len(errors) == 1 and expected in errors[0] and "Traceback" not in err, (code, err)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "An untrained tiny ×4 G_HR saved as .keras."
    from srgan_course.generators import build_g_hr
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    build_g_hr(channels=1, scale=4, width=8, num_blocks=1).save(path)
    return path


def small_volumes(folder, names, seed=0):
    "Tiny fastMRI files (2 slices of 32×32, measured k-space), one subject each."
    folder.mkdir(parents=True, exist_ok=True)
    kspace = data.fft2c(np.random.default_rng(seed).random((2, 32, 32)))
    return [data.write_volume(folder / f"{n}.h5", kspace, patient_id=n, crop=(32, 32)) for n in names]


# --- lost data ---------------------------------------------------------------------------------------------

def test_upscale_never_writes_over_its_input(tmp_path, capsys, tiny):
    np.save(tmp_path / "x.npy", np.random.rand(16, 16))
    nib.save(nib.Nifti1Image(np.random.rand(16, 16, 2).astype(np.float32), np.eye(4)), tmp_path / "v.nii.gz")
    for name in ("x.npy", "v.nii.gz"):
        before = (tmp_path / name).read_bytes()
        one_line(*run(capsys, "upscale", tmp_path / name, "--out", tmp_path / name, "--weights", tiny)[::2], "is the input")
        assert (tmp_path / name).read_bytes() == before


def test_upscale_into_a_folder_is_refused_without_leftovers(tmp_path, capsys, tiny):
    np.save(tmp_path / "x.npy", np.random.rand(16, 16))
    (tmp_path / "outdir.npy").mkdir()
    one_line(*run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "outdir.npy", "--weights", tiny)[::2], "is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outdir.npy", "x.npy"]


def test_import_never_replaces_a_file_without_overwrite(tmp_path, capsys):
    np.save(tmp_path / "scan.npy", np.random.rand(2, 16, 16))
    assert run(capsys, "import", tmp_path / "scan.npy", tmp_path / "h5")[0] == 0
    np.save(tmp_path / "scan.npy", np.random.rand(2, 20, 20))   # a different scan of the same name
    before = (tmp_path / "h5" / "scan.h5").read_bytes()
    one_line(*run(capsys, "import", tmp_path / "scan.npy", tmp_path / "h5")[::2], "--overwrite")
    assert (tmp_path / "h5" / "scan.h5").read_bytes() == before and len(list((tmp_path / "h5").iterdir())) == 1
    assert run(capsys, "import", tmp_path / "scan.npy", tmp_path / "h5", "--overwrite")[0] == 0
    assert data.read_volume(tmp_path / "h5" / "scan.h5").target.shape == (2, 20, 20)


def test_train_refuses_a_folder_holding_other_files(tmp_path):
    from srgan_course.train import run_folder, TrainConfig
    user = tmp_path / "mine"
    user.mkdir()
    for name in ("g_hr.keras", "config.json", "metrics.json", "samples.png"): (user / name).write_text(name)
    with pytest.raises(ValueError, match="not empty"): run_folder(TrainConfig(out=str(user)))
    assert all((user / n).read_text() == n for n in ("g_hr.keras", "config.json", "metrics.json", "samples.png"))
    assert run_folder(TrainConfig(out=str(tmp_path / "new"))).is_dir()   # a new folder is fine


def test_failed_train_leaves_no_folder_and_names_a_file_given_as_data(tmp_path):
    from srgan_course.train import train_from_config
    (path,) = small_volumes(tmp_path / "d", ["a"])
    with pytest.raises(NotADirectoryError, match="is a file; expected a folder"):
        train_from_config(dict(data=str(path), out=str(tmp_path / "run")))
    assert not (tmp_path / "run").exists()


def test_failed_train_keeps_the_users_own_empty_folder(tmp_path):
    "A run that fails in a folder the user made (empty): the folder stays, everything the run wrote in it goes."
    from srgan_course.train import train_from_config
    (path,) = small_volumes(tmp_path / "d", ["a"])
    mine = tmp_path / "mine"; mine.mkdir()
    with pytest.raises(NotADirectoryError, match="is a file; expected a folder"):
        train_from_config(dict(data=str(path), out=str(mine)))
    assert mine.is_dir() and not any(mine.iterdir())


def test_failed_train_removes_what_it_wrote_in_the_users_folder(tmp_path, monkeypatch):
    "A fresh run that fails after writing (its logs, a config) and before a checkpoint: the user's folder stays, empty."
    import srgan_course.train as train
    (path,) = small_volumes(tmp_path / "d", ["a"])
    mine = tmp_path / "mine"; mine.mkdir()
    def fails_after_writing(cfg, run_dir):
        (Path(run_dir) / "logs").mkdir(); (Path(run_dir) / "logs" / "events").write_text("x")
        (Path(run_dir) / "config.json").write_text("{}")
        raise RuntimeError("failed after writing")
    monkeypatch.setattr(train, "prepare_volumes", fails_after_writing)
    with pytest.raises(RuntimeError, match="failed after writing"):
        train.train_from_config(dict(data=str(path.parent), out=str(mine)))
    assert mine.is_dir() and not any(mine.iterdir()), sorted(mine.iterdir())


# --- tracebacks --------------------------------------------------------------------------------------------

@pytest.fixture
def truncated(tmp_path):
    "A .nii.gz cut in half: its header reads, its data does not."
    nib.save(nib.Nifti1Image(np.random.rand(32, 32, 8).astype(np.float32), np.eye(4)), tmp_path / "a.nii.gz")
    b = (tmp_path / "a.nii.gz").read_bytes()
    (tmp_path / "t.nii.gz").write_bytes(b[: len(b) // 2])
    return tmp_path / "t.nii.gz"


def test_truncated_nifti_is_one_line_in_import_and_upscale(truncated, capsys, tiny):
    one_line(*run(capsys, "import", truncated, truncated.parent / "h5")[::2], "t.nii.gz: cannot read the NIfTI image data")
    assert not (truncated.parent / "h5").exists()
    code, _, err = run(capsys, "upscale", truncated, "--out", truncated.parent / "o.nii.gz", "--weights", tiny)
    one_line(code, err, "t.nii.gz")
    assert not any(p.name.startswith(".") for p in truncated.parent.iterdir())


def test_truncated_png_is_one_line(tmp_path, capsys, tiny):
    from PIL import Image
    Image.fromarray((np.random.rand(64, 64) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    b = (tmp_path / "a.png").read_bytes()
    (tmp_path / "t.png").write_bytes(b[: len(b) // 2])
    one_line(*run(capsys, "upscale", tmp_path / "t.png", "--out", tmp_path / "o.png", "--weights", tiny)[::2], "t.png")


# --- silent wrong output -----------------------------------------------------------------------------------

def test_16_bit_png_and_tiff_keep_their_depth(tmp_path, capsys, tiny):
    from PIL import Image
    x = (np.random.default_rng(0).random((16, 16)) * 60000).astype(np.uint16)
    for name in ("a16.png", "a16.tif"):
        Image.fromarray(x).save(tmp_path / name)
        assert run(capsys, "upscale", tmp_path / name, "--out", tmp_path / f"sr_{name}", "--weights", tiny)[0] == 0
        sr = np.asarray(Image.open(tmp_path / f"sr_{name}"))
        assert sr.dtype == np.uint16 and sr.shape == (64, 64) and sr.max() > 255


def test_images_are_read_as_import_reads_them(tmp_path, capsys, tiny):
    from PIL import Image
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).save(tmp_path / "colour.png")
    Image.fromarray((rng.random((16, 16)) * 255).astype(np.uint8)).convert("P").save(tmp_path / "palette.png")
    for name in ("colour.png", "palette.png"):   # refused, as import refuses them
        one_line(*run(capsys, "upscale", tmp_path / name, "--out", tmp_path / f"o_{name}", "--weights", tiny)[::2], name)
    pages = [Image.fromarray((rng.random((16, 16)) * 200).astype(np.uint8)) for _ in range(3)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    assert run(capsys, "upscale", tmp_path / "pages.tif", "--out", tmp_path / "o_pages.tif", "--weights", tiny)[0] == 0
    assert Image.open(tmp_path / "o_pages.tif").n_frames == 3   # every page, not only the first
    Image.fromarray((rng.random((16, 16)) * 5000 + 1000).astype(np.float32)).save(tmp_path / "float.tif")
    assert run(capsys, "upscale", tmp_path / "float.tif", "--out", tmp_path / "o_float.tif", "--weights", tiny)[0] == 0
    out = np.asarray(Image.open(tmp_path / "o_float.tif"))
    assert out.dtype == np.float32 and out.max() > 1000   # not clipped to 0..255


def test_dicom_with_rescale_intercept_keeps_its_values(tmp_path, capsys, tiny):
    image = np.full((2, 16, 16), -1000.0)   # CT-style storage: the background at -1000
    image[:, 4:12, 4:12] = 300.0
    dicom.write_dicom_series(tmp_path / "ct", image, rescale=(1.0, -1024.0))
    code, _, err = run(capsys, "upscale", tmp_path / "ct", "--out", tmp_path / "sr", "--weights", tiny)
    assert code == 0 and "negative values" in err, err
    sr = formats.read_scan(tmp_path / "sr").image
    assert sr.shape == (2, 64, 64) and sr.min() < -900 and sr.max() > 200, (sr.min(), sr.max())   # not a blank series


def test_values_beyond_float32_are_refused(tmp_path, capsys, tiny):
    for name, value in (("huge.npy", 1e300), ("tiny.npy", 1e-300)):
        np.save(tmp_path / name, np.ones((16, 16)) * value)
        one_line(*run(capsys, "upscale", tmp_path / name, "--out", tmp_path / f"o_{name}", "--weights", tiny)[::2], name)
        one_line(*run(capsys, "import", tmp_path / name, tmp_path / "h5")[::2], name)


def test_an_all_negative_image_stays_negative_with_a_note(tmp_path, capsys, tiny):
    np.save(tmp_path / "neg.npy", -1 - np.random.default_rng(2).random((16, 16)))
    code, _, err = run(capsys, "upscale", tmp_path / "neg.npy", "--out", tmp_path / "o.npy", "--weights", tiny)
    assert code == 0 and "negative values" in err, err
    sr = np.load(tmp_path / "o.npy")
    assert sr.max() < 0 and -2.5 < sr.min()


def test_dicom_without_pixel_spacing_says_what_it_assumed(tmp_path, capsys, tiny):
    import pydicom
    (path,) = dicom.write_dicom_series(tmp_path / "d", np.random.default_rng(3).random((1, 16, 16)) * 1000)
    ds = pydicom.dcmread(path)
    del ds.PixelSpacing
    ds.save_as(path)
    code, _, err = run(capsys, "upscale", path, "--out", tmp_path / "o.dcm", "--weights", tiny)
    assert code == 0 and "no PixelSpacing" in err, err
    assert "PixelSpacing" not in pydicom.dcmread(tmp_path / "o.dcm")   # no invented spacing written


# --- bad data found where it is read -----------------------------------------------------------------------

def test_bad_kspace_is_skipped_and_named_once(tmp_path, capsys, tiny):
    paths = small_volumes(tmp_path / "d", ["a", "b"])
    with h5py.File(paths[0], "a") as f: f["kspace"][1, 0, 0] = np.nan   # the target is fine, the k-space is not
    assert data.list_volumes(tmp_path / "d") == paths   # training reads targets up front, k-space where it uses it
    with pytest.warns(UserWarning, match="a.h5: 'kspace' of slice 1"):
        assert data.list_volumes(tmp_path / "d", check_kspace=True) == paths[1:]
    with pytest.warns(UserWarning, match="a.h5") as caught:   # evaluate skips it too, once, instead of aborting
        code, out, err = run(capsys, "evaluate", "--data", tmp_path / "d", "--weights", tiny, "--json")
    assert code == 0 and '"volumes": 1' in out and len([w for w in caught if "a.h5" in str(w.message)]) == 1, err
    line = cli._warning_line(caught[0].message, UserWarning, "data.py", 1, "warnings.warn(...)")
    assert line == f"srgan-course: warning: {caught[0].message}\n"   # one line, no Python source line


def test_bad_kspace_is_skipped_by_train(tmp_path):
    "The input pipeline skips a slice whose k-space is bad, names it once, and goes on with every other slice."
    paths = small_volumes(tmp_path / "d", ["a", "b"])
    with h5py.File(paths[0], "a") as f: f["kspace"][0, 3, 3] = np.inf
    ds = pipeline.make_dataset(paths, scale=2, hr_patch=16, batch_size=1, repeat=False, augment=False)
    with pytest.warns(UserWarning, match="a.h5: 'kspace' of slice 0") as caught:
        batches = sum(1 for _ in ds)
    assert batches == 3 and len([w for w in caught if "a.h5" in str(w.message)]) == 1   # 4 slices, one skipped
    with h5py.File(paths[1], "a") as f: f["kspace"][:, 0, 0] = np.nan
    with h5py.File(paths[0], "a") as f: f["kspace"][1, 0, 0] = np.nan
    with pytest.raises(Exception, match="every slice is unreadable"), warnings.catch_warnings():
        warnings.simplefilter("ignore"); list(pipeline.make_dataset(paths, scale=2, hr_patch=16, batch_size=1))


def test_unreadable_chunk_is_named(tmp_path):
    path = tmp_path / "z.h5"
    kspace = data.fft2c(np.random.default_rng(0).random((2, 32, 32))).astype(np.complex64)
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=kspace, chunks=(1, 32, 32), compression="gzip")
        f.create_dataset("reconstruction_esc", data=np.abs(data.ifft2c(kspace)).astype(np.float32))
        offset = f["kspace"].id.get_chunk_info(1).byte_offset
    with open(path, "r+b") as f: f.seek(offset + 8); f.write(b"\xff" * 64)   # corrupt the compressed chunk of slice 1
    with pytest.raises(data.DataError, match="z.h5: slice 1 cannot be read"): data.check_volume(path, check_kspace=True)
    with pytest.raises(data.DataError, match="z.h5: slice 1 cannot be read"):
        pipeline.read_pair(data.check_volume(path), 1, 2)


# --- signals, bounds and messages --------------------------------------------------------------------------

def test_sigterm_exits_143_and_leaves_no_part_files(tmp_path, capsys, monkeypatch):
    np.save(tmp_path / "a.npy", np.random.rand(2, 16, 16))
    np.save(tmp_path / "b.npy", np.random.rand(2, 16, 16))
    real_write = formats.write_fastmri
    def write_then_terminate(path, *a, **k):
        real_write(path, *a, **k)
        os.kill(os.getpid(), signal.SIGTERM)   # arrives after the first file's .part is written
    monkeypatch.setattr(formats, "write_fastmri", write_then_terminate)
    code, _, err = run(capsys, "import", tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "h5")
    one_line(code, err, "interrupted (SIGTERM)", exit_code=143)
    assert not (tmp_path / "h5").exists()
    assert signal.getsignal(signal.SIGTERM) is not cli.sigterm_as_interrupt   # the handler is restored


def test_interrupted_train_exits_with_the_signal_code(monkeypatch, capsys):
    from srgan_course import train
    for name, expected in (("SIGTERM", 143), ("SIGINT", 130)):
        monkeypatch.setattr(train, "train_from_config", lambda args, name=name: dict(interrupted=True, signal=name, step=7))
        with pytest.raises(SystemExit) as e: cli.cmd_train(None)
        assert e.value.code == expected and "--resume" in capsys.readouterr().err


def test_small_cases_get_clear_lines(tmp_path, capsys, tiny, monkeypatch):
    from srgan_course import phantoms
    monkeypatch.setattr(phantoms, "make_demo_data", lambda *a, **k: pytest.fail("demo-data started writing"))
    one_line(*run(capsys, "demo-data", tmp_path / "d", "--volumes", 1000000000)[::2], "--volumes must be 1..")
    assert not (tmp_path / "d").exists()
    small_volumes(tmp_path / "v", ["a"])
    one_line(*run(capsys, "evaluate", "--data", tmp_path / "v", "--noise", "-1", "--weights", tiny)[::2], "--noise must be >= 0")
    for bad in ("1.5", "-0.1"):
        one_line(*run(capsys, "train", "--data", tmp_path / "v", "--contrast", bad, "--out", tmp_path / "r")[::2],
                 "--contrast must be a share between 0 and 1")
    assert not (tmp_path / "r").exists()
    (tmp_path / "fake.keras").write_text("not a model")
    np.save(tmp_path / "x.npy", np.random.rand(16, 16))
    code, _, err = run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "o.npy", "--weights", tmp_path / "fake.keras")
    one_line(code, err, "not a Keras model")
    assert "File not found" not in err
    code, _, err = run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "o.npy", "--scale", "0")
    one_line(code, err, "--scale must be 2 or more")
    assert "train --scale 0" not in err


# --- large slices by tiles ---------------------------------------------------------------------------------

def test_tiled_upscale_is_seamless(tmp_path, capsys, tiny):
    from srgan_course.generators import Upscaler
    from srgan_course.evaluate import load_generator
    g = load_generator(tiny)
    x = np.random.default_rng(5).random((2, 70, 53)).astype(np.float32)   # ragged tiles at the edges
    whole, tiled = Upscaler(g, tile=0)(x), Upscaler(g, tile=24)(x)
    assert tiled.shape == (2, 280, 212) and np.abs(tiled - whole).max() < 1e-4
    np.save(tmp_path / "x.npy", x[0] * 100)
    assert run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "t.npy", "--weights", tiny, "--tile", 16)[0] == 0
    assert run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "w.npy", "--weights", tiny, "--tile", 0)[0] == 0
    assert np.abs(np.load(tmp_path / "t.npy") - np.load(tmp_path / "w.npy")).max() < 1e-2   # 1e-4 of the range 100
    one_line(*run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "n.npy", "--weights", tiny, "--tile", -1)[::2], "--tile")


@pytest.mark.parametrize("scale", [4, 2])
def test_tiled_upscale_is_seamless_with_the_shipped_weights(scale):
    "The shipped G_HR's base is zero-fill, one FFT of the whole slice: tiling must not cut it (it did: 3 % seams)."
    from srgan_course.generators import Upscaler
    from srgan_course.evaluate import load_generator
    g = load_generator(scale=scale)
    x = np.random.default_rng(6).random((1, 60, 52)).astype(np.float32)
    whole, tiled = Upscaler(g, tile=0)(x), Upscaler(g, tile=20)(x)
    assert np.abs(tiled - whole).max() < 1e-4, np.abs(tiled - whole).max()


def test_import_errors_name_the_input_not_a_temporary_file(tmp_path, capsys):
    np.save(tmp_path / "blank.npy", np.zeros((2, 16, 16)))
    code, _, err = run(capsys, "import", tmp_path / "blank.npy", tmp_path / "h5")
    one_line(code, err, "blank.npy: image is all zeros")
    assert ".part" not in err and not (tmp_path / "h5").exists()


def test_upscale_never_replaces_an_existing_output(tmp_path, capsys, tiny):
    "An existing --out that is not the input is refused, before any work; --overwrite replaces it."
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((16, 16)))
    np.save(tmp_path / "mine.npy", np.ones(3))
    code, _, err = run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "mine.npy", "--weights", tiny, "--adapt", "30")
    one_line(code, err, "mine.npy: exists; pass --overwrite")
    assert np.load(tmp_path / "mine.npy").shape == (3,)
    assert run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / "mine.npy", "--weights", tiny, "--overwrite")[0] == 0
    assert np.load(tmp_path / "mine.npy").shape == (64, 64)
