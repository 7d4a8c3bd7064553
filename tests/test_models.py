"""Package-level checks of the four SRResCycGAN networks as other modules use them (tiny widths).

The notebooks 07-11 hold the detailed tests; these guard the public API the training code relies on,
the shipped weights, and the model diagram.
"""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import keras
import tensorflow as tf

from srgan_course.generators import build_g_hr, build_g_lr, NoiseEstimator, L2Projection, Upscaler
from srgan_course.benchmark import count_flops
from srgan_course.discriminators import build_d_hr, build_d_lr, receptive_field

ROOT = Path(__file__).resolve().parents[1]


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
        dead = [w.name for w, g in zip(model.trainable_weights, grads) if not float(tf.reduce_max(tf.abs(g))) > 0]
        assert len(dead) < len(grads) / 4, f"{model.name}: no gradient reaches {dead}"


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


def test_flop_counts_of_the_four_networks():
    "One FLOP counter, in benchmark (chapter 17); the paper-size counts it gave before it moved from generators."
    from srgan_course import generators
    assert not hasattr(generators, "count_flops") and not hasattr(generators, "time_forward")
    assert count_flops(build_g_hr(1, 4, 64, 5), (80, 80, 1)) == 76_152_832_000    # one 320×320 slice
    assert count_flops(build_g_lr(1, 4, 64), (320, 320, 1)) == 45_633_536_000
    assert count_flops(build_d_hr(1, 64), (128, 128, 1)) == 4_414_607_560
    assert count_flops(build_d_lr(1, 64), (32, 32, 1)) == 101_449_728


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


def test_flops_and_receptive_field_leave_the_model_alone():
    "count_flops / receptive_field read public Keras API only: nested models are walked, no layer is patched."
    d_lr = build_d_lr(1, 8, 2)
    outer = keras.Sequential([keras.Input((None, None, 1)), d_lr, keras.layers.Conv2D(1, 3)])
    assert count_flops(outer, (16, 16, 1)) == count_flops(d_lr, (16, 16, 1)) + 2 * 9 * 2 * 2  # D_LR: 16 -> 4x4 logits
    inp = keras.Input((None, None, 1))
    with pytest.raises(ValueError, match="count them on their own"):
        count_flops(keras.Model(inp, d_lr(inp)), (16, 16, 1))
    assert receptive_field(outer) == receptive_field(d_lr) + 2 * 4
    g = build_g_hr(1, 4, 8, 1)
    before = [type(l).call for l in g.layers]
    count_flops(g, (8, 8, 1))
    assert all("call" not in vars(l) for l in g.layers) and [type(l).call for l in g.layers] == before


def test_instance_norm_is_keras_group_norm():
    from srgan_course.layers import instance_norm
    layer = build_d_lr(1, 8, 2).get_layer("block1_norm")
    assert isinstance(layer, keras.layers.GroupNormalization) and layer.groups == 16 and layer.epsilon == 1e-5
    x = np.random.default_rng(0).random((2, 6, 5, 3)).astype("float32")
    y = instance_norm()(x).numpy()
    np.testing.assert_allclose(y, (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5), atol=1e-4)


def test_shipped_weights_load_with_the_same_layers():
    "The shipped G_HR loads (its registered layer names are unchanged) and upscales by 4."
    path = ROOT / "srgan_course" / "weights" / "g_hr_x4.keras"
    g = keras.saving.load_model(path, compile=False)
    up = Upscaler(g)
    assert up.scale == 4 and up(np.zeros((2, 12, 10), np.float32)).shape == (2, 48, 40)
    import zipfile
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    names = {l["registered_name"] for l in config["config"]["layers"] if l.get("registered_name")}
    assert {"srgan_course>GridUpsample", "srgan_course>WeightNormConv2D", "srgan_course>ResidualBlock"} <= names, names
    card = json.loads(path.with_suffix(".json").read_text())
    projected = {"srgan_course>NoiseEstimator", "srgan_course>L2Projection"} <= names
    assert projected == (not any("--no-projection" in c for c in card["commands"])), (names, card["commands"])  # as the card says


def test_model_diagram_names_every_network_tensor_and_loss():
    "nbs/images/srrescycgan.svg is valid SVG, shows the four networks, the tensors and the loss terms, and 11_model shows it."
    svg = ROOT / "nbs" / "images" / "srrescycgan.svg"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for needed in ["G_HR", "G_LR", "D_HR", "D_LR", "ŷ = G_HR(y)", "y′ = G_LR(ŷ)", "real HR", "real LR",
                   "content", "TV", "perceptual", "adversarial (HR)", "adversarial (LR)", "cycle loss"]:
        assert needed in text, needed
    assert "](images/srrescycgan.svg)" in (ROOT / "nbs" / "11_model.ipynb").read_text()


# --- which variables a training step moves (item: the G and D variable lists must not be swappable) ---------------

def _tiny_model(**kw):
    from srgan_course.model import ModelConfig, build_model
    keras.utils.set_random_seed(0)
    return build_model(ModelConfig(width=8, num_blocks=1, d_width=8, **kw))


def _batch():
    "LR 16x16 (the demo's LR patch): at 8x8, D_LR's instance norm sees 1x1 maps and its output no longer depends on its input."
    rng = np.random.default_rng(0)
    return tf.constant(rng.uniform(size=(2, 16, 16, 1)), tf.float32), tf.constant(rng.uniform(size=(2, 64, 64, 1)), tf.float32)


def _moved(model, step):
    "Run `step()`; the networks whose trainable variables changed (any of them), and how many of their variables did."
    nets = {n: getattr(model, n) for n in ("g_hr", "g_lr", "d_hr", "d_lr")}
    before = {n: [v.numpy().copy() for v in m.trainable_variables] for n, m in nets.items()}
    step()
    changed = {n: sum(not np.array_equal(b, v.numpy()) for b, v in zip(before[n], m.trainable_variables)) for n, m in nets.items()}
    return {n for n, c in changed.items() if c}, changed


def test_warmup_step_moves_only_g_hr():
    model = _tiny_model()
    model.warming_up = True                     # what callbacks.WarmUp sets: the content-only step
    moved, _ = _moved(model, lambda: model.train_on_batch(*_batch()))
    assert moved == {"g_hr"}, moved
    assert (int(model.g_optimizer.iterations.numpy()), int(model.d_optimizer.iterations.numpy())) == (1, 0)


def test_full_step_moves_all_four_networks():
    model = _tiny_model()
    moved, changed = _moved(model, lambda: model.train_on_batch(*_batch()))
    assert moved == {"g_hr", "g_lr", "d_hr", "d_lr"}, changed
    assert (int(model.g_optimizer.iterations.numpy()), int(model.d_optimizer.iterations.numpy())) == (1, 1)


def test_discriminator_loss_moves_only_discriminators():
    "Every generator weight 0: the generator loss is 0, so only the discriminator optimiser can move anything — and only D."
    model = _tiny_model()
    model.lambdas.assign(content=0, perceptual=0, adversarial=0, tv=0, cycle=0)
    moved, changed = _moved(model, lambda: model.train_on_batch(*_batch()))
    assert moved == {"d_hr", "d_lr"}, changed   # swapped lists would move G (by D's loss) and leave D still


def test_generator_optimizer_moves_only_generators():
    "The discriminator optimiser at learning rate 0: the generator step alone moves G_HR and G_LR, never D."
    from srgan_course.model import make_optimizer
    model = _tiny_model()
    model.compile(make_optimizer(1e-3, step=model.step_counter), keras.optimizers.Adam(0.0))
    model.build_state()
    moved, changed = _moved(model, lambda: model.train_on_batch(*_batch()))
    assert moved == {"g_hr", "g_lr"}, changed   # swapped lists would apply the generator's gradients to D


def test_train_and_test_step_under_xla():
    "jit_compile=True (--xla) on CPU: train_step (warm-up and full) and test_step compile and match the eager-graph values."
    model, reference = _tiny_model(xla=True), _tiny_model()
    reference.set_weights(model.get_weights())
    assert model.jit_compile and not reference.jit_compile
    lr, hr = _batch()
    val, val_ref = model.test_on_batch(lr, hr, return_dict=True), reference.test_on_batch(lr, hr, return_dict=True)
    assert set(val) == {"psnr", "ssim", "psnr_zero_fill"}, val
    for k in val: assert val[k] == pytest.approx(val_ref[k], abs=1e-3), (k, val, val_ref)
    for warm in (True, False):
        model.warming_up = reference.warming_up = warm
        model.make_train_function(force=True); reference.make_train_function(force=True)
        logs, logs_ref = model.train_on_batch(lr, hr, return_dict=True), reference.train_on_batch(lr, hr, return_dict=True)
        assert all(np.isfinite(v) for v in logs.values()), logs
        assert logs["g_total"] == pytest.approx(logs_ref["g_total"], rel=1e-3), (warm, logs, logs_ref)
    assert int(model.step_counter.numpy()) == 2


def test_unpaired_lr_step_under_mixed_precision():
    "A scanner's unpaired LR: under mixed_float16 the step is finite and G_LR's noise σ stays float32 (and moves)."
    from srgan_course.model import ModelConfig, build_model
    lr, hr = _batch()
    lr_t = tf.constant(np.random.default_rng(5).uniform(size=(2, 16, 16, 1)), tf.float32)
    cfg = ModelConfig(width=8, num_blocks=1, d_width=8, g_lr_width=8, mixed_precision=True)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(cfg, unpaired_lr=True, noise_sigma=0.03)
        logs = model.train_on_batch((lr, lr_t), hr, return_dict=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert set(logs) >= {"backward", "degradation", "d_lr", "d_hr"} and all(np.isfinite(v) for v in logs.values()), logs
    assert model.g_lr_noise.log_sigma.dtype == "float32" and model.g_lr_noise.compute_dtype == "float32"
    assert model.g_lr_noise.sigma != pytest.approx(0.03, rel=1e-5), model.g_lr_noise.sigma   # D_LR's term moved σ


def test_judge_shows_d_hr_what_separate_batch_norm_divides_away():
    "At initialisation D_HR is positively homogeneous up to its first batch norm: fed alone, a batch with a third of the"
    " energy gives the same logits; judged together with the real batch (`judge`), it does not."
    from srgan_course.model import ModelConfig, build_model
    model = build_model(ModelConfig(ablation="srgan", width=8, num_blocks=1, d_width=8))
    rng = np.random.default_rng(0)
    real = tf.constant(rng.random((4, 32, 32, 1)), tf.float32)
    fake = 0.3 * real                                      # the same structure, a third of the texture energy
    alone = model.d_hr(real, training=True), model.d_hr(fake, training=True)
    together = model.judge(model.d_hr, real, fake, training=True)
    blind = float(tf.reduce_max(tf.abs(alone[0] - alone[1])))          # separate calls: only batch norm's ε tells them apart
    seen = float(tf.reduce_max(tf.abs(together[0] - together[1])))     # one call: the logits move by about their own size
    assert blind < 0.02 and seen > 50 * blind, (blind, seen)


def test_discriminators_learn_at_their_own_rate():
    from srgan_course.model import ModelConfig, build_model, current_learning_rate
    model = build_model(ModelConfig(ablation="srgan", width=8, num_blocks=1, d_width=8, learning_rate=1e-4, d_learning_rate=4e-4))
    assert current_learning_rate(model.g_optimizer) == pytest.approx(1e-4) and current_learning_rate(model.d_optimizer) == pytest.approx(4e-4)
    same = build_model(ModelConfig(ablation="srgan", width=8, num_blocks=1, d_width=8, learning_rate=1e-4))
    assert current_learning_rate(same.d_optimizer) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="--d-learning-rate"): ModelConfig(d_learning_rate=0.0).validate()
