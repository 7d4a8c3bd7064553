"""srgan_course.dicom: DICOM files and series (their geometry, several series to a folder, Siemens mosaics) read
through `formats.read_scan` / `import_files` as any scan is, and written by `write_dicom_series`.

Every test file is made here with pydicom, or copied from the test files nibabel ships; nothing is downloaded.
"""
import gzip
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pydicom
import pytest

from srgan_course import data, dicom, formats
from srgan_course.data import DataError
from test_formats import oblique_affine, volume


def dicom_from_affine(folder, vol, A, **kw):
    "Write `vol` (rows, cols, slices) as a DICOM series whose geometry is the RAS+ affine `A` (index order r, c, k)."
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ A
    ps = np.linalg.norm(lps[:3, :2], axis=0)
    col_dir, row_dir = lps[:3, 0] / ps[0], lps[:3, 1] / ps[1]   # r grows along the column direction, c along the row
    step = lps[:3, 2] @ np.cross(row_dir, col_dir)              # signed: a right-handed RAS affine runs against the DICOM normal
    return dicom.write_dicom_series(folder, np.moveaxis(vol, 2, 0), pixel_spacing=ps, slice_spacing=step,
                                    orientation=(*row_dir, *col_dir), origin=lps[:3, 3], **kw)


def same_voxels(a, b):
    "Assert two Scans (slices along axis 2) hold the same values at the same scanner positions; returns index map b <- a."
    M = np.linalg.inv(b.affine) @ a.affine                       # voxel of `a` -> voxel of `b`
    np.testing.assert_allclose(M, np.round(M), atol=1e-4)        # the same grid, maybe flipped or permuted
    va, vb = np.moveaxis(a.image, 0, 2), np.moveaxis(b.image, 0, 2)
    ia = np.indices(va.shape).reshape(3, -1)
    ib = np.round(M[:3, :3] @ ia + M[:3, 3:]).astype(int)
    np.testing.assert_allclose(vb[tuple(ib)], va[tuple(ia)], atol=1e-3)
    return np.round(M)


def test_nifti_and_dicom_of_the_same_volume_read_the_same(tmp_path):
    "Same voxels, same geometry in two formats: the same image and the same RAS+ affine come back."
    vol, A = np.round(volume()), oblique_affine()
    nib.save(nib.Nifti1Image(vol, A), tmp_path / "t1.nii.gz")
    paths = dicom_from_affine(tmp_path / "series", vol, A)
    for i, p in enumerate(paths[::-1]):   # names in reverse order and InstanceNumbers scrambled: only positions are left
        ds = pydicom.dcmread(p); ds.InstanceNumber = (7 * i) % len(paths) + 1; ds.save_as(tmp_path / "series" / f"z{i:02d}")
        p.unlink()
    nii, dcm = formats.read_scan(tmp_path / "t1.nii.gz"), formats.read_scan(tmp_path / "series")
    np.testing.assert_allclose(nii.affine, A, atol=1e-5)
    M = same_voxels(dcm, nii)
    np.testing.assert_array_equal(M[:3, :3], np.diag([1, 1, -1]))   # DICOM stacks along its normal: the slice order flips
    np.testing.assert_allclose(dcm.voxel_size, nii.voxel_size, atol=1e-6)


def test_no_name_or_hospital_number_reaches_the_file(tmp_path):
    dicom.write_dicom_series(tmp_path / "s", np.full((2, 16, 16), 9.0), patient_id="MRN-0042")
    for p in (tmp_path / "s").iterdir():
        ds = pydicom.dcmread(p); ds.PatientName = "DOE^JANE"; ds.save_as(p)
    (path,) = formats.import_files(tmp_path / "s", tmp_path / "out")
    with h5py.File(path) as f:
        text = repr(dict(f.attrs)) + f["ismrmrd_header"][()].decode()
    assert "MRN-0042" not in text and "DOE" not in text
    assert data.read_volume(path).attrs["patient_id"] == formats.pseudonymise("MRN-0042")


def test_dicom_rescale_and_multiple_series(tmp_path):
    dicom.write_dicom_series(tmp_path / "mixed" / "a", np.full((2, 16, 16), 300.0), rescale=(2.0, -100.0),
                             series_description="T1")
    dicom.write_dicom_series(tmp_path / "mixed" / "b", np.full((3, 20, 16), 7.0), series_description="localiser")
    with pytest.raises(DataError, match="2 DICOM series.*T1.*localiser|2 DICOM series.*localiser.*T1"):
        formats.read_scan(tmp_path / "mixed")
    t1 = formats.read_scan(tmp_path / "mixed", series="T1")
    np.testing.assert_allclose(t1.image, 300.0)
    uid = formats.read_scan(tmp_path / "mixed", series="localiser").datasets[0].SeriesInstanceUID
    assert formats.read_scan(tmp_path / "mixed", series=uid).image.shape == (3, 20, 16)


# Siemens mosaics, from the test files nibabel ships (nothing downloaded)
NICOM_DATA = Path(nib.__file__).parent / "nicom" / "tests" / "data"


def tile_ramp(n=128):
    "A ramp inside each tile that marks its orientation (a transposed or flipped tile no longer matches)."
    return np.add.outer(np.arange(n), 2 * np.arange(n)) % 40


def painted_mosaic(path, offset=0, instance=None):
    "nibabel's Siemens DWI mosaic (48 slices of 128×128 tiled 7×7, pixels zeroed) with tile k painted 80(k+1) + offset."
    with gzip.open(NICOM_DATA / "siemens_dwi_1000.dcm.gz") as f: ds = pydicom.dcmread(f)
    frame = np.zeros((896, 896), np.uint16)
    for k in range(48):
        frame[k // 7 * 128:(k // 7 + 1) * 128, k % 7 * 128:(k % 7 + 1) * 128] = 80 * (k + 1) + offset + tile_ramp()
    ds.PixelData = frame.tobytes()
    if instance is not None: ds.InstanceNumber = instance
    path.parent.mkdir(parents=True, exist_ok=True); ds.save_as(path)
    return ds


def test_siemens_mosaic_unpacked_like_nibabel(tmp_path):
    "48 slices of 128×128 from one 896×896 frame, in tile order, equal to nibabel's own mosaic reader, with its affine."
    ds = painted_mosaic(tmp_path / "mosaic.dcm")
    scan = formats.read_scan(tmp_path / "mosaic.dcm")
    from nibabel.nicom import dicomreaders   # after read_scan, which imported nibabel.nicom without its warning
    assert scan.image.shape == (48, 128, 128) and scan.kind == "dicom"
    for k in (0, 5, 7, 47):   # first tile, along the first row, first of the second row, last
        np.testing.assert_array_equal(scan.image[k], 80 * (k + 1) + tile_ramp())
    reference = dicomreaders.mosaic_to_nii(ds)   # nibabel's tests: (128, 128, 48) for this file
    assert reference.shape == (128, 128, 48)
    np.testing.assert_array_equal(np.moveaxis(scan.image, 0, 2), reference.get_fdata())
    np.testing.assert_allclose(scan.affine, reference.affine, atol=1e-6)
    np.testing.assert_allclose(scan.voxel_size, reference.header.get_zooms(), atol=1e-5)
    assert dicom.is_mosaic(tmp_path / "mosaic.dcm") and "Siemens mosaic: 48 slices" in scan.meta["notes"][0]
    assert len(scan.datasets) == 48


def test_mosaic_series_takes_a_volume(tmp_path):
    "A folder of mosaics (one volume per file: an fMRI run) asks for --volume, like a 4-D NIfTI; files in time order."
    painted_mosaic(tmp_path / "run" / "b.dcm", offset=0, instance=1)
    painted_mosaic(tmp_path / "run" / "a.dcm", offset=7, instance=2)   # names against the time order
    with pytest.raises(DataError, match=r"run: Siemens mosaic series of 2 volumes .*--volume 0\.\.1"):
        formats.read_scan(tmp_path / "run")
    np.testing.assert_array_equal(formats.read_scan(tmp_path / "run", volume=1).image[3], 80 * 4 + 7 + tile_ramp())
    np.testing.assert_array_equal(formats.read_scan(tmp_path / "run", volume=0).image[3], 80 * 4 + tile_ramp())
    with pytest.raises(DataError, match="out of range"): formats.read_scan(tmp_path / "run", volume=2)
    dicom.write_dicom_series(tmp_path / "plain", np.ones((2, 16, 16)))
    with pytest.raises(DataError, match="this DICOM holds one volume"): formats.read_scan(tmp_path / "plain", volume=0)


@pytest.mark.parametrize("case", ["stripped", "garbled", "nibabel_0dcm"])
def test_mosaic_that_cannot_be_unpacked_is_refused(tmp_path, case):
    "Never one big picture of tiles: a mosaic without a readable CSA header, or whose frame does not split, is one line."
    bad = tmp_path / "bad.dcm"
    if case == "nibabel_0dcm": bad, expected = NICOM_DATA / "0.dcm", "256×256 frame does not split into 7×7 tiles"
    else:
        ds = painted_mosaic(bad)
        if case == "stripped": del ds[0x0029, 0x1010]; expected = "without NumberOfImagesInMosaic"   # CSA image header
        else: ds[0x0029, 0x1010].value = b"SV10" + bytes(range(256)) * 8; expected = "unreadable CSA header"
        ds.save_as(bad)
    with pytest.raises(DataError) as err:
        formats.import_files([bad], tmp_path / "out")
    message = str(err.value)
    assert expected in message and str(bad) in message and "cannot unpack" in message and "\n" not in message, message
    assert not (tmp_path / "out").exists()
