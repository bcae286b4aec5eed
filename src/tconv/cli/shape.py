"""``tconv shape``: the output size of a transposed convolution, with the formula filled in."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ..shapes import PADDING_NAMES, Geometry, as_tuple
from ._args import Formatter, Subparsers

_SHAPE_DESCRIPTION = """\
Print the output size of a transposed convolution per dimension, with the formula filled in:

  output = (input - 1)*stride - lo - hi + dilation*(kernel - 1) + 1

where the crop (lo, hi) is (padding, padding - output_padding) for numeric padding (a negative
crop extends the output with zeros).
"""

_SHAPE_EPILOG = """\
examples:
  tconv shape --input 16 16 --kernel 2 --stride 2
  tconv shape --input 16 16 --kernel 3 --stride 2 --padding 1 --output-padding 1
  tconv shape --input 16 16 --kernel 4 --stride 2 --padding same
  tconv shape --input 8 12 --kernel 3 5 --stride 2 1 --dilation 1 2 --json

Each of --kernel, --stride, --padding, --output-padding and --dilation takes one value (used
for every dimension) or one value per dimension of --input. --padding also takes a name:
valid (the full output), same (output = input * stride, odd extra crop at the end) or
same_lower (odd extra crop at the start). Invalid settings print the reason and exit with
status 2.
"""


def add(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "shape",
        help="output size of a transposed convolution, with the formula filled in",
        description=_SHAPE_DESCRIPTION,
        epilog=_SHAPE_EPILOG,
        formatter_class=Formatter,
    )
    each = "one value, or one per dimension"
    p.add_argument(
        "--input",
        type=int,
        nargs="+",
        required=True,
        default=argparse.SUPPRESS,
        metavar="N",
        help="input spatial size, one value per dimension (1 to 3 values)",
    )
    p.add_argument(
        "--kernel",
        type=int,
        nargs="+",
        required=True,
        default=argparse.SUPPRESS,
        metavar="K",
        help=f"kernel size: {each}",
    )
    p.add_argument("--stride", type=int, nargs="+", default=1, metavar="S", help=f"stride: {each}")
    p.add_argument(
        "--padding",
        nargs="+",
        default=0,
        metavar="P",
        help=f"padding: {each}, or one of " + ", ".join(PADDING_NAMES),
    )
    p.add_argument(
        "--output-padding",
        type=int,
        nargs="+",
        default=0,
        metavar="OP",
        help=f"extra length at the end: {each}; each must be < max(stride, dilation)",
    )
    p.add_argument(
        "--dilation", type=int, nargs="+", default=1, metavar="D", help=f"dilation: {each}"
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    return p


def _padding_arg(values: int | Sequence[str]) -> Any:
    """``--padding`` values as the library takes them: ints, or one name (shapes validates)."""
    if isinstance(values, int):
        return values
    items: list[int | str] = [int(v) if v.lstrip("-").isdigit() else v for v in values]
    if len(items) == 1:
        return items[0]
    return tuple(items)


def run(args: argparse.Namespace) -> int:
    rank = len(args.input)
    padding = _padding_arg(args.padding)
    geom = Geometry.create(
        args.kernel, args.stride, padding, args.output_padding, args.dilation, rank=rank
    )
    size = tuple(args.input)
    out = geom.output_size(size)
    if args.json:
        torch_padding = geom.torch_padding()
        result = {
            "input": list(size),
            "kernel": list(geom.kernel_size),
            "stride": list(geom.stride),
            "dilation": list(geom.dilation),
            "padding": padding if isinstance(padding, str) else list(as_tuple(padding, rank, "")),
            "output_padding": list(as_tuple(args.output_padding, rank, "")),
            "crop": [list(c) for c in geom.crop],
            "full": list(geom.full_size(size)),
            "output": list(out),
            "torch": None
            if torch_padding is None
            else {"padding": list(torch_padding[0]), "output_padding": list(torch_padding[1])},
        }
        print(json.dumps(result))
        return 0
    print("formula: (input - 1)*stride - lo - hi + dilation*(kernel - 1) + 1")
    if isinstance(padding, str):
        print(f"crop: (lo, hi) from padding={padding!r}")
    else:
        print("crop: (lo, hi) = (padding, padding - output_padding)")
    for j, line in enumerate(geom.explain(size)):
        print(f"dim {j}: {line}")
    print("output: " + " x ".join(str(o) for o in out))
    return 0
