"""Package-level checks of srgan_course.pipeline beyond the notebook: a magnitude-only (imported) file gives the same LR
by either path, and the training batches hold the LR made from the measured k-space."""
from dataclasses import replace

import numpy as np

from srgan_course import data, phantoms, pipeline


def test_imported_magnitude_file_gives_the_same_lr_either_way(tmp_path):
    from srgan_course import formats
    image = phantoms.demo_slice(seed=3, size=181)[None] * 100                # odd size, original units
    path = formats.write_fastmri(tmp_path / "scan.h5", np.concatenate([image, image[:, ::-1]]))
    info = data.check_volume(path)
    assert info.lr_from == "target"                                      # marked by the import: k-space = FFT of the magnitude
    for s in (2, 3, 4):
        via_target, hr = pipeline.read_pair(info, 1, s)
        via_kspace, _ = pipeline.read_pair(replace(info, lr_from="kspace"), 1, s)
        np.testing.assert_allclose(via_kspace, via_target, atol=1e-5)
        assert via_target.shape == (hr.shape[0] // s, hr.shape[1] // s)


def test_training_batches_hold_the_measured_lr(tmp_path):
    (path,) = phantoms.make_demo_data(tmp_path, volumes=1, seed=7, slices=1)
    info = data.check_volume(path)
    measured, hr = pipeline.read_pair(info, 0, 4)
    from_magnitude = data.degrade(hr, 4)
    ds = pipeline.make_dataset([path], scale=4, hr_patch=312, batch_size=1, augment=False, repeat=False)
    lr_patch, hr_patch = (t[0, ..., 0].numpy() for t in next(iter(ds)))
    p = lr_patch.shape[0]                                                # 78 of 80: the crop starts at 0 or 1
    offsets = [(y, x) for y in range(3) for x in range(3) if np.allclose(hr[4 * y:4 * y + 4 * p, 4 * x:4 * x + 4 * p], hr_patch)]
    assert len(offsets) == 1
    y, x = offsets[0]
    np.testing.assert_allclose(lr_patch, measured[y:y + p, x:x + p], atol=1e-6)
    assert np.abs(lr_patch - from_magnitude[y:y + p, x:x + p]).max() > 1e-3    # ... and not the magnitude path's
