"""Time `tconv.upscale` on a 1-megapixel photo against bicubic interpolation, round-robin.

    python benchmarks/upscale.py                # x2 and x4 shipped models, 5 rounds, 1000x1000
    python benchmarks/upscale.py --rounds 9 --size 1000 --tile 256 --threads 2
    python benchmarks/upscale.py --scales 2 --ensemble                   # also with --ensemble
    python benchmarks/upscale.py --scales 4 --best                       # also --quality best
    python benchmarks/upscale.py --scales 2 --checkpoint runs/a/model.pt runs/b/model.pt

Each round times every contender (the shipped model, with ``--ensemble`` the shipped model
with the 8-transform ensemble, with ``--best`` the x4 ``quality="best"`` setting, each
``--checkpoint``) and bicubic interpolation
(``tconv.upscale.bicubic_array``) on the same uint8 RGB image (scikit-image's astronaut resized
to SIZE x SIZE), in an order that rotates from round to round; prints each contender's median
(s) and the median of its per-round ratios to bicubic. The first call (model loading, warm-up)
is excluded.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from tconv.train.data import load_photo
from tconv.upscale import bicubic_array, load_sr_model, shipped_model, upscale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: keep)")
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--ensemble", action="store_true", help="also time --ensemble")
    parser.add_argument("--best", action="store_true", help="also time x4 --quality best")
    parser.add_argument(
        "--checkpoint", nargs="*", default=[], help="also time these tconv train sr checkpoints"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x = load_photo("astronaut")[None]
    x = F.interpolate(x, size=(args.size, args.size), mode="bicubic").clamp(0, 1)[0]
    image = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    threads = torch.get_num_threads()
    print(f"input {args.size}x{args.size} RGB uint8, tile {args.tile}, threads {threads}")
    for scale in args.scales:
        runs: dict[str, Callable[[], object]] = {}
        model, _, _ = load_sr_model(scale)
        runs["shipped"] = partial(upscale, image, scale, model=model, tile=args.tile)
        if args.ensemble:
            runs["shipped --ensemble"] = partial(
                upscale, image, scale, model=model, tile=args.tile, ensemble=True
            )
        if args.best and scale == 4:
            best = shipped_model(4, "best")
            runs["shipped --quality best"] = partial(upscale, image, 4, model=best, tile=args.tile)
        for path in args.checkpoint:
            m, s, _ = load_sr_model(None, path)
            if s == scale:
                runs[path] = partial(upscale, image, scale, model=m, tile=args.tile)
        runs["bicubic"] = partial(bicubic_array, image, scale)
        for run in runs.values():  # warm-up
            run()
        times: dict[str, list[float]] = {k: [] for k in runs}
        names = list(runs)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                t = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - t)
        cubic = times["bicubic"]
        print(f"x{scale}: bicubic median {statistics.median(cubic):.3f} s")
        for name in names[:-1]:
            ratios = [a / b for a, b in zip(times[name], cubic)]
            print(
                f"x{scale}: {name}: median {statistics.median(times[name]):.2f} s "
                f"(min {min(times[name]):.2f}), per-round ratio to bicubic median "
                f"{statistics.median(ratios):.1f}x"
            )


if __name__ == "__main__":
    main()
