"""Package-level checks of srgan_course.data beyond the notebook: the LR image made from the measured k-space sits on
the HR grid for any k-space size. What the input pipeline reads from files is checked in test_pipeline.py."""

import numpy as np
import pytest
from scipy import ndimage

from srgan_course import data


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
