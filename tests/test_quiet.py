"""Importing srgan_course keeps TensorFlow's known-harmless noise off stderr (see srgan_course/__init__.py),
and nothing else: a real warning and an unknown C++ log line still show."""
import os, subprocess, sys, textwrap
from pathlib import Path

import srgan_course

ROOT = Path(__file__).resolve().parents[1]

# What TF 2.21 printed on a CPU machine before srgan_course/__init__.py filtered it (abridged timestamps).
TF_START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795628962.070165    9568 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1795628962.070494    9568 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
E0000 00:00:1795628977.553616    9568 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""


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
    assert srgan_course.drop_harmless(TF_START_UP) == ""
    assert srgan_course.drop_harmless(TF_START_UP + real + warn + feature) == real + warn + feature


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


def test_import_is_quiet_but_real_warnings_show():
    out, err = run_python("""
        import warnings
        import srgan_course
        import keras, tensorflow as tf  # keras imports tensorflow: the first import is the filtered one
        tf.constant(1.0) + 1  # device start-up
        print(type(tf.__spec__.loader).__name__, tf.get_logger().level)
        warnings.warn("a real warning")
        """)
    assert "_QuietLoader" not in out, "the real loader must be put back on the module"
    assert err.strip() == "<string>:7: UserWarning: a real warning", err


def test_tiny_training_writes_nothing_to_stderr(tmp_path):
    "Start-up, strategy, the GAN's graph optimisation (the remapper), tf.data, interpreter exit: all silent."
    out, err = run_python(f"""
        import srgan_course
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
