"""The speed benchmark (chapter 17): its peak is the best of interleaved timings, and an efficiency above it is refused.

The peak is the best matmul timing of blocks interleaved with the step timings (matmul, steps, matmul, …, matmul);
fake timers prove the order and that every block counts. The theoretical peak is read from sample /proc/cpuinfo texts.
"""
import pytest

from srgan_course import benchmark, cli
from srgan_course.benchmark import BenchmarkInvalid, interleave, theoretical_peak, timing_summary

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Processor
cpu MHz\t\t: 2596.140
siblings\t: 2
cpu cores\t: 2
flags\t\t: fpu sse sse2 fma avx avx2 avx512f
power management:

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
cpu MHz\t\t: 2596.140
siblings\t: 2
cpu cores\t: 2
flags\t\t: fpu sse sse2 fma avx avx2 avx512f
"""


def fake_blocks(rates):
    "A matmul block and a step block that log their turn; the matmul timings come from `rates`, in order."
    log, rates = [], iter(rates)
    def peak_block(): log.append("matmul"); return [next(rates)]
    def step_block(n): log.append(("steps", n)); return [1.0] * n
    return log, peak_block, step_block


def test_blocks_alternate_and_end_with_matmul():
    log, peak_block, step_block = fake_blocks([1, 2, 3, 4, 5, 6])
    rates, times = interleave(peak_block, step_block, steps=10, blocks=5)
    assert log == ["matmul"] + [("steps", 2), "matmul"] * 5
    assert list(rates) == [1, 2, 3, 4, 5, 6] and len(times) == 10
    log, peak_block, step_block = fake_blocks([1, 2, 3])
    interleave(peak_block, step_block, steps=2, blocks=5)   # never an empty block
    assert log == ["matmul", ("steps", 1), "matmul", ("steps", 1), "matmul"]


@pytest.mark.parametrize("best", range(4))
def test_peak_is_the_best_timing_of_every_block(best):
    timings = [100e9] * 4
    timings[best] = 300e9
    log, peak_block, step_block = fake_blocks(timings)
    rates, times = interleave(peak_block, step_block, steps=3, blocks=3)
    s = timing_summary(rates, times, flops_per_step=150e9)   # 150 GFLOP/s achieved
    assert s["peak_flops_per_s"] == 300e9 and s["peak_timings"] == 4 and s["timed_steps"] == 3
    assert s["peak_spread"] == pytest.approx(1 / 3) and s["efficiency"] == pytest.approx(0.5)


def test_an_efficiency_above_the_peak_is_refused_in_one_line():
    with pytest.raises(BenchmarkInvalid, match="machine was loaded") as e:
        timing_summary([100e9, 90e9], [1.0, 1.0], flops_per_step=110e9)   # the reported 110 %
    assert "110%" in str(e.value) and "\n" not in str(e.value)
    assert issubclass(BenchmarkInvalid, cli.USER_ERRORS)   # `srgan-course benchmark` prints it as one error line
    assert timing_summary([100e9], [1.0], flops_per_step=100e9)["efficiency"] == 1   # the bound itself is allowed


def tiny_benchmark(monkeypatch, rates):
    "`benchmark` at a tiny size with fake matmul timings; returns its result (or raises) and the order of the blocks."
    from srgan_course.generators import build_g_hr, Upscaler
    log, rates = [], iter(rates)
    def fake_rate(*args, **kwargs):
        def timed(): log.append("matmul"); return next(rates)
        return timed
    real_steps = benchmark.time_train_steps
    def logged_steps(*args, steps, warmup, **kwargs):
        log.append(("steps", steps, warmup)); return real_steps(*args, steps=steps, warmup=warmup, **kwargs)
    monkeypatch.setattr(benchmark, "matmul_rate", fake_rate)
    monkeypatch.setattr(benchmark, "time_train_steps", logged_steps)
    kw = dict(steps=3, warmup=1, batch_size=2, hr_patch=32, width=8, d_width=8, num_blocks=1, perceptual=False,
              weights=Upscaler(build_g_hr(1, 4, 8, 1)), volume_slices=2, blocks=3, peak_runs=2, progress=lambda m: None)
    try: return benchmark.benchmark(**kw), log
    except BenchmarkInvalid as e: return e, log


def test_benchmark_interleaves_and_keeps_the_best_block(monkeypatch):
    res, log = tiny_benchmark(monkeypatch, [1e15, 1e15, 2e15, 5e15, 1e15, 1e15, 1e15, 1e15])
    assert log == [("steps", 0, 1)] + ["matmul"] * 2 + [("steps", 1, 0), "matmul", "matmul"] * 3
    assert res["peak_flops_per_s"] == 5e15 and res["peak_timings"] == 8 and res["peak_spread"] == 0.2
    assert res["timed_steps"] == 3 and 0 < res["efficiency"] < 1
    assert res["efficiency"] == pytest.approx(res["flops_per_step"] / res["step_time_median_s"] / 5e15)
    assert {"theoretical_peak_flops_per_s", "theoretical_peak_basis", "peak_of_theoretical"} <= set(res)


def test_benchmark_refuses_a_peak_below_the_steps(monkeypatch):
    res, log = tiny_benchmark(monkeypatch, [1.0] * 8)   # 1 FLOP/s: every step beats it
    assert isinstance(res, BenchmarkInvalid) and "machine was loaded" in str(res)
    assert log[-1] == "matmul"   # refused after every block was measured


def test_theoretical_peak_from_cpuinfo():
    khz = 3_700_000   # cpufreq's cpuinfo_max_freq, kHz
    flops, how = theoretical_peak(CPUINFO, khz, cpus=2)
    assert flops == pytest.approx(2 * 3.7e9 * 16 * 2 * 2)   # cores × clock × lanes × 2 per FMA × 2 FMA units
    assert "FMA units per core (assumed)" in how and "cpuinfo_max_freq" in how
    assert theoretical_peak(CPUINFO, cpus=2) == (   # only the current clock (cpu MHz), which boost exceeds: no bound
        None, "no highest clock: cpufreq's cpuinfo_max_freq is not readable (cpu MHz is the current clock)")
    assert theoretical_peak(CPUINFO, khz, cpus=1)[0] == pytest.approx(flops / 2)   # affinity: one usable CPU
    smt = CPUINFO.replace("siblings\t: 2", "siblings\t: 4")   # 2 hyper-threads per core share its units
    assert theoretical_peak(smt, khz, cpus=4)[0] == pytest.approx(flops)
    assert theoretical_peak(CPUINFO.replace(" avx512f", ""), khz, cpus=2)[0] == pytest.approx(flops / 2)   # 8 lanes
    zen4 = CPUINFO.replace("GenuineIntel", "AuthenticAMD").replace("family\t: 6", "family\t: 25")
    assert theoretical_peak(zen4, khz, cpus=2)[0] == pytest.approx(flops / 2)   # AVX-512 on 256-bit units
    assert theoretical_peak(zen4.replace("family\t: 25", "family\t: 26"), khz, cpus=2)[0] == pytest.approx(flops)  # not Zen 4
    assert theoretical_peak(CPUINFO.replace(" fma", ""), khz, cpus=2)[0] == pytest.approx(flops)   # AVX-512 implies FMA
    no_fma = CPUINFO.replace(" fma", "").replace(" avx512f", "").replace(" avx2", "")
    assert theoretical_peak(no_fma, khz, cpus=2)[0] == pytest.approx(flops / 4)   # AVX without FMA: mul + add pipes
    arm = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n"
    assert theoretical_peak(arm, khz, cpus=4) == (None, "no x86 vector flags (avx512f, avx2, avx, sse) in /proc/cpuinfo")
    assert theoretical_peak("", khz, cpus=2)[0] is None


def test_theoretical_peak_on_this_machine():
    text, khz, cpus = benchmark.read_cpu()
    assert isinstance(text, str) and (khz is None or khz > 0) and cpus >= 1
    flops, how = theoretical_peak(text, khz, cpus)
    assert (flops is None or flops > 1e9) and how
    assert benchmark.read_cpu("/nonexistent/cpuinfo", "/nonexistent/max_freq")[:2] == ("", None)


def test_step_flops_at_the_paper_configuration():
    "The count `srgan-course benchmark` reports (one step, batch 16, VGG19 included), as before FLOPs moved to 17."
    from srgan_course.model import build_model
    from srgan_course.train import TrainConfig
    paper = build_model(TrainConfig.paper(verbose=0, perceptual_weights="random"))
    assert benchmark.step_flops(paper, (32, 32, 1), 16) == 1_717_320_505_216
