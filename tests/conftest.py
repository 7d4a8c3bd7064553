import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before any kernel or TensorFlow starts
os.environ.setdefault("MPLBACKEND", "Agg")
