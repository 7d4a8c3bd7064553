"""A fixed workload that stands for a chapter's: start Python, import NumPy, Keras and TensorFlow, build and compile a
small convolutional network, then train it for 61 steps on the CPU (the first one traces it).

`tests/test_notebooks.py` times it in a fresh process when a chapter overruns its budget, to tell a slow chapter
from a slow (or busy) machine: the budgets in `tests/notebook_params` are seconds on a machine where this workload
takes `REFERENCE_S` seconds of wall time, interpreter start included (the 2-core Intel Xeon this project is
developed on, quiet, median of 5 runs on 2026-12-06).
Run as a script it prints the seconds its workload took, without the interpreter's start (REFERENCE_S is the whole
process, timed from outside as `reference_seconds` in tests/test_notebooks.py does).
"""
import time

REFERENCE_S = 8.75


def workload():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    conv = lambda w: keras.layers.Conv2D(w, 3, padding="same", activation="relu")
    layers = [keras.Input((32, 32, 1)), *[conv(32) for _ in range(4)], keras.layers.Conv2D(1, 3, padding="same")]
    model = keras.Sequential(layers)
    model.compile("adam", "mae")
    x = np.random.default_rng(0).random((8, 32, 32, 1), dtype=np.float32)
    for _ in range(61): model.train_on_batch(x, x)


if __name__ == "__main__":
    start = time.perf_counter()
    workload()
    print(f"{time.perf_counter() - start:.3f}")
