"""What packing subpixel's weight on every call costs in inference.

``method="subpixel"`` packs the layer's weight into one ordinary convolution's weight on every
call (:func:`tconv.methods.subpixel.subpixel_weight`): a weight can change in place without
any trace a cache could read, so nothing derived from it is kept between calls
(``tconv.convert.to_subpixel`` packs once, into a layer of its own, for those who want that).
Times :func:`tconv.methods.subpixel.forward_packed` against the same steps with the weight
packed beforehand, under ``no_grad``, the two back to back in pairs
(:func:`tconv.timing.paired_timings`), and prints the medians and the same-run ratio:

    python benchmarks/subpixel_repack.py              # 1 thread, 30 pairs per layer
    python benchmarks/subpixel_repack.py --repeat 10
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch
import torch.nn.functional as F

from tconv.methods import subpixel
from tconv.shapes import Geometry
from tconv.shuffle import pixel_shuffle
from tconv.timing import paired_speed, paired_timings

#: (name, rank, in, out, input size, kernel, stride, padding, groups, batch, dtype)
LAYERS = [
    ("tiny 2-D 8->4 6x6 k4 s2", 2, 8, 4, 6, 4, 2, 1, 1, 1, torch.float32),
    ("DCGAN 2-D 256->128 8x8 k4 s2, batch 1", 2, 256, 128, 8, 4, 2, 1, 1, 1, torch.float32),
    ("DCGAN 2-D 256->128 8x8 k4 s2, batch 16", 2, 256, 128, 8, 4, 2, 1, 1, 16, torch.float32),
    ("U-Net 2-D 512->256 16x16 k2 s2", 2, 512, 256, 16, 2, 2, 0, 1, 1, torch.float32),
    ("large 2-D 64->64 128x128 k4 s2", 2, 64, 64, 128, 4, 2, 1, 1, 1, torch.float32),
    ("k3 s2 2-D 64->64 32x32 (zero taps)", 2, 64, 64, 32, 3, 2, 1, 1, 1, torch.float32),
    ("1-D 64->32 L256 k4 s2", 1, 64, 32, 256, 4, 2, 1, 1, 1, torch.float32),
    ("3-D 32->16 8^3 k4 s2", 3, 32, 16, 8, 4, 2, 1, 1, 1, torch.float32),
    ("depthwise bf16 2-D 64 32x32 k4 s2", 2, 64, 64, 32, 4, 2, 1, 64, 1, torch.bfloat16),
]


def time_layer(
    rank: int,
    c_in: int,
    c_out: int,
    size: int,
    k: int,
    s: int,
    p: int,
    g: int,
    n: int,
    dtype: torch.dtype,
    repeat: int,
) -> tuple[float, float, float]:
    """Medians (s) of packing once and of packing on every call, and their same-run ratio."""
    geom = Geometry.create((k,) * rank, stride=s, padding=p, groups=g)
    x = torch.randn(n, c_in, *(size,) * rank, dtype=dtype)
    w = torch.randn(c_in, c_out // g, *(k,) * rank, dtype=dtype)
    b = torch.randn(c_out, dtype=dtype)
    conv_weight, padding, crop = subpixel.subpixel_weight(w, geom)
    pads = [v for lo, hi in reversed(padding) for v in (lo, hi)]
    conv = subpixel._CONV[rank]

    def each_call() -> torch.Tensor:
        return subpixel.forward_packed(x, w, b, geom)

    def packed_once() -> torch.Tensor:  # forward_packed's steps after the packing
        bias = b.repeat_interleave(math.prod(geom.stride))
        y = pixel_shuffle(conv(F.pad(x, pads), conv_weight, bias, 1, 0, 1, g), geom.stride)
        cut = [slice(lo, y.shape[2 + j] - hi) for j, (lo, hi) in enumerate(crop)]
        return y[(slice(None), slice(None), *cut)]

    with torch.no_grad():
        assert torch.equal(each_call(), packed_once())  # the same steps
        (pairs,) = paired_timings(packed_once, [each_call], repeat)
    once = statistics.median(a for a, _, _ in pairs)
    each = statistics.median(b for _, b, _ in pairs)
    return once, each, 1 / paired_speed(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed pairs per layer (>= 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    if args.repeat < 2 or args.threads < 1:
        parser.error("--repeat must be >= 2 and --threads >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeat} pairs per layer")
    print(f"{'layer':40s} {'packed once':>12s} {'each call':>10s} {'ratio':>6s}")
    for name, *layer in LAYERS:
        once, each, ratio = time_layer(*layer, repeat=args.repeat)  # type: ignore[arg-type]
        print(f"{name:40s} {once * 1e3:9.3f} ms {each * 1e3:7.3f} ms {ratio:6.2f}")


if __name__ == "__main__":
    main()
