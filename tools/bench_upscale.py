"""Time and peak memory of upscaling one large slice ×4 with the shipped weights, tiled and untiled; and the time of a
whole 256-slice volume ×4 and ×2 (320×320 HR slices) at several batch sizes (slices per forward pass).

    .venv/bin/python tools/bench_upscale.py       # writes nbs/results/upscale_large.json (the README's speed tables)

Each case runs in its own process, so its peak resident memory (`ru_maxrss`) is its own: the first call traces the
network, the second is the steady time. Cases that would not fit in memory untiled are skipped untiled.
"""
import json, os, platform, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [(512, 0), (512, None), (1024, None)]  # (LR side, tile): 0 = untiled, None = the tile chosen from free memory
CASE = """
import json, resource, sys, time
import numpy as np
import srgan_course
from srgan_course.evaluate import load_generator
from srgan_course.generators import Upscaler
n, tile = {n}, {tile!r}
up = Upscaler(load_generator(None, 4), tile=tile)
x = np.random.default_rng(0).random((n, n)).astype(np.float32)
times = []
for _ in range(2):
    t0 = time.perf_counter(); y = up(x); times.append(time.perf_counter() - t0)
print(json.dumps(dict(lr_side=n, hr_side=int(y.shape[0]), tile=up.tile_size() if tile != 0 else 0, first_s=times[0],
                      steady_s=times[1], peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20)))
"""

VOLUME_CASES = [(4, 80), (2, 160)]  # (scale, LR side): 320×320 HR slices, as a fastMRI knee
VOLUME_SLICES, BATCHES = 256, (1, 4, 8)
VOLUME = """
import json, time
import numpy as np
import srgan_course
from srgan_course.evaluate import load_generator
from srgan_course.generators import Upscaler
scale, n, slices = {scale}, {n}, {slices}
g = load_generator(None, scale)
x = np.random.default_rng(0).random((slices, n, n)).astype(np.float32)
for batch in {batches}:
    up = Upscaler(g, batch_size=batch)
    up(x[:batch])                                   # trace once (any shape after that)
    t0 = time.perf_counter(); y = up(x); took = time.perf_counter() - t0
    print(json.dumps(dict(scale=scale, lr_side=n, hr_side=int(y.shape[1]), slices=slices, batch_size=batch, volume_s=took,
                          slices_per_s=slices / took)), flush=True)
"""


def main():
    volumes = []
    for scale, n in VOLUME_CASES:
        out = subprocess.run([sys.executable, "-c", VOLUME.format(scale=scale, n=n, slices=VOLUME_SLICES, batches=BATCHES)],
                             capture_output=True, text=True, check=True)
        volumes += [json.loads(l) for l in out.stdout.strip().splitlines() if l.startswith("{")]
        print(*volumes[-len(BATCHES):], sep="\n", flush=True)
    rows = []
    for n, tile in CASES:
        out = subprocess.run([sys.executable, "-c", CASE.format(n=n, tile=tile)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    res = dict(command="tools/bench_upscale.py", machine=f"{os.cpu_count()} CPU cores, {platform.machine()}",
               date=time.strftime("%Y-%m-%d"), rows=rows, volumes=volumes)
    (ROOT / "nbs" / "results" / "upscale_large.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
