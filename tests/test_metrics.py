"""Package-level checks of srgan_course.metrics beyond the notebook: random shapes and ranges
against scikit-image (the fastMRI reference), and the in-graph metrics under a distribution strategy."""
import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srgan_course import metrics


@pytest.mark.parametrize("seed", range(4))
def test_tf_metrics_match_skimage_on_random_batches(seed):
    rng = np.random.default_rng(seed)
    b, h, w, c = 2, int(rng.integers(7, 40)), int(rng.integers(7, 40)), int(rng.integers(1, 3))
    max_val = float(rng.uniform(0.5, 3.0))
    gt = (rng.random((b, h, w, c)) * max_val).astype(np.float32)
    pred = np.clip(gt + rng.normal(0, 0.1 * max_val, gt.shape), 0, max_val).astype(np.float32)
    sk_psnr = [peak_signal_noise_ratio(gt[i], pred[i], data_range=max_val) for i in range(b)]
    sk_ssim = [structural_similarity(gt[i], pred[i], data_range=max_val, channel_axis=-1) for i in range(b)]
    np.testing.assert_allclose(metrics.tf_psnr(gt, pred, max_val).numpy(), sk_psnr, rtol=1e-5)
    np.testing.assert_allclose(metrics.tf_ssim(gt, pred, max_val).numpy(), sk_ssim, atol=1e-4)


def test_numpy_metrics_equal_fastmri_definitions():
    rng = np.random.default_rng(0)
    gt = rng.random((3, 32, 24)).astype(np.float32)
    pred = (gt + rng.normal(0, 0.05, gt.shape)).astype(np.float32)
    assert metrics.nmse(gt, pred) == pytest.approx(np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2, rel=1e-6)
    assert metrics.psnr(gt, pred) == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=gt.max()))
    fastmri_ssim = sum(structural_similarity(gt[i], pred[i], data_range=gt.max()) for i in range(3)) / 3
    assert metrics.ssim(gt, pred) == pytest.approx(fastmri_ssim, abs=1e-12)


def test_tf_metrics_in_a_distributed_step():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    x = tf.random.stateless_uniform([4, 16, 16, 1], seed=[1, 2])
    y = tf.clip_by_value(x + 0.05, 0.0, 1.0)

    @tf.function
    def step(a, b):
        per_replica = strategy.run(lambda a, b: (metrics.tf_psnr(a, b), metrics.tf_ssim(a, b)), args=(a, b))
        return [strategy.gather(v, axis=0) for v in per_replica]

    psnr, ssim = step(x, y)
    assert psnr.shape == (4,) and ssim.shape == (4,)
    np.testing.assert_allclose(psnr.numpy(), 10 * np.log10(1 / np.mean((y.numpy() - x.numpy()) ** 2, axis=(1, 2, 3))), rtol=1e-4)
