"""srgan_course: SRResCycGAN super-resolution for MRI, a notebook-first course in TensorFlow / Keras 3.

Hand-maintained (not exported from a notebook). `srgan_course.quiet()` keeps TensorFlow's known-harmless
start-up noise off stderr, in this one place, so that red output in a chapter always means something. The
chapters and the `srgan-course` command call it; `import srgan_course` alone changes nothing global (no
environment variable, TensorFlow option, logger or import hook), so a library user's process is left as it
was. Each message `quiet()` silences, what prints it and why it is harmless:

| message (TF 2.21, CPU machine)                                   | printed by                          | silenced by |
|------------------------------------------------------------------|-------------------------------------|-------------|
| `WARNING: All log messages before absl::InitializeLog() ...`     | absl, once per TF shared library, at load | the import filter |
| `I... port.cc] oneDNN custom operations are on ...`               | TF at load: oneDNN (the x86 default) may change the last bits of results | the import filter |
| `I... cudart_stub.cc] Could not find cuda drivers ...`            | TF at load: no CUDA runtime, so CPU only | the import filter |
| `E... cuda_platform.cc] failed call to cuInit: ... (303)`         | device discovery: error 303 = no CUDA driver library at all (a CPU machine) | the import filter (other cuInit codes, e.g. a broken driver on a GPU machine, still show) |
| `E... util.cc] oneDNN supports DT_HALF only on platforms with AVX-512. Falling back to the default Eigen-based implementation if present.` | oneDNN's op rewrite, once per process, at the first float16 op on an x86 CPU where oneDNN is on but has no float16 kernels (AVX-512 without AVX512-FP16, e.g. AMD Zen 4; or AVX-VNNI without AVX-512): that op runs on TF's default Eigen kernel, the one it runs on with oneDNN off | the filter, around one float16 op as TF's eager context starts |
| `I... cpu_feature_guard.cc] This TensorFlow binary is optimized ...` | TF: unused CPU instructions       | `TF_CPP_MIN_LOG_LEVEL=2` |
| `I... generator_dataset_op.cc] Memory patch applied ...`          | tf.data, first generator dataset    | `TF_CPP_MIN_LOG_LEVEL=2` |
| `W... generator_dataset_op.cc] Error occurred when finalizing GeneratorDataset iterator ...` | tf.data at interpreter exit, after Python is gone | `TF_CPP_MIN_LOG_LEVEL=2` |
| `E... meta_optimizer.cc] remapper failed: INVALID_ARGUMENT: Mutation::Apply error ...` | grappler's op-fusion pass on the GAN's training step | remapping off on CPU-only machines |
| `INFO:tensorflow:Using MirroredStrategy with devices ...` etc.     | TF's Python logger, set to INFO in interactive sessions (Jupyter) | the `tensorflow` logger at WARNING |
| `WARNING:tensorflow:5 out of the last 11 calls to <function TensorFlowTrainer._make_function.<locals>.multi_step_on_iterator ...> triggered tf.function retracing` (or `Upscaler.__init__.<locals>.<lambda>`) | TF's retracing detector, when a process builds several models (or Upscalers): it counts traces per *source function*, so N instances each traced once read as retracing | a filter on the `tensorflow` logger for these two functions only (an Upscaler traces once: its input signature takes any shape) |

The first four are written by C++ *before* TensorFlow reads `TF_CPP_MIN_LOG_LEVEL` (absl logs everything
to stderr until it is initialised), so no setting reaches them: the first import of TensorFlow after
`quiet()` runs with file descriptor 2 captured, and afterwards every captured line that is
*not* one of these known messages is written back to stderr. Python warnings, tracebacks and any other
C++ message still show. The remapper error: grappler fails to fuse a Conv2D + BiasAdd + LeakyReLU whose
pre-activation the LeakyReluGrad also needs, logs the error and keeps the unfused graph, so the step runs
exactly as without the pass; with remapping off the message is gone and on CPU the measured speed is the
same (0.190 vs 0.188 s/step, training; G_HR inference no slower). On a GPU remapping stays on.

The DT_HALF line is a C++ ERROR, so `TF_CPP_MIN_LOG_LEVEL=2` keeps it, and it comes at a chapter's first float16
op (a loss checked on float16 inputs, a mixed-precision layer: chapters 04 to 10), not at import. TF prints it
once per process (an `absl::call_once`, whichever unsupported type comes first), so where oneDNN is on the package
runs one float16 cast on the CPU inside the filter right after TF's eager context starts (wrapping that context's
`ensure_initialized` for its first call): the line is printed there and dropped, a few milliseconds, and the
chapters' float16 ops print nothing. Not at import: an eager op then would start the context before chapters 06
and 14 split the CPU into logical devices, and a cast in a `tf.compat.v1.Session` instead would size TF's
process-wide intra-op thread pool before `tf.config.threading` could. A CPU with float16 kernels prints nothing;
code that never starts the eager context (a `tf.compat.v1.Session` of its own) can still show the line.

`TF_CPP_MIN_LOG_LEVEL` is only defaulted: set it to 0 before `quiet()` to see every C++ log line (the import
filter is then off too). Call `quiet()` before importing `tensorflow`/`keras` in a notebook: if TensorFlow is
already loaded its load-time lines have already been printed (the rest is still quietened).
"""
__version__ = "0.1.0"

import contextlib, importlib.abc, importlib.util, logging, os, re, sys, tempfile

# The known-harmless C++ lines TF_CPP_MIN_LOG_LEVEL cannot reach (the first five rows of the table).
HARMLESS_STDERR = (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\.",
    r"I\d{4} [\d:.]+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be used\.",
    r"E\d{4} [\d:.]+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit: .*\(303\)",
    r"E\d{4} [\d:.]+ +\d+ util\.cc:\d+\] oneDNN supports DT_HALF only on platforms with AVX-512\. Falling back to",
)
_HARMLESS = re.compile("|".join(f"(?:{p})" for p in HARMLESS_STDERR))


def drop_harmless(text):
    "`text` without the known-harmless lines (each is one line; anything else, e.g. a Python warning, is kept)."
    return "".join(line for line in text.splitlines(keepends=True) if not _HARMLESS.match(line))


@contextlib.contextmanager
def harmless_stderr_filtered():
    "Capture file descriptor 2 (where C++ writes) and write back all but the known-harmless lines."
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0" or sys.stderr is None:
        yield; return
    try: sys.stderr.flush(); saved = os.dup(2)
    except (OSError, ValueError, AttributeError): yield; return  # no usable fd 2: nothing to filter
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try: yield
        finally:
            try: sys.stderr.flush()
            except Exception: pass
            os.dup2(saved, 2); os.close(saved)
            captured.seek(0)
            kept = drop_harmless(captured.read().decode(errors="replace"))
            if kept: sys.stderr.write(kept); sys.stderr.flush()


# Functions traced once per instance: TF's retracing warning for them counts other instances' first traces.
ONCE_PER_INSTANCE = ("TensorFlowTrainer._make_function.<locals>.", "Upscaler.__init__.<locals>.<lambda>")


class _OncePerInstanceRetracing(logging.Filter):
    "Drop TF's retracing warning when it names a function traced once per instance (the last row of the table)."
    def filter(self, record):
        msg = record.getMessage()
        once = any(f"<function {n}" in msg for n in ONCE_PER_INSTANCE)
        return not ("triggered tf.function retracing" in msg and once)


def _float16_op_filtered(tf):
    "One float16 op on the CPU, stderr filtered: where oneDNN lacks float16, the DT_HALF line (table) is printed here."
    try:
        with harmless_stderr_filtered(), tf.init_scope():  # init_scope: eager even if called while a function traces
            if tf.executing_eagerly():
                with tf.device("/CPU:0"): tf.cast(tf.zeros(()), tf.float16)
    except Exception as e:  # runs inside the student's first TensorFlow call: never let quieting break it
        print(f"srgan_course: could not run the float16 check quietly ({e!r})", file=sys.stderr)


def _when_eager_starts(fn):
    "Call `fn()` once, right after TensorFlow's eager context starts (now, if it has started)."
    from tensorflow.python.eager import context
    ctx = context.context()
    if ctx._initialized: fn(); return
    if "ensure_initialized" in vars(ctx): return  # already waiting (srgan_course imported twice)
    start = ctx.ensure_initialized  # TF's one way into eager start-up; wrapped on this one object, for one call

    def ensure_initialized():
        start()
        if vars(ctx).pop("ensure_initialized", None) is not None: fn()
    ctx.ensure_initialized = ensure_initialized


def _after_tensorflow_import(tf):
    "Device discovery (prints the cuInit line) inside the filter; remapper, Python logger, float16 op at eager start."
    try:
        gpus = tf.config.list_physical_devices("GPU")
        if not gpus: tf.config.optimizer.set_experimental_options({"remapping": False})  # the remapper row above
        tf.get_logger().setLevel(logging.WARNING)  # INFO:tensorflow chatter off; warnings (e.g. retracing) still show
        if not any(isinstance(f, _OncePerInstanceRetracing) for f in tf.get_logger().filters):
            tf.get_logger().addFilter(_OncePerInstanceRetracing())  # ... but not the cross-instance count (table)
        from tensorflow.python.util import _pywrap_util_port
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0" and _pywrap_util_port.IsMklEnabled():  # the DT_HALF row
            _when_eager_starts(lambda: _float16_op_filtered(tf))
    except Exception as e:  # never let quieting break the import
        print(f"srgan_course: could not configure TensorFlow's logging ({e!r})", file=sys.stderr)


class _QuietLoader:
    "Runs the real loader of `tensorflow` with stderr filtered, then puts the real loader back on the module."
    def __init__(self, loader): self.loader = loader
    def create_module(self, spec): return self.loader.create_module(spec)
    def exec_module(self, module):
        try:
            with harmless_stderr_filtered():
                self.loader.exec_module(module)
                _after_tensorflow_import(module)
        finally:
            module.__loader__ = self.loader
            if getattr(module, "__spec__", None) is not None: module.__spec__.loader = self.loader
    def __getattr__(self, name): return getattr(self.loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    "Intercepts the first `import tensorflow` (also the one inside `import keras`), then steps aside."
    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow": return None
        with contextlib.suppress(ValueError): sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet():
    """Keep TensorFlow's known-harmless noise (the table above) off stderr from now on; call it before TensorFlow is
    imported.

    What the course's chapters and the `srgan-course` command switch on. `import srgan_course` alone changes nothing
    global, so a library user's own code sees TensorFlow exactly as it is. Calling it again does nothing more."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING off (table above); C++ ERRORs still show
    if "tensorflow" in sys.modules:  # imported before: its load-time lines are out already; quiet the rest
        if not any(isinstance(f, _OncePerInstanceRetracing) for f in sys.modules["tensorflow"].get_logger().filters):
            with harmless_stderr_filtered(): _after_tensorflow_import(sys.modules["tensorflow"])
    elif not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())

