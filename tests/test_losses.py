"""Package-level checks of the loss API other modules (training) code against: names, shapes, no network, no retrace."""
import numpy as np
import pytest
import tensorflow as tf

from srgan_course import adversarial, cycle, losses


@pytest.mark.parametrize("kind", adversarial.ADVERSARIAL_KINDS)
def test_adversarial_per_example_and_finite(kind):
    real, fake = tf.constant([[100.0], [-100.0]]), tf.constant([[-100.0], [100.0]])
    for fn in (adversarial.d_loss, adversarial.g_loss):
        out = fn(real, fake, kind)
        assert out.shape == (2,) and out.dtype == tf.float32 and np.all(np.isfinite(out.numpy()))
    grid = tf.zeros((3, 4, 4, 1))
    assert adversarial.d_loss(grid, grid, kind).shape == (3,)


def test_unknown_kind_lists_choices():
    with pytest.raises(ValueError, match="bce, ragan, lsgan"):
        adversarial.g_loss(tf.zeros((1, 1)), tf.zeros((1, 1)), "hinge")


def test_cycle_and_content_shapes():
    a, b = tf.zeros((2, 8, 8, 1)), tf.ones((2, 8, 8, 1), tf.float16)
    np.testing.assert_allclose(cycle.cycle_loss(a, b).numpy(), [1, 1])
    np.testing.assert_allclose(losses.content_l1(a, b).numpy(), [1, 1])
    with pytest.raises(ValueError, match="hr and sr"):
        losses.gradient_loss(a, tf.zeros((2, 4, 4, 1)))


def test_imagenet_download_failure_is_one_clear_error(monkeypatch):
    def offline(*args, **kwargs): raise Exception("URL fetch failure: no network")
    monkeypatch.setattr(losses.keras.utils, "get_file", offline)
    with pytest.raises(FileNotFoundError, match="weights='random'") as info:
        losses.PerceptualLoss(weights="imagenet")
    assert losses.VGG19_WEIGHTS_FILE in str(info.value) and info.value.__cause__ is None
    assert "--perceptual-weights" in str(info.value) and losses.VGG19_WEIGHTS_URL in str(info.value)


def test_live_weights_do_not_retrace():
    weights, traces = losses.LossWeights(), []

    @tf.function
    def step(terms):
        traces.append(1)
        return losses.generator_total(terms, weights)[0]

    terms = dict(content=tf.constant([1.0]), cycle=tf.constant([2.0]))
    np.testing.assert_allclose(step(terms).numpy(), [10 + 20])
    weights.assign(content=0.5, cycle=0.0)
    np.testing.assert_allclose(step(terms).numpy(), [0.5])
    assert len(traces) == 1 and step.experimental_get_tracing_count() == 1


def test_live_sr_is_scored_on_held_out_slices():
    "Chapter 10's live demo trains a tiny network on some phantoms and beats bicubic on others it never saw."
    from srgan_course.phantoms import demo_slice
    train = np.stack([demo_slice(seed=s, size=64) for s in range(4)])
    held_out = np.stack([demo_slice(seed=s, size=64) for s in (100, 101)])
    live = losses.LiveSR(train, held_out, scale=4)
    live.step(60)
    score = live.score()
    assert score["model"] > score["bicubic"] + 0.2, score   # measured: about +0.6 dB after 50 steps
    assert live.traces == 1
