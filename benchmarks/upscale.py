"""Time `tconv.upscale` (shipped model) on a 1-megapixel photo against bicubic, round-robin.

    python benchmarks/upscale.py                # x2 and x4, 5 rounds, 1000x1000 input
    python benchmarks/upscale.py --rounds 9 --size 1000 --tile 256 --threads 2

Each round times the shipped model and bicubic interpolation (``tconv.upscale.bicubic_array``)
on the same uint8 RGB image (scikit-image's astronaut resized to SIZE x SIZE), in alternating
order; prints the medians (s) and the median of the per-round ratios model / bicubic. The
first call (model loading, warm-up) is excluded and reported separately.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from tconv.train.data import load_photo
from tconv.upscale import bicubic_array, load_sr_model, upscale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: keep)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x = load_photo("astronaut")[None]
    x = F.interpolate(x, size=(args.size, args.size), mode="bicubic").clamp(0, 1)[0]
    image = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    threads = torch.get_num_threads()
    print(f"input {args.size}x{args.size} RGB uint8, tile {args.tile}, threads {threads}")
    for scale in (2, 4):
        t0 = time.perf_counter()
        model, _, _ = load_sr_model(scale)
        upscale(image[:64, :64], scale, model=model)
        first = time.perf_counter() - t0
        sr, cubic, ratios = [], [], []
        for r in range(args.rounds):
            order = ("model", "bicubic") if r % 2 == 0 else ("bicubic", "model")
            times = {}
            for which in order:
                t = time.perf_counter()
                if which == "model":
                    upscale(image, scale, model=model, tile=args.tile)
                else:
                    bicubic_array(image, scale)
                times[which] = time.perf_counter() - t
            sr.append(times["model"])
            cubic.append(times["bicubic"])
            ratios.append(times["model"] / times["bicubic"])
        print(
            f"x{scale}: shipped model median {statistics.median(sr):.2f} s "
            f"(min {min(sr):.2f}), bicubic median {statistics.median(cubic):.3f} s, "
            f"per-round ratio median {statistics.median(ratios):.1f}x "
            f"(load + warm-up {first:.2f} s)"
        )


if __name__ == "__main__":
    main()
