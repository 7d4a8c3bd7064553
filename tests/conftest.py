import os, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any kernel or TensorFlow starts
os.environ.setdefault("MPLBACKEND", "Agg")
# demo volumes made by the tests (and the notebooks' kernels, which inherit this) go to a scratch cache,
# not the user's ~/.cache
os.environ.setdefault("SRGAN_COURSE_CACHE", tempfile.mkdtemp(prefix="srgan_course_test_cache_"))

import srgan_course
srgan_course.quiet()  # the test process as quiet as the chapters and the CLI (an import alone changes nothing)
