"""`srgan_course.quiet()` keeps TensorFlow's known-harmless noise off stderr (see srgan_course/__init__.py),
and nothing else: a real warning and an unknown C++ log line still show. `import srgan_course` alone changes
nothing global."""
import os, platform, shutil, subprocess, sys, textwrap
from pathlib import Path

import pytest

import srgan_course

ROOT = Path(__file__).resolve().parents[1]

# What TF 2.21 printed on a CPU machine before srgan_course/__init__.py filtered it (abridged timestamps).
TF_START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795628962.070165    9568 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1795628962.070494    9568 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
E0000 00:00:1795628977.553616    9568 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""

# What TF 2.21 prints at the first float16 op where oneDNN is on but has no float16 kernels (seen under QEMU's x86).
DT_HALF = ("E0000 00:00:1796322340.287349    4137 util.cc:131] oneDNN supports DT_HALF only on platforms with AVX-512. "
           "Falling back to the default Eigen-based implementation if present.\n")
QEMU = shutil.which("qemu-x86_64")  # Debian's qemu-user: runs this venv's Python on an emulated x86 without AVX-512


def run_python(code, **env):
    "Run `code` in a fresh interpreter with TF_CPP_MIN_LOG_LEVEL unset (as a student's kernel); (stdout, stderr)."
    e = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    e.update(env)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT, env=e, timeout=600)
    assert p.returncode == 0, p.stderr
    return p.stdout, p.stderr


def test_drop_harmless_keeps_everything_else():
    real = "E0000 00:00:1795628977.553616    9568 cuda_platform.cc:52] failed call to cuInit: CUDA_ERROR_NO_DEVICE (100)\n"
    warn = "foo.py:3: UserWarning: a real warning\n  warnings.warn('a real warning')\n"
    feature = ("I0000 00:00:1795628962.148620    9568 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.\n"
               "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n")
    bf16 = DT_HALF.replace("DT_HALF", "DT_BFLOAT16")  # never printed by the package's float16 op: not in the list
    assert srgan_course.drop_harmless(TF_START_UP + DT_HALF) == ""
    assert srgan_course.drop_harmless(TF_START_UP + real + warn + feature + bf16) == real + warn + feature + bf16


def test_filter_writes_back_unknown_lines():
    out, err = run_python(r"""
        import os, sys, srgan_course
        with srgan_course.harmless_stderr_filtered():
            os.write(2, b'''WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
        E0000 00:00:1795628985.605514    9568 some_op.cc:1] something real failed
        ''')
            print("python-level stderr", file=sys.stderr)
        """)
    assert "absl::InitializeLog" not in err
    assert "something real failed" in err and "python-level stderr" in err


def test_quiet_import_but_real_warnings_show():
    out, err = run_python("""
        import warnings
        import srgan_course
        srgan_course.quiet()
        import keras, tensorflow as tf  # keras imports tensorflow: the first import is the filtered one
        tf.constant(1.0) + 1  # device start-up
        print(type(tf.__spec__.loader).__name__, tf.get_logger().level)
        warnings.warn("a real warning")
        """)
    assert "_QuietLoader" not in out, "the real loader must be put back on the module"
    assert err.strip() == "<string>:8: UserWarning: a real warning", err


def test_import_alone_changes_nothing_global():
    "A library user's process: no environment variable, import hook, TensorFlow option or logger setting from the import."
    probe = """
        import logging, os, sys
        {first}
        hooks = [type(f).__name__ for f in sys.meta_path if "Quiet" in type(f).__name__]
        env = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
        import tensorflow as tf
        log = tf.get_logger()
        print(hooks, env, tf.config.optimizer.get_experimental_options().get("remapping"), log.level, len(log.filters))
        """
    plain, _ = run_python(probe.format(first="pass"))
    imported, _ = run_python(probe.format(first="import srgan_course, srgan_course.data"))
    quieted, _ = run_python(probe.format(first="import srgan_course; srgan_course.quiet()"))
    assert imported == plain, (imported, plain)
    hooks, env, remapping, level, filters = quieted.split()
    assert plain.split()[:2] == ["[]", "None"] and (hooks, env, filters) == ("['_QuietTensorFlowFinder']", "2", "1"), quieted
    assert remapping == "False" and level != plain.split()[3], (quieted, plain)  # this machine has no GPU


def test_tiny_training_writes_nothing_to_stderr(tmp_path):
    "Start-up, strategy, the GAN's graph optimisation (the remapper), tf.data, interpreter exit: all silent."
    out, err = run_python(f"""
        import srgan_course
        srgan_course.quiet()
        from srgan_course.train import train_from_config
        train_from_config(dict(hr_patch=32, batch_size=2, width=8, num_blocks=1, d_width=8, warmup_steps=2, steps=4,
                               demo_volumes=2, demo_slices=4, val_every=2, val_batches=1, sample_every=1000,
                               log_every=2, verbose=0, out={str(tmp_path / 'run')!r}))
        """)
    assert "validation PSNR" in out
    assert err == "", f"stderr of a tiny training run:\n{err}"


def test_retracing_warning_only_for_real_retracing():
    "Models and Upscalers made one after another each trace once: no warning. A function really retraced still warns."
    out, err = run_python("""
        import numpy as np
        import srgan_course
        srgan_course.quiet()
        import keras, tensorflow as tf
        from srgan_course.generators import Upscaler
        x, y = np.zeros((4, 8, 8, 1), "float32"), np.zeros((4, 8, 8, 1), "float32")
        for i in range(8):  # eight models: Keras makes each its own train function, traced once
            m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3, padding="same")])
            m.compile("sgd", "mse"); m.fit(x, y, epochs=1, verbose=0)
            Upscaler(keras.Sequential([keras.Input((None, None, 1)), keras.layers.UpSampling2D(2)]))(np.zeros((2, 8, 8), "float32"))
        print("quiet so far", flush=True)
        @tf.function
        def f(n): return tf.constant(n) * 2
        for n in range(8): f(n)  # a Python int per call: a new trace every time, the retracing TF should warn about
        """)
    assert "quiet so far" in out
    assert "multi_step_on_iterator" not in err and "Upscaler" not in err, err
    assert "triggered tf.function retracing" in err and "<function f at" in err, err


def test_float16_op_waits_for_eager_start():
    "Where oneDNN is on, the float16 op of the DT_HALF row runs as the eager context starts, not at import."
    out, err = run_python("""
        import srgan_course
        srgan_course.quiet()
        import tensorflow as tf
        from tensorflow.python.eager import context
        from tensorflow.python.util import _pywrap_util_port
        waiting = "ensure_initialized" in vars(context.context())  # the float16 op, waiting for eager start-up
        print("waiting" if waiting else "not waiting", _pywrap_util_port.IsMklEnabled())
        cpu = tf.config.list_physical_devices("CPU")[0]  # chapter 06: logical CPUs, set before the context starts
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        tf.config.threading.set_intra_op_parallelism_threads(1)
        y = tf.reduce_mean(tf.abs(tf.cast(tf.ones((2, 2)), tf.float16)))
        print(len(tf.config.list_logical_devices("CPU")), "ensure_initialized" in vars(context.context()), float(y))
        """)
    waiting, mkl, logical, still_waiting, y = out.split()
    assert (waiting == "waiting") == (mkl == "True"), out
    assert (logical, still_waiting, y) == ("2", "False", "1.0"), out
    assert err == "", err


def test_float16_line_is_dropped_on_a_cpu_without_float16_kernels():
    """QEMU's x86 has AVX2 but no AVX-512: with oneDNN on (as on a Zen 4, which has AVX-512 but no AVX512-FP16)
    TF prints the DT_HALF line at the first float16 op. The package's op prints it inside the filter, which drops it,
    and the chapters' float16 ops (losses on float16, mixed precision, a traced function) print nothing."""
    if platform.machine() != "x86_64": pytest.skip("QEMU runs this venv's x86-64 Python only on an x86-64 host")
    if QEMU is None:
        msg = "the float16 test needs qemu-x86_64 (apt-get install qemu-user)"
        if os.environ.get("CI"): pytest.fail(f"{msg} (CI is set, so this is a failure: .ci/run installs it)")
        pytest.skip(msg)
    code = textwrap.dedent("""
        import srgan_course
        srgan_course.quiet()
        seen = []  # every text the filter captured, before it drops the known lines
        drop = srgan_course.drop_harmless
        srgan_course.drop_harmless = lambda text: seen.append(text) or drop(text)
        import keras, tensorflow as tf
        tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                                   [tf.config.LogicalDeviceConfiguration()] * 2)  # as chapter 06
        from srgan_course.cycle import cycle_loss
        from srgan_course.losses import content_l1
        x = tf.reshape(tf.range(8, dtype=tf.float32), (2, 2, 2, 1))
        cycle_loss(tf.cast(x, tf.float16), tf.cast(x + 1, tf.float16)); content_l1(tf.cast(x, tf.float16), x)
        tf.function(lambda a: tf.reduce_mean(a * a))(tf.constant([[1.0, 2.0]], tf.float16))
        keras.mixed_precision.set_global_policy("mixed_float16")
        keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, padding="same")])(tf.ones((1, 8, 8, 1)))
        print("DT_HALF dropped by the filter:", any("DT_HALF" in text for text in seen))
        """)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a student's shell
    env["TF_ENABLE_ONEDNN_OPTS"] = "1"  # on by default only with AVX512-VNNI/BF16, AVX-VNNI or AMX, which QEMU lacks
    p = subprocess.run([QEMU, "-cpu", "Haswell", sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=600)  # Haswell: AVX2, never AVX-512, whatever QEMU's version
    err = "".join(l for l in p.stderr.splitlines(keepends=True)  # QEMU's own notes on CPU flags it does not emulate
                  if not l.startswith("qemu-x86_64: warning: TCG doesn't support requested feature"))
    assert p.returncode == 0, err
    assert err == "", f"stderr on a CPU without float16 kernels:\n{err}"
    assert "DT_HALF dropped by the filter: True" in p.stdout, f"the emulated CPU no longer shows the line:\n{p.stdout}"
