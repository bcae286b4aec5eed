"""``tconv plan``: settings that map an input size exactly to an output size."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ._args import int_range, size_type

DESCRIPTION = """\
List transposed-convolution settings that map an input size exactly to an output size, each
verified through the geometry, ranked: full coverage first (every output cell receives input),
then even overlap (no checkerboard from overlap), then fewest multiply-adds per output element,
then the smallest kernel. A plan that leaves output cells no input reaches (holes between the
kernel taps, or an output_padding past the full output: those cells hold only the bias) comes
after every plan without and is marked in the coverage column. Sizes are per dimension,
written 16 or 16x12.
"""

EPILOG = """\
examples:
  tconv plan 16 33
  tconv plan 16x12 33x25 --kernel 3 4 --stride 2
  tconv plan 16 100 --kernel 3 --stride 2 --allow-crop
  tconv plan 7 28 --dilation 1 2 --json

When nothing under the constraints reaches the target, the reason and the reachable range are
printed and the exit status is 2.
"""


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv plan`` (its parser comes from the command table)."""
    from ..planning import MAX_DEFAULT_STRIDE

    p.add_argument("input", type=size_type, metavar="INPUT", help="input size, e.g. 16 or 16x12")
    p.add_argument("output", type=size_type, metavar="OUTPUT", help="target size, e.g. 33 or 33x25")
    p.add_argument(
        "--kernel",
        type=int_range(1),
        nargs="+",
        default=None,
        metavar="K",
        help="kernel sizes to consider (default: 1 to 8)",
    )
    p.add_argument(
        "--stride",
        type=int_range(1),
        nargs="+",
        default=None,
        metavar="S",
        help="strides to consider (default: 1 to ceil(output / input) + 1, at most "
        f"{MAX_DEFAULT_STRIDE}; a larger ratio needs several layers or explicit strides)",
    )
    p.add_argument(
        "--dilation",
        type=int_range(1),
        nargs="+",
        default=[1],
        metavar="D",
        help="dilations to consider",
    )
    p.add_argument(
        "--allow-crop",
        action="store_true",
        help="allow explicit (begin, end) crops that PyTorch's arguments cannot say",
    )
    p.add_argument(
        "--max-results",
        type=int_range(1, 1000),
        default=20,
        metavar="N",
        help="plans to list, 1 to 1000",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _plan_table(plans: Sequence[Any]) -> str:
    header = (
        "#",
        "kernel",
        "stride",
        "padding",
        "out pad",
        "dilation",
        "overlap",
        "MACs/out",
        "coverage",
    )
    rows = []
    for n, p in enumerate(plans, 1):

        def cell(values: Sequence[Any]) -> str:
            return "x".join(f"({v[0]},{v[1]})" if isinstance(v, tuple) else str(v) for v in values)

        rows.append(
            (
                str(n),
                cell(p.kernel_size),
                cell(p.stride),
                ("crop " if p.explicit_crop else "") + cell(p.padding),
                cell(p.output_padding),
                cell(p.dilation),
                "even" if p.uniform_overlap else "uneven",
                f"{p.macs_per_output:.2f}",
                "full" if p.full_coverage else f"{p.uncovered} empty",
            )
        )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in (header, *rows)]
    empty = [str(n) for n, p in enumerate(plans, 1) if not p.full_coverage]
    if empty:
        which = f"plan {empty[0]}" if len(empty) == 1 else f"plans {', '.join(empty)}"
        lines.append(f"empty: output cells that no input reaches ({which}); they hold only the")
        lines.append("       bias, whatever the weights, so they rank after every plan without")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..planning import plan

    plans = plan(
        args.input,
        args.output,
        kernel_sizes=args.kernel,
        strides=args.stride,
        dilations=args.dilation,
        allow_crop=args.allow_crop,
        max_results=args.max_results,
    )
    if args.json:
        print(json.dumps([p.as_dict() for p in plans]))
        return 0
    size = "x".join(map(str, args.input))
    target = "x".join(map(str, args.output))
    print(
        f"{size} -> {target}: {len(plans)} plan(s), best first "
        "(MACs/out = multiply-adds per output element per channel pair)"
    )
    print(_plan_table(plans))
    return 0
