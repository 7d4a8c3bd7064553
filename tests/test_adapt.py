"""srgan_course.adapt: test-time adaptation (zero-shot SR on the input scan), CI-sized.

The claim: adapting G_HR to a scan it has never seen, using nothing but that scan's own LR, raises PSNR against
the scan's (never seen) HR. Checked on a held-out phantom slice with a from-scratch G_HR (ZSSR proper) within a
few seconds; the weights file given, and the shipped weights, are only ever read; bad budgets are one-line errors.
And the claim that makes adaptation safe: an adaptation that does not beat the unadapted weights on the scan's own
held-out pairs is not used — the output is the unadapted one, bit for bit; and the anchor keeps the copy near the
unadapted output at the scale it is used at, where the pairs mislead (a phantom knee).
"""
import hashlib, re, time

import numpy as np
import pytest

from srgan_course import adapt, cli, data, evaluate, metrics
from srgan_course import phantoms
from srgan_course.generators import build_g_hr


def fingerprint(path):
    "SHA-256 and modification time of a file."
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    "A held-out phantom slice (a seed no chapter trains on), its ×4 k-space-truncated LR saved as .npy in arbitrary units."
    folder = tmp_path_factory.mktemp("phantom")
    hr = phantoms.demo_slice(seed=777, size=320)
    lr = data.degrade(hr, 4)
    np.save(folder / "lr.npy", lr * 1234.5)
    return hr, lr, folder / "lr.npy"


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), 3601, "soon", None])
def test_bad_budget_is_a_value_error_naming_adapt(bad, tmp_path):
    "Checked before anything is read or loaded."
    with pytest.raises(ValueError, match="--adapt"):
        adapt.adapt_upscaler(tmp_path / "not-even-there.npy", seconds=bad)


@pytest.mark.parametrize("bad", ["0", "-5", "nan", "inf", "3601"])
def test_cli_bad_adapt_exits_2(bad, phantom, tmp_path, capsys):
    "`srgan-course upscale --adapt BAD`: exit 2, one error line naming --adapt, nothing written."
    out = tmp_path / "sr.npy"
    with pytest.raises(SystemExit) as e: cli.main(["upscale", str(phantom[2]), "--adapt", bad, "--out", str(out)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--adapt" in err and "Traceback" not in err and not out.exists()


def test_adapting_beats_unadapted_on_a_heldout_phantom(phantom, tmp_path):
    "Zero-shot: an untrained G_HR adapted on the LR alone for 12 s beats itself unadapted and zero-fill; its file is untouched."
    hr, lr, src = phantom
    weights = tmp_path / "scratch.keras"
    build_g_hr(1, 4, width=16, num_blocks=2, upsample="zero_fill", alpha_init=8.0).save(weights)
    before = fingerprint(weights)
    adapted = adapt.adapt_upscaler(src, weights=weights, seconds=12, seed=0, learning_rate=1e-3,
                                   anchor=0)   # from scratch: a larger step, and nothing to stay near
    assert fingerprint(weights) == before
    assert adapted.model.adaptation["steps"] > 20 and adapted.model.adaptation["kept"], adapted.model.adaptation
    unadapted = evaluate.Upscaler(evaluate.load_generator(weights))
    score = lambda up: metrics.psnr(hr, evaluate.upscale_slices(lr, up), 1.0)
    zero_fill = metrics.psnr(hr, data.upsample(lr, 4, "zero_fill"), 1.0)
    gain = score(adapted) - score(unadapted)
    assert gain > 0.1 and score(adapted) > zero_fill + 0.1, (gain, score(adapted), zero_fill)


def test_shipped_weights_are_only_read(phantom):
    "`upscale --adapt` with the shipped weights: the package's weights file keeps its hash and time stamp."
    shipped = evaluate.shipped_weights(4)
    before = fingerprint(shipped)
    up = adapt.adapt_upscaler(phantom[2], seconds=5)
    assert up(phantom[1]).shape == (320, 320) and up.model is not None
    assert fingerprint(shipped) == before


def test_budget_is_held_and_the_step_compiles_once():
    "Wall time within 10 % of the budget (compile time included, unless compiling alone overruns it); one trace serves scans of any size."
    g = build_g_hr(1, 4, width=8, num_blocks=1, upsample="zero_fill")
    lr = data.degrade(phantoms.demo_slice(seed=5, size=320), 4)
    start = time.perf_counter()
    adapted = adapt.adapt_generator(g, lr, seconds=5)
    took = time.perf_counter() - start
    assert took < 1.1 * max(5, adapted.adaptation["compile_seconds"]) and adapted.adaptation["steps"] > 0, (took, adapted.adaptation)
    assert adapted.adaptation["stopped_early"] or took > 4.5, (took, adapted.adaptation)   # the budget is used unless stopped early
    adapter = adapt.Adapter(g)
    for x in (lr, data.degrade(phantoms.demo_slice(seed=6, size=240), 4)[None].repeat(3, 0)):
        adapter.adapt(x, 2.0 + adapter.trace_seconds)
        assert adapter.last["steps"] > 0
    assert adapter.compiled_train_step.experimental_get_tracing_count() == 1


def test_an_adaptation_that_fails_falls_back_to_the_unadapted_output(phantom):
    "A step size that wrecks the copy (Adam at 0.5): the held-out pairs catch it, and the output is the unadapted one, bit for bit."
    hr, lr, _ = phantom
    g = evaluate.load_generator(None, 4)
    adapted = adapt.adapt_generator(g, lr, seconds=8, learning_rate=0.5, check_every=5, patience=2)
    info = adapted.adaptation
    assert not info["kept"] and info["held_out_gain_db"] < adapt.MIN_GAIN_DB and info["steps"] > 0, info
    np.testing.assert_array_equal(evaluate.Upscaler(adapted)(lr), evaluate.Upscaler(g)(lr))


def test_the_anchor_keeps_adaptation_from_hurting_where_the_pairs_mislead(tmp_path):
    """A phantom knee with receiver noise (held-out seed 2024, from its measured k-space). The pairs alone teach the shipped
    weights something that lowers PSNR against the scan's HR, although their own held-out pairs report a gain. With the
    anchor, the same 60 steps keep the output within 0.05 dB of the unadapted one, and the held-out pairs still gain."""
    path = phantoms.make_demo_data(tmp_path, volumes=1, seed=2024)[0]
    target = data.read_volume(path, load_kspace=False).target
    _, norm = data.normalize_volume(target)
    lr, hr = metrics._lr_hr(data.check_volume(path, check_values=False), target, np.arange(len(target)), 4, "kspace", 0.025,
                            np.random.default_rng(0), norm)
    g = evaluate.load_generator(None, 4)
    unadapted = metrics.psnr(hr, evaluate.Upscaler(g)(lr), 1.0)
    loss = {}
    for anchor in (0.0, adapt.ANCHOR):
        adapter = adapt.Adapter(g, anchor=anchor, patience=100)
        adapted = adapter.adapt(lr, 600, max_steps=60)
        assert adapter.last["steps"] == 60 and adapter.last["kept"], adapter.last
        loss[anchor] = unadapted - metrics.psnr(hr, evaluate.Upscaler(adapted)(lr), 1.0)
    assert loss[0.0] > 0.3 and abs(loss[adapt.ANCHOR]) < 0.05, loss


def test_sons_carry_the_scans_noise(phantom):
    "A son is as noisy as its father (σ measured on a flat region), and the estimate used for it is the scan's own."
    noisy = data.degrade(np.full((6, 384, 384), 0.5, np.float32), 4, noise_sigma=0.03, rng=1)
    sons, fathers = adapt.zssr_pairs(noisy, 4, noise_sigma=0.03, flips=False)
    assert abs(sons[:, 2:-2, 2:-2].std() - fathers.std()) < 0.004, (sons.std(), fathers.std())
    quiet, _ = adapt.zssr_pairs(noisy, 4, noise_sigma=0.0, flips=False)
    assert quiet[:, 2:-2, 2:-2].std() < 0.5 * fathers.std()   # without it the son is ~s times cleaner than its father
    adapter = adapt.Adapter(build_g_hr(1, 4, width=8, num_blocks=1, upsample="zero_fill"))
    adapter.adapt(noisy, 1.0 + adapter.trace_seconds)
    assert abs(adapter.last["noise_sigma"] - 0.03) < 0.005, adapter.last


def test_cli_says_what_adaptation_did(phantom, tmp_path, capsys):
    "`upscale --adapt`: one line with the steps, the noise, the held-out gain and whether the adapted copy was kept or fell back."
    out = tmp_path / "sr.npy"
    cli.main(["upscale", str(phantom[2]), "--adapt", "15", "--out", str(out)])  # compile time counts: room for steps under load
    err = capsys.readouterr().err
    said = re.findall(r"^adapted \d+ s: (\d+) steps(?: \(stopped early\))?, noise σ [\d.e-]+, ([+-]\d+\.\d\d) dB on held-out pairs: "
                      r"(kept the adapted copy \(best at step \d+\)|fell back to the unadapted weights \(adaptation did not beat them\))$",
                      err, re.M)
    assert out.exists() and len(said) == 1 and int(said[0][0]) > 0, err
    assert said[0][2].startswith("kept") == (float(said[0][1]) >= adapt.MIN_GAIN_DB), err


def test_a_scan_too_small_to_check_is_not_adapted(tmp_path, capsys):
    "No held-out pairs, no adaptation: no steps are spent, the CLI says so, and the output is the unadapted one."
    lr = data.degrade(phantoms.demo_slice(seed=9, size=160), 4)   # 40×40 LR: nothing left to hold out
    g = evaluate.load_generator(None, 4)
    adapted = adapt.adapt_generator(g, lr, seconds=20)
    assert adapted.adaptation["steps"] == 0 and not adapted.adaptation["checked"] and not adapted.adaptation["kept"]
    assert adapted.adaptation["seconds"] < 10, adapted.adaptation
    np.testing.assert_array_equal(evaluate.Upscaler(adapted)(lr), evaluate.Upscaler(g)(lr))
    np.save(tmp_path / "small.npy", lr)
    cli.main(["upscale", str(tmp_path / "small.npy"), "--adapt", "20", "--out", str(tmp_path / "sr.npy")])
    assert "not adapted: the scan is too small to hold out pairs" in capsys.readouterr().err


def test_no_improvement_with_a_zero_margin_keeps_the_unadapted_weights():
    "min_gain_db=0 and a copy that never changes (learning rate 0): nothing beat the original, so nothing is kept (and no crash)."
    g = build_g_hr(1, 4, width=8, num_blocks=1, upsample="zero_fill")
    lr = data.degrade(phantoms.demo_slice(seed=5, size=320), 4)
    adapter = adapt.Adapter(g, learning_rate=0.0, check_every=2, patience=2, min_gain_db=0.0)
    adapter.adapt(lr, 2.0 + adapter.trace_seconds)
    assert adapter.last["checked"] and not adapter.last["kept"] and adapter.last["held_out_gain_db"] == 0.0, adapter.last


def test_adaptation_table_reports_the_mean_the_worst_run_and_the_fall_backs():
    "A known case: two volumes, two seeds each, one run fell back; the row says the mean, the worst volume's worst run, 1 of 4."
    rows = [dict(volume=v, method=m, seed=sd, budget=b, psnr=p, ssim=0.5, kept=k) for v, off in (("a", 0.0), ("b", 1.0))
            for m, sd, b, p, k in (("zero_fill", None, 0.0, 28.0, None), ("unadapted", None, 0.0, 29.0, None),
                                   ("adapt_30s_seed0", 0, 30.0, 29.0 + off, off > 0), ("adapt_30s_seed1", 1, 30.0, 29.4 + off, True))]
    table = adapt.adaptation_table(dict(runs={"x4 sigma 0.01": dict(scale=4, noise_sigma=0.01, rows=rows, summary=adapt.adaptation_summary(rows))}))
    assert table.splitlines()[-1] == "| MNI152 | ×4 | 0.01 | +0.70 ± 0.20 | +0.00 | +0.000 | +1.70 | 1 of 4 |", table
