"Chapter 19's bookkeeping on known cases: the choice of the target noise, the seed summary and (c)'s share of the oracle's gain."
import numpy as np
import pytest

from srgan_course.unpaired import choose_noise, oracle_share, summarize_runs


def point(sigma, zf, clean, oracle):
    return dict(sigma=sigma, zero_fill=dict(psnr=zf), clean_trained=dict(psnr=clean), oracle=dict(psnr=oracle))


def test_choose_noise_takes_the_smallest_sigma_with_something_to_win():
    curve = [point(0.0, 28.0, 28.5, 28.7),    # clean-trained above zero-fill: nothing to win
             point(0.05, 24.0, 23.0, 25.0),   # below zero-fill, but the oracle gains only 1.0 dB
             point(0.075, 21.0, 19.0, 23.0),  # the first that qualifies
             point(0.1, 19.0, 16.0, 22.0)]
    assert choose_noise(curve) == 0.075
    assert choose_noise(curve, oracle_gain=0.5) == 0.05
    assert choose_noise(curve[:2]) is None


def run(seed, **scores): return dict(seed=seed, scores=dict(target={k: v for k, v in scores.items()}))


def test_summary_is_mean_and_sample_spread_and_share_is_the_gain_ratio():
    runs = {"content": [run(0, psnr=19.0, ssim=0.3), run(1, psnr=21.0, ssim=0.5)],
            "srrescycgan": [run(0, psnr=22.0, ssim=0.4), run(1, psnr=22.0, ssim=0.4)],
            "oracle": [run(0, psnr=24.0, ssim=0.6), run(1, psnr=24.0, ssim=0.6)]}
    s = summarize_runs(runs, keys=("psnr", "ssim"))
    assert s["content"]["target"]["psnr"] == dict(mean=20.0, std=pytest.approx(np.sqrt(2.0)))   # ddof=1
    assert s["srrescycgan"]["target"]["psnr"]["std"] == 0.0
    assert oracle_share(s) == pytest.approx((22 - 20) / (24 - 20))
    assert oracle_share(s, "ssim") == pytest.approx((0.4 - 0.4) / (0.6 - 0.4))
