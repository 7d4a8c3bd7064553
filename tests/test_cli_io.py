"""`srgan-course import` and `upscale` on real-file formats, run as subprocesses the way a user runs them.

Round trips NIfTI -> h5 -> upscale -> NIfTI and DICOM -> h5 -> upscale -> DICOM: the h5 path and the
native-format path give the same super-resolved values, and the native output keeps the input's
geometry (affine / PixelSpacing / ImagePositionPatient checked numerically; a bright marker stays at the
same scanner coordinate). Bad input: exit 2, one line on stderr, no traceback, nothing written.
"""
import subprocess, sys

import nibabel as nib
import numpy as np
import pytest

from srgan_course import cli, data, dicom, formats


def run_cli(*argv):
    "Run `srgan-course` in a subprocess; (exit code, stdout, stderr)."
    r = subprocess.run([sys.executable, "-c", "from srgan_course.cli import main; raise SystemExit(main())", *map(str, argv)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def assert_one_line_error(code, err, expected):
    "Exit 2, exactly one error line (progress lines may precede it), naming `expected`, no traceback."
    errors = [l for l in err.splitlines() if l.startswith("srgan-course: error:")]
    assert code == 2 and len(errors) == 1 and expected in errors[0] and "Traceback" not in err, err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "An untrained tiny ×4 G_HR (k-space grid), saved as .keras."
    from srgan_course.generators import build_g_hr
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    build_g_hr(channels=1, scale=4, width=8, num_blocks=1).save(path)
    return path


def marker_volume(shape=(24, 28, 3), at=(11, 9, 1)):
    "Flat background and a Gaussian marker (σ = 1 voxel) centred on voxel `at`."
    i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    v = np.full(shape, 100.0, np.float32)
    v[:, :, at[2]] += 800 * np.exp(-((i - at[0]) ** 2 + (j - at[1]) ** 2) / 2)
    return v


def marker_mm(scan, k=1):
    "Scanner coordinate (mm) of the intensity-weighted marker centre in slice k of a Scan (slices along axis 2)."
    w = np.clip(scan.image[k] - np.median(scan.image[k]), 0, None)
    i, j = np.meshgrid(*map(np.arange, w.shape), indexing="ij")
    return (scan.affine @ [(w * i).sum() / w.sum(), (w * j).sum() / w.sum(), k, 1])[:3]


def test_nifti_import_upscale_roundtrip(tmp_path, tiny):
    A = np.eye(4); A[:3, :3] = np.array([[0.8, -0.3, 0], [0.3, 0.8, 0.1], [0, -0.1, 3.0]]); A[:3, 3] = (-30, 20, 10)
    nib.save(nib.Nifti1Image(marker_volume(), A), tmp_path / "t1.nii.gz")
    code, out, err = run_cli("import", tmp_path / "t1.nii.gz", tmp_path / "h5")
    assert code == 0 and "t1.h5" in out, err
    assert run_cli("upscale", tmp_path / "h5" / "t1.h5", "--out", tmp_path / "sr.h5", "--weights", tiny)[0] == 0
    code, _, err = run_cli("upscale", tmp_path / "t1.nii.gz", "--out", tmp_path / "sr.nii.gz", "--weights", tiny)
    assert code == 0, err
    via_h5, sr = data.read_volume(tmp_path / "sr.h5").target, formats.read_scan(tmp_path / "sr.nii.gz")
    np.testing.assert_allclose(sr.image, via_h5, rtol=1e-5, atol=1e-3)      # same values by either path
    expected = A.copy(); expected[:3, :2] /= 4                                # in-plane voxels /4, origin kept (k-space grid)
    np.testing.assert_allclose(sr.affine, expected, atol=1e-5)
    np.testing.assert_allclose(formats.read_scan(tmp_path / "sr.h5").voxel_size, sr.voxel_size, rtol=1e-5)
    shift = np.linalg.norm(marker_mm(sr) - marker_mm(formats.read_scan(tmp_path / "t1.nii.gz")))
    assert shift < 0.05, f"the marker moved by {shift:.3f} mm"


def test_dicom_import_upscale_roundtrip(tmp_path, tiny):
    a = np.radians(30)
    dicom.write_dicom_series(tmp_path / "series", np.moveaxis(marker_volume(), 2, 0), pixel_spacing=(0.9, 0.8),
                             slice_spacing=3.0, orientation=(np.cos(a), np.sin(a), 0, -np.sin(a), np.cos(a), 0),
                             origin=(12, -40, 5), rescale=(2.0, -100.0))
    code, out, err = run_cli("import", tmp_path / "series", tmp_path / "h5")
    assert code == 0, err
    assert run_cli("upscale", tmp_path / "h5" / "series.h5", "--out", tmp_path / "sr.h5", "--weights", tiny)[0] == 0
    code, _, err = run_cli("upscale", tmp_path / "series", "--out", tmp_path / "sr_series", "--weights", tiny)
    assert code == 0, err
    src, sr = formats.read_scan(tmp_path / "series"), formats.read_scan(tmp_path / "sr_series")
    np.testing.assert_allclose(sr.image, data.read_volume(tmp_path / "sr.h5").target, atol=1.0 + 1e-3)   # slope 2: ± half a step
    for a_ds, b_ds in zip(src.datasets, sr.datasets):
        assert (b_ds.Rows, b_ds.Columns) == (4 * a_ds.Rows, 4 * a_ds.Columns)
        np.testing.assert_allclose([float(v) for v in b_ds.PixelSpacing], [0.225, 0.2], atol=1e-9)
        np.testing.assert_allclose([float(v) for v in b_ds.ImagePositionPatient], [float(v) for v in a_ds.ImagePositionPatient], atol=1e-9)
        assert b_ds.ImageOrientationPatient == a_ds.ImageOrientationPatient
        assert (b_ds.BitsAllocated, b_ds.BitsStored, b_ds.PixelRepresentation) == (a_ds.BitsAllocated, a_ds.BitsStored, a_ds.PixelRepresentation)
        assert (float(b_ds.RescaleSlope), float(b_ds.RescaleIntercept)) == (2.0, -100.0)
        assert b_ds.ImageType[0] == "DERIVED" and "super-resolution" in b_ds.DerivationDescription
        assert b_ds.SOPInstanceUID != a_ds.SOPInstanceUID and b_ds.SeriesInstanceUID != a_ds.SeriesInstanceUID
    assert len({d.SeriesInstanceUID for d in sr.datasets}) == 1 and len({d.SOPInstanceUID for d in sr.datasets}) == 3
    shift = np.linalg.norm(marker_mm(sr) - marker_mm(src))
    assert shift < 0.05, f"the marker moved by {shift:.3f} mm"


def test_upscale_small_and_complex_npy(tmp_path, tiny):
    np.save(tmp_path / "dot.npy", np.ones((1, 1)))
    code, _, err = run_cli("upscale", tmp_path / "dot.npy", "--out", tmp_path / "o.npy", "--weights", tiny)
    assert_one_line_error(code, err, "minimum input of 2×2 pixels")
    assert not (tmp_path / "o.npy").exists()
    x = np.random.default_rng(0).random((20, 24))
    np.save(tmp_path / "c.npy", x * np.exp(1j * np.linspace(0, 6, x.size)).reshape(x.shape))
    code, _, err = run_cli("upscale", tmp_path / "c.npy", "--out", tmp_path / "c_sr.npy", "--weights", tiny)
    assert code == 0 and "magnitude" in err, err
    assert np.load(tmp_path / "c_sr.npy").dtype == np.float32


def test_upscale_dicom_folder_bad_input(tmp_path, tiny):
    dicom.write_dicom_series(tmp_path / "mixed" / "a", np.ones((2, 16, 16)))
    dicom.write_dicom_series(tmp_path / "mixed" / "b", np.ones((2, 16, 16)), series_description="localiser")
    code, _, err = run_cli("upscale", tmp_path / "mixed", "--out", tmp_path / "sr", "--weights", tiny)
    assert_one_line_error(code, err, "--series")
    assert not (tmp_path / "sr").exists()
    code, _, err = run_cli("upscale", tmp_path / "mixed", "--out", tmp_path / "sr", "--weights", tiny, "--series", "localiser")
    assert code == 0, err
    assert formats.read_scan(tmp_path / "sr").image.shape == (2, 64, 64)


def test_import_all_or_nothing(tmp_path):
    np.save(tmp_path / "good.npy", np.ones((20, 20)))
    np.save(tmp_path / "bad.npy", np.full((20, 20), np.nan))
    code, _, err = run_cli("import", tmp_path / "good.npy", tmp_path / "bad.npy", tmp_path / "out")
    assert_one_line_error(code, err, "bad.npy")
    assert not (tmp_path / "out").exists()
    code, _, err = run_cli("import", tmp_path / "good.npy", tmp_path / "out", "--slices", "x")
    assert_one_line_error(code, err, "--slices must look like a:b")


def test_real_data_wiring(tmp_path, monkeypatch, capsys):
    "`real-data` prints what was written and how to install each missing source; none installed -> exit 2."
    from srgan_course import cli, real_data
    from srgan_course.data import DataError
    result = dict(written=[tmp_path / "colin27_ch2_axial.h5"], missing=[("mni152", "pip install 'srgan_course[real]'")],
                  manifest=tmp_path / "MANIFEST.json")
    monkeypatch.setattr(real_data, "make_real_data", lambda out_dir, log=None: result)
    assert cli.main(["real-data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "colin27_ch2_axial.h5" in out and "pip install 'srgan_course[real]'" in out and "MANIFEST.json" in out

    def none_installed(out_dir, log=None): raise DataError("no open real-MR source is installed; install at least one of: x")
    monkeypatch.setattr(real_data, "make_real_data", none_installed)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["real-data", str(tmp_path)])
    assert exit_.value.code == 2 and "no open real-MR source" in capsys.readouterr().err


def test_upscale_adapt_wiring(tmp_path, monkeypatch, tiny, capsys):
    "`upscale --adapt SECONDS` upscales with the Upscaler that adapt.adapt_upscaler returns; its ValueError -> exit 2."
    import types
    import srgan_course
    from srgan_course import cli, evaluate
    calls = {}
    def adapt_upscaler(src, weights=None, scale=4, seconds=30.0, seed=0, axis=2, volume=None, series=None):
        if seconds <= 0: raise ValueError(f"--adapt: expected a positive number of seconds, got {seconds:g}")
        calls.update(src=src, seconds=seconds, axis=axis)
        g = evaluate.load_generator(tiny)
        g.adaptation = dict(seconds=seconds, steps=7, stopped_early=False, noise_sigma=0.01, held_out_gain_db=0.3, kept=True, best_step=5)
        return evaluate.Upscaler(g)
    fake = types.ModuleType("srgan_course.adapt"); fake.adapt_upscaler = adapt_upscaler
    monkeypatch.setitem(sys.modules, "srgan_course.adapt", fake)
    monkeypatch.setattr(srgan_course, "adapt", fake, raising=False)
    np.save(tmp_path / "s.npy", np.ones((20, 20)))
    assert cli.main(["upscale", str(tmp_path / "s.npy"), "--out", str(tmp_path / "o.npy"), "--adapt", "5"]) == 0
    assert calls["seconds"] == 5.0 and np.load(tmp_path / "o.npy").shape == (80, 80)
    assert "7 steps" in capsys.readouterr().err   # what the adaptation did, said
    with pytest.raises(SystemExit) as exit_:
        cli.main(["upscale", str(tmp_path / "s.npy"), "--out", str(tmp_path / "o2.npy"), "--adapt", "-1"])
    assert exit_.value.code == 2 and "--adapt" in capsys.readouterr().err and not (tmp_path / "o2.npy").exists()


def test_upscale_adapt_subprocess(tmp_path, tiny):
    "The real chapter-16 adaptation behind `upscale --adapt`: a short budget works, a negative one is one line, exit 2."
    np.save(tmp_path / "s.npy", np.random.default_rng(0).random((32, 32)))
    code, _, err = run_cli("upscale", tmp_path / "s.npy", "--out", tmp_path / "o.npy", "--weights", tiny, "--adapt", "1")
    assert code == 0, err
    assert np.load(tmp_path / "o.npy").shape == (128, 128)
    code, _, err = run_cli("upscale", tmp_path / "s.npy", "--out", tmp_path / "o2.npy", "--weights", tiny, "--adapt", "-1")
    assert_one_line_error(code, err, "-1")
    assert not (tmp_path / "o2.npy").exists()


def test_import_siemens_mosaic_and_parrec(tmp_path):
    "`import` unpacks a mosaic into its 48 slices and reads a PAR/REC volume; what it cannot read: one line, nothing written."
    from test_dicom import NICOM_DATA, painted_mosaic
    from test_formats import copy_parrec
    painted_mosaic(tmp_path / "in" / "mosaic.dcm")
    par = copy_parrec(tmp_path / "in")
    code, out, err = run_cli("import", tmp_path / "in" / "mosaic.dcm", tmp_path / "a")
    assert code == 0 and "Siemens mosaic: 48 slices of 128×128" in out, err
    assert data.read_volume(tmp_path / "a" / "mosaic.h5", load_kspace=False).target.shape == (48, 128, 128)
    code, out, err = run_cli("import", par, tmp_path / "b", "--volume", "1")
    assert code == 0 and "dynamic scan number 2" in out, err
    assert data.read_volume(tmp_path / "b" / f"{par.stem}.h5", load_kspace=False).target.shape == (9, 64, 64)
    for argv, expected in [((par,), "--volume 0..2"), ((NICOM_DATA / "0.dcm",), "cannot unpack")]:
        code, _, err = run_cli("import", *argv, tmp_path / "c")
        assert_one_line_error(code, err, expected)
        assert not (tmp_path / "c").exists()


def test_upscale_writes_mosaic_and_parrec_as_nifti_on_their_scanner_affine(tmp_path, tiny):
    "PAR/REC and a Siemens mosaic are upscaled into NIfTI: LR voxel j and HR voxel s·j sit at the same scanner point."
    import nibabel as nib
    from test_dicom import painted_mosaic
    from test_formats import copy_parrec
    mosaic, par = tmp_path / "mosaic.dcm", copy_parrec(tmp_path)
    painted_mosaic(mosaic)
    for src, extra, n_slices in [(par, ("--volume", "1"), 9), (mosaic, (), 48)]:
        out = tmp_path / f"{src.stem}_x4.nii.gz"
        code, _, err = run_cli("upscale", src, "--out", out, "--weights", tiny, *extra)
        assert code == 0, err
        lr_affine = formats.read_scan(src, volume=1 if src == par else None).affine
        img = nib.load(out)
        assert img.shape[2] == n_slices and img.shape[0] == 4 * formats.read_scan(src, volume=1 if src == par else None).image.shape[1]
        np.testing.assert_allclose(img.affine @ [4 * 10, 4 * 20, 3, 1], lr_affine @ [10, 20, 3, 1], atol=1e-3)


def test_upscale_refuses_a_wrong_output_for_mosaic_and_parrec_before_any_work(tmp_path, tiny):
    "A mosaic or a PAR/REC can only be written as NIfTI: any other --out is one line, exit 2, before adapting, nothing written."
    from test_dicom import painted_mosaic
    from test_formats import copy_parrec
    mosaic, par = tmp_path / "mosaic.dcm", copy_parrec(tmp_path)
    painted_mosaic(mosaic)
    for src, out, extra in [(mosaic, tmp_path / "sr.dcm", ()), (par, tmp_path / "sr.PAR", ("--volume", "0", "--adapt", "1"))]:
        code, _, err = run_cli("upscale", src, "--out", out, "--weights", tiny, *extra)
        assert_one_line_error(code, err, f"output {out}: expected a .nii or .nii.gz file")
        assert "adapting" not in err and not out.exists(), err


def test_upscale_options_that_do_not_apply_are_refused_before_adapting(tmp_path, tiny, capsys):
    "--axis / --volume / --series on a file they do not apply to: one line, exit 2, before any adaptation, nothing written."
    np.save(tmp_path / "s.npy", np.ones((40, 40), np.float32))
    for extra, expected in [(("--axis", "1"), "--axis and --volume apply to NIfTI"), (("--volume", "0"), "--axis and --volume apply to NIfTI"),
                            (("--series", "1"), "--series applies to a DICOM folder")]:
        out = tmp_path / "o.npy"
        with pytest.raises(SystemExit) as e:
            cli.main(["upscale", str(tmp_path / "s.npy"), "--out", str(out), "--weights", str(tiny), "--adapt", "30", *extra])
        err = capsys.readouterr().err
        assert e.value.code == 2 and expected in err and "adapting" not in err and "Traceback" not in err and not out.exists(), err


def test_upscale_refuses_a_mosaic_without_its_geometry(tmp_path, tiny):
    "A mosaic with no ImagePositionPatient: its NIfTI would claim a guessed scanner geometry, so upscale refuses in one line."
    from test_dicom import painted_mosaic
    ds = painted_mosaic(tmp_path / "mosaic.dcm")
    del ds.ImagePositionPatient
    ds.save_as(tmp_path / "mosaic.dcm")
    out = tmp_path / "sr.nii.gz"
    code, _, err = run_cli("upscale", tmp_path / "mosaic.dcm", "--out", out, "--weights", tiny)
    assert_one_line_error(code, err, "no complete scanner geometry to write a NIfTI with (no ImagePositionPatient")
    assert not out.exists()


def test_upscaled_nifti_says_its_units_are_mm(tmp_path, tiny):
    "The NIfTI written for a PAR/REC carries its spatial unit (mm), as the scanner's affine is in mm."
    import nibabel as nib
    from test_formats import copy_parrec
    par = copy_parrec(tmp_path)
    code, _, err = run_cli("upscale", par, "--out", tmp_path / "sr.nii.gz", "--weights", tiny, "--volume", "0")
    assert code == 0, err
    assert nib.load(tmp_path / "sr.nii.gz").header.get_xyzt_units()[0] == "mm"
