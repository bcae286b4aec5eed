"""Per-call overhead of tconv against torch on tiny layers, where Python work is the cost.

A tiny layer (one image of 4 channels, 4 pixels a side, k4 s2 p1) takes a few microseconds in
torch's kernel, so whatever Python does around it shows. For 1-, 2- and 3-D, with and without
a bias, this times

- ``tconv.nn.ConvTransposeNd`` (``method="native"``) against ``torch.nn.ConvTransposeNd``,
- ``tconv.conv_transpose`` (``method="native"``) against ``F.conv_transpose{1,2,3}d``,
- ``method="auto"`` (module and function) against the same torch baselines, after auto's
  one measurement for the signature,
- torch against itself (``A/A``: how far from 1.00 two identical calls read: the noise),

each timed as a block of ``--calls`` calls back to back with the baseline's block (the order
alternating between rounds), and prints per-call times and the median of the per-pair ratios
``time(torch) / time(tconv)`` (1.00 = no overhead; below 1 = slower than torch).

Usage::

    .venv/bin/python benchmarks/overhead.py [--rounds 21] [--calls 200] [--threads 1] [--grad]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import tconv
import tconv.nn as tnn

_F = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_TORCH_NN = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
_TCONV_NN = {1: tnn.ConvTranspose1d, 2: tnn.ConvTranspose2d, 3: tnn.ConvTranspose3d}


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn`` over ``calls`` calls back to back."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def paired(
    base: Callable[[], object], other: Callable[[], object], rounds: int, calls: int
) -> tuple[float, float, float]:
    """Median per-call time of ``base`` and ``other`` and the median per-round ratio
    ``time(base) / time(other)``, the two blocks of each round back to back, the order
    alternating."""
    for _ in range(max(calls // 4, 5)):  # warm-up (auto measures its signature here)
        base()
        other()
    tb, to, ratios = [], [], []
    for r in range(rounds):
        if r % 2:
            a = per_call(other, calls)
            b = per_call(base, calls)
        else:
            b = per_call(base, calls)
            a = per_call(other, calls)
        tb.append(b)
        to.append(a)
        ratios.append(b / a)
    return statistics.median(tb), statistics.median(to), statistics.median(ratios)


def cases(rank: int, bias: bool) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """(torch baseline, tconv contender) per name, for one tiny layer."""
    torch.manual_seed(0)
    x = torch.randn(1, 4, *(4,) * rank)
    ref = _TORCH_NN[rank](4, 4, 4, stride=2, padding=1, bias=bias)
    mods = {m: _TCONV_NN[rank](4, 4, 4, stride=2, padding=1, bias=bias, method=m) for m in
            ("native", "auto")}  # fmt: skip
    for mod in mods.values():
        mod.load_state_dict(ref.state_dict())
    w, b = ref.weight.detach(), None if ref.bias is None else ref.bias.detach()
    conv = _F[rank]

    def fn(method: str) -> Callable[[], object]:
        return lambda: tconv.conv_transpose(x, w, b, 2, 1, method=method)  # type: ignore[arg-type]

    def torch_fn() -> object:
        return conv(x, w, b, 2, 1)

    def torch_nn() -> object:
        return ref(x)

    return {
        "A/A function": (torch_fn, lambda: conv(x, w, b, 2, 1)),
        "module native": (torch_nn, lambda: mods["native"](x)),
        "function native": (torch_fn, fn("native")),
        "module auto": (torch_nn, lambda: mods["auto"](x)),
        "function auto": (torch_fn, fn("auto")),
    }


def main(argv: list[str] | None = None) -> int:
    from tconv.cli._args import int_range

    p = argparse.ArgumentParser(
        prog="overhead.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    p.add_argument("--rounds", type=int_range(1, 1000), default=21, help="pairs of blocks")
    p.add_argument("--calls", type=int_range(1, 100000), default=200, help="calls per block")
    p.add_argument("--threads", type=int_range(1, 1024), default=1, help="torch threads")
    p.add_argument("--grad", action="store_true", help="record gradients (weights require grad)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.rounds} rounds x "
        f"{args.calls} calls, input (1, 4, 4...) k4 s2 p1, "
        f"{'gradients recorded' if args.grad else 'no_grad'}"
    )
    print()
    print("| layer | bias | contender | torch us | tconv us | +us | speed (torch/tconv) |")
    print("|---|---|---|---|---|---|---|")
    speeds: dict[str, list[float]] = {}
    with torch.set_grad_enabled(args.grad):
        for rank in (1, 2, 3):
            for bias in (False, True):
                for name, (base, other) in cases(rank, bias).items():
                    tb, to, ratio = paired(base, other, args.rounds, args.calls)
                    speeds.setdefault(name, []).append(ratio)
                    print(
                        f"| {rank}-D | {'yes' if bias else 'no'} | {name} | {1e6 * tb:.1f} | "
                        f"{1e6 * to:.1f} | {1e6 * (to - tb):+.1f} | {ratio:.2f} |"
                    )
    print()
    for name, values in speeds.items():
        print(f"- {name}: speed {min(values):.2f} to {max(values):.2f} (torch = 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
