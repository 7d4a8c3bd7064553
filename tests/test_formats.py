"""srgan_course.formats: real scans (NIfTI, PAR/REC, PNG/TIFF, NPY, h5, and DICOM through srgan_course.dicom) in,
the fastMRI layout out. The DICOM reader's own tests are in test_dicom.py.

Every test file is made here, small, with nibabel / pydicom / Pillow, or copied from the test files nibabel ships;
nothing is downloaded.
"""
import shutil
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from srgan_course import data, dicom, formats
from srgan_course.data import DataError


def oblique_affine(zooms=(0.8, 0.9, 2.5), degrees=20.0, tilt=8.0, offset=(-40.0, 12.0, 30.0)):
    "RAS+ affine with voxel sizes `zooms`, rotated about z then tilted about x, shifted by `offset`."
    a, t = np.radians(degrees), np.radians(tilt)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    A = np.eye(4); A[:3, :3] = rx @ rz @ np.diag(zooms); A[:3, 3] = offset
    return A


def volume(shape=(24, 20, 18), seed=0):
    "A positive random volume with some structure, float32."
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 500 + 100 * np.arange(shape[2])).astype(np.float32)


def test_converted_file_reads_back_unchanged(tmp_path):
    "import -> read_volume / check_volume / list_volumes: the same image, k-space that forms it, the real voxel size."
    vol = volume()
    nib.save(nib.Nifti1Image(vol, oblique_affine()), tmp_path / "sub-03_T2w.nii.gz")
    written = formats.import_files(tmp_path / "sub-03_T2w.nii.gz", tmp_path / "out", axis="all")
    assert [p.name for p in written] == ["sub-03_T2w_ax0.h5", "sub-03_T2w_ax1.h5", "sub-03_T2w_ax2.h5"]
    assert data.list_volumes(tmp_path / "out", strict=True) == written
    for axis, path in enumerate(written):
        scan = formats.read_scan(tmp_path / "sub-03_T2w.nii.gz", axis=axis)
        v = data.read_volume(path)
        np.testing.assert_array_equal(v.target, scan.image)
        formed = data.image_from_kspace(v.kspace, crop=scan.image.shape[1:])
        assert np.abs(formed - scan.image).max() < 1e-5 * scan.image.max()
        assert data.check_volume(path).shape == scan.image.shape
        np.testing.assert_allclose(formats.read_scan(path).voxel_size, scan.voxel_size, rtol=1e-6)
        assert v.attrs["patient_id"] == formats.pseudonymise("sub-03") and v.attrs["kspace_origin"] == "magnitude"
        assert v.attrs["source"] == "sub-03_T2w.nii.gz" and np.isclose(v.attrs["max"], scan.image.max())


def test_h5_header_holds_the_real_field_of_view(tmp_path):
    vol = volume((32, 40, 20))
    path = formats.write_fastmri(tmp_path / "v.h5", np.moveaxis(vol, 2, 0), voxel_size=(0.5, 0.7, 3.0))
    with h5py.File(path) as f: header = f["ismrmrd_header"][()]
    assert data.header_sizes(header)["recon"] == (32, 40, 1)
    np.testing.assert_allclose(formats._header_fov(header), (16.0, 28.0, 3.0))


def test_images_and_arrays(tmp_path):
    Image.fromarray((np.arange(600).reshape(20, 30) * 100).astype(np.uint16)).save(tmp_path / "a.png")
    np.testing.assert_array_equal(formats.read_scan(tmp_path / "a.png").image[0], np.arange(600).reshape(20, 30) * 100)
    pages = [Image.fromarray(np.full((18, 18), v, np.uint8)) for v in (10, 20, 30)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    np.testing.assert_array_equal(formats.read_scan(tmp_path / "stack.tif").image[:, 0, 0], [10, 20, 30])
    np.save(tmp_path / "c.npy", np.full((2, 16, 20), 3 - 4j, np.complex64))
    scan = formats.read_scan(tmp_path / "c.npy")
    assert scan.image.shape == (2, 16, 20) and np.allclose(scan.image, 5) and "magnitude" in scan.meta["notes"][0]


def test_4d_nifti_needs_a_volume(tmp_path):
    nib.save(nib.Nifti1Image(np.stack([volume(), 2 * volume()], -1), np.eye(4)), tmp_path / "bold.nii")
    with pytest.raises(DataError, match=r"bold.nii: 4-D NIfTI .* --volume 0..1"):
        formats.read_scan(tmp_path / "bold.nii")
    np.testing.assert_allclose(formats.read_scan(tmp_path / "bold.nii", volume=1).image, 2 * formats.read_scan(tmp_path / "bold.nii", volume=0).image, rtol=1e-5)


@pytest.mark.parametrize("case", ["4d", "nopixels", "rgb", "mixed", "small", "nan", "compressed"])
def test_bad_input_leaves_nothing(tmp_path, case):
    "Each bad input: one-line DataError naming the file; a good file imported with it is not left behind either."
    good = tmp_path / "good.npy"; np.save(good, np.ones((20, 20)))
    d = tmp_path / "in"; d.mkdir()
    if case == "4d": bad, expected = d / "x.nii.gz", "--volume"; nib.save(nib.Nifti1Image(np.ones((20, 20, 20, 3), np.float32), np.eye(4)), bad)
    elif case == "rgb": bad, expected = d / "x.png", "colour"; Image.fromarray(np.dstack([np.full((20, 20), v, np.uint8) for v in (1, 2, 3)])).save(bad)
    elif case == "small": bad, expected = d / "x.npy", "at least 16×16"; np.save(bad, np.ones((15, 40)))
    elif case == "nan": bad, expected = d / "x.npy", "NaN"; np.save(bad, np.full((20, 20), np.inf))
    elif case == "mixed":
        bad, expected = d / "mixed", "--series"
        dicom.write_dicom_series(bad / "1", np.ones((1, 16, 16)))
        dicom.write_dicom_series(bad / "2", np.ones((1, 16, 16)))
    else:
        (p,) = dicom.write_dicom_series(d / "s", np.ones((1, 16, 16)))
        ds = pydicom.dcmread(p)
        if case == "nopixels": del ds.PixelData; expected = "no pixel data"
        else:
            from pydicom.pixels import get_decoder
            from pydicom.uid import JPEGLSLossless
            if get_decoder(JPEGLSLossless).is_available: pytest.skip("a JPEG-LS decoder is installed here")
            ds.file_meta.TransferSyntaxUID = JPEGLSLossless; ds.PixelData = pydicom.encaps.encapsulate([bytes(10)])
            expected = "pip install"
        bad = d / "x.dcm"; ds.save_as(bad)
    with pytest.raises(DataError) as err:
        formats.import_files([good, bad], tmp_path / "out")
    message = str(err.value)
    assert expected in message and str(bad) in message and "\n" not in message, message
    assert not (tmp_path / "out").exists()
    (tmp_path / "existing").mkdir(); (tmp_path / "existing" / "keep.txt").write_text("x")
    with pytest.raises(DataError): formats.import_files([good, bad], tmp_path / "existing")
    assert sorted(p.name for p in (tmp_path / "existing").iterdir()) == ["keep.txt"]


def test_slices_and_options(tmp_path):
    nib.save(nib.Nifti1Image(volume(), np.eye(4)), tmp_path / "v.nii")
    (p,) = formats.import_files(tmp_path / "v.nii", tmp_path / "o", axis=1, slices="5:-5", patient_id="P7", licence="CC0", source="mine")
    assert p.name == "v_ax1.h5"
    v = data.read_volume(p, load_kspace=False)
    np.testing.assert_array_equal(v.target, formats.read_scan(tmp_path / "v.nii", axis=1).image[5:-5])
    assert (v.attrs["patient_id"], v.attrs["licence"], v.attrs["source"]) == (formats.pseudonymise("P7"), "CC0", "mine")
    with pytest.raises(ValueError, match="a:b"): formats.import_files(tmp_path / "v.nii", tmp_path / "o2", slices="5")
    with pytest.raises(ValueError, match="0, 1, 2 or all"): formats.import_files(tmp_path / "v.nii", tmp_path / "o2", axis=3)
    with pytest.raises(DataError, match="selects none"): formats.import_files(tmp_path / "v.nii", tmp_path / "o2", slices="30:40")
    assert not (tmp_path / "o2").exists()


# Philips PAR/REC, from the test files nibabel ships (nothing downloaded)
PARREC_DATA = Path(nib.__file__).parent / "tests" / "data"
PHANTOM = "phantom_EPI_asc_CLEAR_2_1"   # Philips EPI phantom: 64×64, 9 slices, 3 dynamics, with its .REC


def copy_parrec(folder, stem=PHANTOM, suffixes=(".PAR", ".REC")):
    "Copy nibabel's PAR/REC phantom into `folder` as `stem` + each suffix; returns the header's path."
    folder.mkdir(parents=True, exist_ok=True)
    for ours, theirs in zip(suffixes, (".PAR", ".REC")):
        shutil.copy(PARREC_DATA / (PHANTOM + theirs), folder / (stem + ours))
    return folder / (stem + suffixes[0])


def test_parrec_reads_like_nibabel(tmp_path):
    "PAR/REC through nibabel: its array along every axis, FP scaling, voxel size from the header, --volume like NIfTI."
    par = copy_parrec(tmp_path)
    reference = nib.load(par, scaling="fp")   # (64, 64, 9, 3): 9 slices, 3 dynamics
    with pytest.raises(DataError, match=r"4-D PAR/REC holding 3 volumes .*--volume 0\.\.2"):
        formats.read_scan(par)
    for axis in (0, 1, 2):
        scan = formats.read_scan(par, axis=axis, volume=2, min_side=8)
        np.testing.assert_allclose(scan.image, np.moveaxis(reference.get_fdata()[..., 2], axis, 0), rtol=1e-6)
        assert scan.voxel_size == tuple(np.delete([3.75, 3.75, 8.0], axis).tolist() + [[3.75, 3.75, 8.0][axis]])
    scan = formats.read_scan(par, volume=1)
    assert scan.kind == "parrec" and scan.meta["notes"] == ["volume 1: dynamic scan number 2"]
    np.testing.assert_allclose(scan.affine, reference.affine)
    assert scan.meta["patient_id"] == formats.pseudonymise("phantom") and scan.meta["acquisition"] == "EPI_asc CLEAR"
    dv = nib.load(par).get_fdata()[..., 1]   # nibabel's default scaling differs by RS·SS: we did choose FP
    assert not np.allclose(np.moveaxis(scan.image, 0, 2), dv)
    low = copy_parrec(tmp_path / "lower", "scan", (".par", ".rec"))   # lower-case names, and read from the .REC too
    np.testing.assert_array_equal(formats.read_scan(low, volume=1).image, scan.image)
    np.testing.assert_array_equal(formats.read_scan(low.with_suffix(".rec"), volume=1).image, scan.image)


def test_parrec_without_its_rec_is_one_line(tmp_path):
    par = copy_parrec(tmp_path, suffixes=(".PAR", ".REC"))
    par.with_suffix(".REC").unlink()
    with pytest.raises(DataError) as err:
        formats.import_files(par, tmp_path / "out", volume=0)
    message = str(err.value)
    assert f"{par.with_suffix('.REC')} is missing" in message and message.startswith(str(par)), message
    assert "\n" not in message
    assert not (tmp_path / "out").exists()
