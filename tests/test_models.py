"""Package-level checks of the four SRResCycGAN networks as other modules use them (tiny widths).

The notebooks 07-06 hold the detailed tests; these guard the public API the training code relies on.
"""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import keras
import tensorflow as tf

from srgan_course.generators import build_g_hr, build_g_lr, count_flops, NoiseEstimator, L2Projection
from srgan_course.discriminators import build_d_hr, build_d_lr, receptive_field


@pytest.mark.parametrize("scale", [2, 4])
def test_cycle_shapes_and_gradients(scale):
    g_hr, g_lr = build_g_hr(1, scale, width=8, num_blocks=2), build_g_lr(1, scale, width=8, num_blocks=1)
    d_hr, d_lr = build_d_hr(1, width=8), build_d_lr(1, width=8, num_layers=2)
    lr = tf.random.uniform((2, 16, 16, 1))
    with tf.GradientTape(persistent=True) as tape:
        sr = g_hr(lr, training=True)
        back = g_lr(sr, training=True)
        real, fake = d_hr(sr, training=True), d_lr(back, training=True)
        loss = tf.reduce_mean(tf.abs(back - lr)) + tf.reduce_mean(real) + tf.reduce_mean(fake)
    assert sr.shape == (2, 16 * scale, 16 * scale, 1) and back.shape == lr.shape
    assert real.shape == (2, 1) and fake.shape == (2, 4, 4, 1)
    assert float(tf.reduce_min(sr)) >= 0 and float(tf.reduce_max(sr)) <= 1
    for model in (g_hr, g_lr, d_hr, d_lr):
        grads = tape.gradient(loss, model.trainable_weights)
        assert all(g is not None for g in grads), model.name


def test_save_load_all(tmp_path):
    x_lr, x_hr = tf.random.uniform((1, 12, 12, 1)), tf.random.uniform((1, 48, 48, 1))
    for model, x in [(build_g_hr(1, 4, 8, 2), x_lr), (build_g_lr(1, 4, 8, 1), x_hr),
                     (build_d_hr(1, 8), x_hr), (build_d_lr(1, 8), x_lr)]:
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        np.testing.assert_array_equal(keras.saving.load_model(path)(x).numpy(), model(x).numpy())


def test_mixed_precision_outputs_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        outs = [build_g_hr(1, 2, 8, 1)(tf.zeros((1, 8, 8, 1))), build_g_lr(1, 2, 8, 1)(tf.zeros((1, 16, 16, 1))),
                build_d_hr(1, 8)(tf.zeros((1, 32, 32, 1))), build_d_lr(1, 8)(tf.zeros((1, 16, 16, 1)))]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(o.dtype == tf.float32 for o in outs)


def test_bad_input_is_rejected():
    g = build_g_hr(1, 4, 8, 1)
    with pytest.raises(ValueError, match="expected 1 channel"): g(tf.zeros((1, 8, 8, 3)))
    with pytest.raises(ValueError, match="rank-4"): g(tf.zeros((8, 8, 1)))


def test_paper_sizes():
    assert build_g_hr(3).count_params() == 380_356            # "about 380K" (SRResCGAN, colour)
    assert receptive_field(build_d_lr(1, 8, 3)) == 70
    assert count_flops(build_g_hr(1, 4, 64, 5), (80, 80, 1)) == 2 * 320 * 320 * (25 * 64 * 2 + 10 * 9 * 64 * 64)


def test_projection_bound_and_noise_estimate():
    rng = np.random.default_rng(0)
    sigma = 0.03
    x = (0.5 + sigma * rng.standard_normal((3, 96, 96, 1))).astype("float32")
    est = NoiseEstimator()(x).numpy()
    assert np.all(np.abs(est / sigma - 1) < 0.1)
    r = rng.standard_normal((3, 20, 20, 1)).astype("float32")
    proj = L2Projection()
    out = proj(r, est).numpy()
    eps = proj.radius(r, est).numpy()
    assert np.all(np.linalg.norm(out.reshape(3, -1), axis=1) <= eps * (1 + 1e-5))
