"""``tconv shape``: the output size of a transposed convolution, with the formula filled in."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..shapes import Coverage, Geometry, as_tuple
from ._args import add_geometry, parse_padding

DESCRIPTION = """\
Print the output size of a transposed convolution per dimension, with the formula filled in:

  output = (input - 1)*stride - lo - hi + dilation*(kernel - 1) + 1

where the crop (lo, hi) is (padding, padding - output_padding) for numeric padding (a negative
crop extends the output with zeros).
"""

EPILOG = """\
examples:
  tconv shape --input 16 16 --kernel 2 --stride 2
  tconv shape --input 16 16 --kernel 3 --stride 2 --padding 1 --output-padding 1
  tconv shape --input 16 16 --kernel 4 --stride 2 --padding same
  tconv shape --input 6 --kernel 3 --stride 2 --padding 1,-2     # a (lo, hi) crop pair
  tconv shape --input 8 12 --kernel 3 5 --stride 2 1 --dilation 1 2 --json

Each of --kernel, --stride, --padding, --output-padding and --dilation takes one value (used
for every dimension) or one value per dimension of --input. --padding also takes a LO,HI crop
pair per dimension (negative values extend with zeros) or a name: valid (the full output),
same (output = input * stride, odd extra crop at the end) or same_lower (odd extra crop at the
start). Invalid settings print the reason and exit with status 2. Settings that leave output
cells no input reaches (holes between the kernel taps, or cells past the full output) print a
warning line: those cells hold only the bias.
"""


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv shape`` (its parser comes from the command table)."""
    add_geometry(
        p, required=True, input_help="input spatial size, one value per dimension (1 to 3 values)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    rank = len(args.input)
    padding = parse_padding(args.padding)
    geom = Geometry.create(
        args.kernel, args.stride, padding, args.output_padding, args.dilation, rank=rank
    )
    size = tuple(args.input)
    out = geom.output_size(size)
    try:
        coverage: Coverage | None = geom.coverage(size)
        not_counted = ""
    except ValueError as err:  # a kernel and a stride both above a million: not counted
        coverage, not_counted = None, str(err)
    if args.json:
        torch_padding = geom.torch_padding()
        result = {
            "input": list(size),
            "kernel": list(geom.kernel_size),
            "stride": list(geom.stride),
            "dilation": list(geom.dilation),
            "padding": _json_padding(padding, rank),
            "output_padding": list(as_tuple(args.output_padding, rank, "")),
            "crop": [list(c) for c in geom.crop],
            "full": list(geom.full_size(size)),
            "output": list(out),
            "torch": None
            if torch_padding is None
            else {"padding": list(torch_padding[0]), "output_padding": list(torch_padding[1])},
            "full_coverage": None if coverage is None else coverage.full,
            "uncovered": None if coverage is None else coverage.uncovered,
            "warning": not_counted or (coverage and coverage.describe()) or None,
        }
        print(json.dumps(result))
        return 0
    print("formula: (input - 1)*stride - lo - hi + dilation*(kernel - 1) + 1")
    if isinstance(padding, str):
        print(f"crop: (lo, hi) from padding={padding!r}")
    elif geom.torch_padding() is None:
        print("crop: (lo, hi) as given")
    else:
        print("crop: (lo, hi) = (padding, padding - output_padding)")
    for j, line in enumerate(geom.explain(size)):
        print(f"dim {j}: {line}")
    print("output: " + " x ".join(str(o) for o in out))
    if coverage is None:
        print(f"note: {not_counted}")
    elif not coverage.full:
        print(f"warning: {coverage.describe()}")
    return 0


def _json_padding(padding: Any, rank: int) -> Any:
    """The padding as given: a name, one int per dimension, or one [lo, hi] per dimension."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        pairs = padding * rank if len(padding) == 1 else padding
        return [list(pair) for pair in pairs]
    return list(as_tuple(padding, rank, "padding"))
