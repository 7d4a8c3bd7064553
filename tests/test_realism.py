"""The PSNR ↔ realism control (chapter 15, `--realism A`): ESRGAN's network interpolation of the shipped weights.

Claims checked: the blend is (1 − A)·a + A·b weight by weight, exact at both ends; two different networks are
refused, even when their weights have the same shapes; A = 0 is the shipped model bit for bit; A reaches the
model through `upscale`; the output moves away from the PSNR output steadily as A grows; every bad A and every
A that cannot be had is one error line and exit 2. Until g_hr_x4_gan.keras ships, a perturbed copy of
g_hr_x4.keras stands in for it, in a scratch weights folder put in place of `evaluate.WEIGHTS_FOLDER`.
"""
from pathlib import Path

import numpy as np
import pytest

from clitools import run
from srgan_course import data, evaluate, phantoms
from srgan_course.generators import Upscaler, build_g_hr

SHIPPED = Path(evaluate.__file__).parent / "weights"
REAL_GAN = SHIPPED / f"g_hr_x4{evaluate.REALISM_SUFFIX}.keras"


def one_line(code, err, expected):
    "Exit 2 and exactly one line on stderr, the error, naming `expected`; no traceback."
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("srgan-course: error:"), (code, err)
    assert expected in lines[0] and "Traceback" not in err, (expected, err)


def same(xs, ys):
    "Every array of `xs` equal to its partner in `ys`, bit for bit."
    return all(np.array_equal(x, y) for x, y in zip(xs, ys, strict=True))


def assert_blend(got, a, b, alpha):
    "Each weight of `got` is (1 − alpha)·a + alpha·b, to float32 rounding."
    for g, x, y in zip(got, a, b, strict=True):
        np.testing.assert_allclose(g, (1 - alpha) * x + alpha * y, rtol=1e-6, atol=1e-7)


def upscale(capsys, folder, *options):
    "`srgan-course upscale` of a 24×24 .npy slice in `folder` into o.npy there, with `options`; (code, stderr)."
    np.save(folder / "x.npy", np.random.default_rng(0).random((24, 24)))
    return run(capsys, "upscale", folder / "x.npy", "--out", folder / "o.npy", *options)[::2]


@pytest.fixture(scope="module")
def pair():
    "Two tiny G_HR of one architecture with different random weights."
    a, b = build_g_hr(width=8, num_blocks=1), build_g_hr(width=8, num_blocks=1)
    assert not same(a.get_weights(), b.get_weights())
    return a, b


@pytest.fixture(scope="module")
def probe():
    "One LR phantom slice (1, 24, 24, 1), as the network takes it."
    return data.degrade(phantoms.demo_slice(seed=1, size=96), 4)[None, ..., None].astype(np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "A user's own tiny ×4 G_HR saved as .keras (no realism fine-tune beside it)."
    path = tmp_path_factory.mktemp("user") / "tiny.keras"
    build_g_hr(width=8, num_blocks=1).save(path)
    return path


@pytest.fixture(scope="module")
def standin_folder(tmp_path_factory):
    "A weights folder: the shipped x2 and x4 files, and a perturbed copy of x4 standing in for g_hr_x4_gan.keras."
    folder = tmp_path_factory.mktemp("weights")
    for name in ("g_hr_x2.keras", "g_hr_x4.keras"): (folder / name).symlink_to(SHIPPED / name)
    gan = evaluate.load_generator(scale=4)
    rng = np.random.default_rng(0)
    nudge = lambda w: (0.1 * (w.std() + 1e-3) * rng.standard_normal(w.shape)).astype(w.dtype)   # a tenth of each spread
    gan.set_weights([w + nudge(w) for w in gan.get_weights()])
    gan.save(folder / f"g_hr_x4{evaluate.REALISM_SUFFIX}.keras")
    return folder


@pytest.fixture
def standin(standin_folder, monkeypatch):
    "The stand-in folder in place of the package's weights; (PSNR model, stand-in GAN model) as files load them."
    monkeypatch.setattr(evaluate, "WEIGHTS_FOLDER", standin_folder)
    gan = evaluate._read_generator(standin_folder / f"g_hr_x4{evaluate.REALISM_SUFFIX}.keras")
    return evaluate.load_generator(scale=4), gan


# --- interpolate_weights ----------------------------------------------------------------------------------

def test_interpolation_is_the_weighted_mean_with_exact_ends(pair):
    a, b = (m.get_weights() for m in pair)
    assert same(evaluate.interpolate_weights(*pair, 0.0).get_weights(), a)
    assert same(evaluate.interpolate_weights(*pair, 1.0).get_weights(), b)
    mid = evaluate.interpolate_weights(*pair, 0.5).get_weights()
    for m, x, y in zip(mid, a, b, strict=True): np.testing.assert_allclose(m, (x + y) / 2, rtol=1e-6, atol=1e-7)
    assert_blend(evaluate.interpolate_weights(*pair, 0.3).get_weights(), a, b, 0.3)
    assert same(pair[0].get_weights(), a) and same(pair[1].get_weights(), b), "the two models were changed"


def test_interpolation_at_zero_computes_what_a_computes(pair, probe):
    np.testing.assert_array_equal(evaluate.interpolate_weights(*pair, 0.0)(probe).numpy(), pair[0](probe).numpy())


@pytest.mark.parametrize("other, expected", [
    (dict(width=16, num_blocks=1), "shape"),                            # same count, other shapes
    (dict(width=8, num_blocks=2), "weights against"),                   # another count
    (dict(width=8, num_blocks=1, projection=False), "weights against"),
    (dict(width=8, num_blocks=1, scale=2), "scale=4 against 2"),        # identical weight shapes, another network
    (dict(width=8, num_blocks=1, upsample="zero_fill"), "interpolation"),
])
def test_different_architectures_are_refused(pair, other, expected):
    with pytest.raises(ValueError, match="different architectures") as e:
        evaluate.interpolate_weights(pair[0], build_g_hr(**other), 0.5)
    assert expected in str(e.value), e.value


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), float("inf"), "abc", None])
def test_alpha_outside_zero_one_is_refused(pair, alpha):
    with pytest.raises(ValueError, match="alpha"): evaluate.interpolate_weights(*pair, alpha)


# --- load_generator ---------------------------------------------------------------------------------------

def test_realism_zero_is_the_shipped_model_bit_for_bit(probe):
    plain, zero = evaluate.load_generator(), evaluate.load_generator(realism=0)
    assert same(zero.get_weights(), plain.get_weights())
    np.testing.assert_array_equal(zero(probe).numpy(), plain(probe).numpy())


def test_realism_blends_the_shipped_pair(standin, probe):
    psnr, gan = standin
    a, b = psnr.get_weights(), gan.get_weights()
    assert same(evaluate.load_generator(realism=1).get_weights(), b)
    np.testing.assert_array_equal(evaluate.load_generator(realism=1)(probe).numpy(), gan(probe).numpy())
    assert same(evaluate.load_generator(realism=0).get_weights(), a)    # the realism file is not even read
    levels = (0.25, 0.5, 0.75)
    blends = {A: evaluate.load_generator(realism=A) for A in levels}
    for A, model in blends.items(): assert_blend(model.get_weights(), a, b, A)
    # a control, not a switch: the output leaves the PSNR output steadily as A grows
    base = psnr(probe).numpy()
    moved = [0.0] + [float(np.abs(blends[A](probe).numpy() - base).mean()) for A in levels]
    moved.append(float(np.abs(gan(probe).numpy() - base).mean()))
    assert all(x < y for x, y in zip(moved, moved[1:])), moved


def test_realism_needs_the_shipped_weights(tiny):
    with pytest.raises(ValueError, match="--realism applies to the shipped weights"):
        evaluate.load_generator(tiny, realism=0.5)
    up = Upscaler(evaluate.load_generator(tiny))
    with pytest.raises(ValueError, match="--realism applies to the shipped weights"):
        evaluate.evaluate_model([], up, realism=0.5)
    assert evaluate.load_generator(tiny, realism=0.0) is not None


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("-inf"), "abc", "0.5x"])
def test_bad_realism_names_the_flag_and_value(bad):
    with pytest.raises(ValueError, match="--realism") as e: evaluate.load_generator(realism=bad)
    assert str(bad) in str(e.value)


def test_scales_without_realism_weights(standin):
    with pytest.raises(FileNotFoundError, match="no realism weights ship for x2: --realism needs --scale 4"):
        evaluate.load_generator(scale=2, realism=0.5)
    with pytest.raises(FileNotFoundError, match=r"\(shipped: x2, x4\)"):   # the realism file is no scale of its own
        evaluate.shipped_weights(3)
    assert evaluate.shipped_realism_weights(4).name == f"g_hr_x4{evaluate.REALISM_SUFFIX}.keras"


@pytest.mark.skipif(REAL_GAN.exists(), reason="realism weights ship: their own test below")
def test_no_realism_weights_yet_is_one_clear_error():
    with pytest.raises(FileNotFoundError, match="leave --realism at 0"): evaluate.load_generator(realism=0.5)


# --- command line -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["abc", "-0.1", "1.5", "nan", "inf", ""])
def test_bad_realism_on_the_command_line_is_one_line(tmp_path, capsys, bad):
    one_line(*upscale(capsys, tmp_path, "--realism", bad), "--realism")
    one_line(*run(capsys, "evaluate", "--data", tmp_path, "--realism", bad)[::2], "--realism")
    assert not (tmp_path / "o.npy").exists()


def test_realism_that_cannot_be_had_is_one_line(tmp_path, capsys, tiny):
    one_line(*upscale(capsys, tmp_path, "--realism", "0.5", "--scale", "2"), "no realism weights ship for x2")
    one_line(*upscale(capsys, tmp_path, "--realism", "0.5", "--weights", tiny), "--realism applies")
    one_line(*upscale(capsys, tmp_path, "--realism", "0.5", "--adapt", "1"), "--adapt and --realism")
    code, _, err = run(capsys, "evaluate", "--data", tmp_path, "--realism", "0.5", "--weights", tiny)
    one_line(code, err, "--realism applies")
    assert not (tmp_path / "o.npy").exists()


def test_scale_two_with_realism_when_x4_has_them(standin, tmp_path, capsys):
    one_line(*upscale(capsys, tmp_path, "--realism", "0.5", "--scale", "2"), "--realism needs --scale 4")


def test_upscale_realism_reaches_the_model(standin, tmp_path, capsys):
    psnr, gan = standin
    x = np.random.default_rng(0).random((24, 24)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    outputs = {}
    for A in ("0", "0.5", "1"):
        code, _, err = run(capsys, "upscale", tmp_path / "x.npy", "--out", tmp_path / f"o{A}.npy", "--realism", A)
        assert code == 0, err
        outputs[A] = np.load(tmp_path / f"o{A}.npy")
    np.testing.assert_array_equal(outputs["0"], evaluate.upscale_slices(x, Upscaler(psnr)))
    np.testing.assert_array_equal(outputs["1"], evaluate.upscale_slices(x, Upscaler(gan)))
    assert not np.array_equal(outputs["0.5"], outputs["0"]) and not np.array_equal(outputs["0.5"], outputs["1"])


def test_help_says_what_realism_means(capsys):
    for command in ("upscale", "evaluate"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "--realism A" in out and "PSNR" in out and "adversarial" in out, out


# --- the real realism weights, once they ship -------------------------------------------------------------

@pytest.mark.skipif(not REAL_GAN.exists(), reason=f"{REAL_GAN.name} does not ship yet")
def test_shipped_realism_weights_are_the_file_at_one(probe):
    import keras
    direct = keras.models.load_model(REAL_GAN, compile=False)
    at_one = evaluate.load_generator(realism=1)
    assert same(at_one.get_weights(), direct.get_weights())
    np.testing.assert_array_equal(at_one(probe).numpy(), direct(probe).numpy())
    evaluate.load_generator(realism=0.5)   # the pair has one architecture: the blend is defined
    with pytest.raises(FileNotFoundError, match=r"\(shipped: x2, x4\)"): evaluate.shipped_weights(3)
