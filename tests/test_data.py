"""Package-level checks of srgan_course.data beyond the notebook: the LR image made from the measured k-space sits on
the HR grid for any k-space size, gives exactly `degrade` for magnitude-only files, and is what training batches hold."""
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from srgan_course import data
from srgan_course import phantoms


@pytest.mark.parametrize("seed", range(6))
def test_measured_lr_sits_on_the_hr_grid_for_any_kspace_size(seed):
    rng = np.random.default_rng(seed)
    H, W = int(rng.integers(330, 700)), int(rng.integers(321, 420))     # odd and even, like real fastMRI widths
    crop, s = (int(rng.integers(200, 321)), int(rng.integers(200, 321))), int(rng.choice([2, 3, 4]))
    yy, xx = np.mgrid[:H, :W]
    cy, cx = H / 2 + rng.uniform(-20, 20), W / 2 + rng.uniform(-20, 20)   # sub-pixel position, inside the target
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 6.0 ** 2)) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    k = data.fft2c(blob)
    lr, hr = data.degrade_pair(data.image_from_kspace(k, crop), s, kspace=k)
    assert lr.shape == (hr.shape[0] // s, hr.shape[1] // s)
    np.testing.assert_allclose(s * np.array(ndimage.center_of_mass(lr)), ndimage.center_of_mass(hr), atol=0.02)
    np.testing.assert_allclose(lr, data.degrade(hr, s), atol=2e-5)      # constant phase: same as the magnitude path


def test_imported_magnitude_file_gives_the_same_lr_either_way(tmp_path):
    from srgan_course import formats
    image = phantoms.demo_slice(seed=3, size=181)[None] * 100                # odd size, original units
    path = formats.write_fastmri(tmp_path / "scan.h5", np.concatenate([image, image[:, ::-1]]))
    info = data.check_volume(path)
    assert info.lr_from == "target"                                      # marked by the import: k-space = FFT of the magnitude
    for s in (2, 3, 4):
        via_target, hr = data.read_pair(info, 1, s)
        via_kspace, _ = data.read_pair(replace(info, lr_from="kspace"), 1, s)
        np.testing.assert_allclose(via_kspace, via_target, atol=1e-5)
        assert via_target.shape == (hr.shape[0] // s, hr.shape[1] // s)


def test_training_batches_hold_the_measured_lr(tmp_path):
    (path,) = phantoms.make_demo_data(tmp_path, volumes=1, seed=7, slices=1)
    info = data.check_volume(path)
    measured, hr = data.read_pair(info, 0, 4)
    from_magnitude = data.degrade(hr, 4)
    ds = data.make_dataset([path], scale=4, hr_patch=312, batch_size=1, augment=False, repeat=False)
    lr_patch, hr_patch = (t[0, ..., 0].numpy() for t in next(iter(ds)))
    p = lr_patch.shape[0]                                                # 78 of 80: the crop starts at 0 or 1
    offsets = [(y, x) for y in range(3) for x in range(3) if np.allclose(hr[4 * y:4 * y + 4 * p, 4 * x:4 * x + 4 * p], hr_patch)]
    assert len(offsets) == 1
    y, x = offsets[0]
    np.testing.assert_allclose(lr_patch, measured[y:y + p, x:x + p], atol=1e-6)
    assert np.abs(lr_patch - from_magnitude[y:y + p, x:x + p]).max() > 1e-3    # ... and not the magnitude path's
