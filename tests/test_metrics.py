"""Package-level checks of srgan_course.metrics beyond the notebook: random shapes and ranges
against scikit-image (the fastMRI reference), and the in-graph metrics under a distribution strategy."""
import numpy as np
import pytest
from scipy import ndimage
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


def ssim_by_formula(x, y, data_range, win=7):
    "Wang et al. (2004) SSIM written out: 7×7 uniform window, sample (co)variances, the window's half-width cropped."
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    c1, c2, mean = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2, lambda a: ndimage.uniform_filter(a, win)
    n = win * win / (win * win - 1)   # sample, not population, covariance
    mx, my = mean(x), mean(y)
    vx, vy, vxy = n * (mean(x * x) - mx * mx), n * (mean(y * y) - my * my), n * (mean(x * y) - mx * my)
    s = (2 * mx * my + c1) * (2 * vxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s[win // 2:-(win // 2), win // 2:-(win // 2)].mean()


def test_numpy_metrics_equal_fastmri_definitions():
    "NMSE, PSNR (volume maximum) and SSIM (mean over slices) against the formulas written out, not the library they call."
    rng = np.random.default_rng(0)
    gt = rng.random((3, 32, 24)).astype(np.float32)
    pred = (gt + rng.normal(0, 0.05, gt.shape)).astype(np.float32)
    g, p = gt.astype(np.float64), pred.astype(np.float64)
    assert metrics.nmse(gt, pred) == pytest.approx(((g - p) ** 2).sum() / (g ** 2).sum(), rel=1e-6)
    assert metrics.psnr(gt, pred) == pytest.approx(10 * np.log10(g.max() ** 2 / ((g - p) ** 2).mean()), rel=1e-6)
    by_formula = np.mean([ssim_by_formula(g[i], p[i], g.max()) for i in range(3)])
    assert metrics.ssim(gt, pred) == pytest.approx(by_formula, abs=1e-6)
    assert metrics.ssim(gt, pred, maxval=2.0) == pytest.approx(np.mean([ssim_by_formula(g[i], p[i], 2.0) for i in range(3)]), abs=1e-6)


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


def _textured(seed=0, n=4, size=96):
    "A small stack with fine texture: smooth blobs plus a band-limited noise texture, in [0, 1]."
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.random((n, size, size)), (0, 6, 6))
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (n, size, size)), (0, 0.7, 0.7))
    x = 0.6 * (smooth - smooth.min()) / np.ptp(smooth) + 0.2 + 0.05 * texture
    return np.clip(x, 0, 1).astype(np.float32)


def test_spectral_gap_sees_texture_psnr_cannot():
    "A blur loses band power (gap < 0) while noise of the same PSNR cost adds it (gap > 0): PSNR alone cannot tell them apart."
    hr = _textured()
    blur = ndimage.gaussian_filter(hr, (0, 1.2, 1.2))
    rng = np.random.default_rng(1)
    noise = hr + rng.normal(0, 1, hr.shape).astype(np.float32) * np.sqrt(np.mean((blur - hr) ** 2))   # the blur's MSE, as noise
    assert abs(metrics.psnr(hr, blur, 1.0) - metrics.psnr(hr, noise, 1.0)) < 0.1
    assert metrics.spectral_gap(hr, blur, 4) < -3 and metrics.spectral_gap(hr, noise, 4) > 0.5
    for s in (2, 4): assert metrics.spectral_gap(hr, hr, s) == 0.0


def test_hfen_is_a_relative_error_of_the_log_per_slice():
    hr = _textured(2)
    assert metrics.hfen(hr, hr) == 0.0
    assert metrics.hfen(hr, 0.5 * hr) == pytest.approx(0.5, abs=1e-9)
    assert metrics.hfen(hr, hr + 0.25) == pytest.approx(0.0, abs=1e-6)          # a constant has no Laplacian (float32 rounding)
    # slice by slice: a volume with one wrong slice pools the errors over all slices' energy
    log = [ndimage.convolve(x.astype(np.float64), metrics.log_kernel(), mode="reflect") for x in hr]
    wrong = hr.copy(); wrong[1] = 0
    want = np.linalg.norm(log[1]) / np.sqrt(sum(np.linalg.norm(l) ** 2 for l in log))
    assert metrics.hfen(hr, wrong) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="no edges"): metrics.hfen(np.ones((8, 8)), np.zeros((8, 8)))


def test_critic_tells_blur_from_truth_not_truth_from_truth_and_is_seeded():
    hr = _textured(3, n=6)
    small = dict(steps=200, patches=256)
    assert metrics.critic_accuracy(hr, hr, steps=40) == 0.5   # no critic, trained however long, tells a slice from itself
    blurred = ndimage.gaussian_filter(hr, (0, 1.5, 1.5))
    acc = metrics.critic_accuracy(hr, blurred, **small)
    assert acc > 0.9, acc
    assert metrics.critic_accuracy(hr, blurred, **small) == acc       # the same seed, the same critic
    with pytest.raises(ValueError, match="at least 2 slices"): metrics.critic_accuracy(hr[:1], hr[:1])
    with pytest.raises(ValueError, match="smaller than"): metrics.critic_accuracy(hr[:, :16, :16], hr[:, :16, :16])


def test_compare_reports_texture_scores_and_the_critic_when_asked(monkeypatch):
    monkeypatch.setitem(metrics.CRITIC, "steps", 40)   # what compare reports is the claim; the critic's skill is tested above
    hr = _textured(4, n=4)
    cmp = metrics.compare(hr * 1000, scale=4, degradation="bicubic", critic=True)
    rows = {r["method"]: r for r in cmp.summary()}
    assert set(rows["bicubic"]) >= {"psnr", "ssim", "nmse", "hfen", "spectral_gap_db", "critic_acc"}
    assert rows["bicubic"]["spectral_gap_db"] < 0 and 0.5 <= rows["bicubic"]["critic_acc"] <= 1
    plain = metrics.compare(hr * 1000, scale=4, degradation="bicubic")
    assert "critic_acc" not in plain.summary()[0] and "hfen" in plain.summary()[0]
