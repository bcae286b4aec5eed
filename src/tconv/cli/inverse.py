"""``tconv inverse``: the transposed convolution that restores a convolution's input size."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._args import parse_padding, size_type

DESCRIPTION = """\
The transposed convolution that maps a convolution's output back to exactly its input size
(the U-Net skip-connection problem): same kernel, stride, dilation and padding, with the
output_padding that restores SIZE. With the convolution's weight it is its exact adjoint.
"""

EPILOG = """\
examples:
  tconv inverse --kernel 3 --stride 2 --padding 1 39
  tconv inverse --kernel 3 --stride 2 --padding 1 39x40 --json
  tconv inverse --kernel 4 --stride 4 30 31 32 33
  tconv inverse --kernel 3x5 --stride 2 --padding 1x2 64x48
  tconv inverse --kernel 3 --stride 2 --padding 0,1 39          # pads (begin, end)
  tconv inverse --kernel 3 --stride 2 --padding same 39 40

--padding same is the convolution's 'same': with stride 1, PyTorch's Conv(padding='same'); with
a larger stride (which PyTorch's Conv refuses) it is read as TensorFlow/Keras's: conv output =
ceil(input / stride), the total pad split with the odd one at the end, so the pads depend on
SIZE; the output says so and shows them.
"""


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv inverse`` (its parser comes from the command table)."""
    p.add_argument(
        "sizes",
        type=size_type,
        nargs="+",
        metavar="SIZE",
        help="the convolution's input size(s), e.g. 39 or 39x40",
    )
    p.add_argument(
        "--kernel",
        type=size_type,
        required=True,
        default=argparse.SUPPRESS,
        metavar="K",
        help="the convolution's kernel size, e.g. 3 or 3x5",
    )
    p.add_argument("--stride", type=size_type, default=(1,), metavar="S", help="its stride")
    p.add_argument(
        "--padding",
        default="0",
        metavar="P",
        help="its padding, one token: an int, one int per dimension joined by x (1x0), "
        "LO,HI pairs (1,2 or 1,2x0,1), or same / valid (same with a stride > 1: "
        "TensorFlow/Keras's, see below)",
    )
    p.add_argument("--dilation", type=size_type, default=(1,), metavar="D", help="its dilation")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from ..planning import inverse_of, keras_conv_padding

    padding: Any = parse_padding(args.padding)
    keras_same = padding == "same" and any(v > 1 for v in args.stride)
    rows = []
    for size in args.sizes:
        conv_padding = padding
        if keras_same:  # PyTorch refuses it; TensorFlow/Keras pads to ceil(input / stride)
            conv_padding = keras_conv_padding(size, args.kernel, args.stride, args.dilation)
        conv = {
            "kernel_size": args.kernel,
            "stride": args.stride,
            "padding": conv_padding,
            "dilation": args.dilation,
        }
        inv = inverse_of(conv, size)
        rows.append((size, conv_padding, inv))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "input": list(s),
                        "conv_output": list(p.input_size),
                        **({"conv_padding": [list(c) for c in pads]} if keras_same else {}),
                        **p.as_dict(),
                    }
                    for s, pads, p in rows
                ]
            )
        )
        return 0
    if keras_same:
        print(
            "padding 'same' with stride > 1 read as TensorFlow/Keras's: conv output = "
            "ceil(input / stride), pads (begin, end) per size (PyTorch's Conv refuses it)"
        )
    for size, pads, inv in rows:
        n = "x".join(map(str, size))
        m = "x".join(map(str, inv.input_size))
        conv_text = "conv"
        if keras_same:
            conv_text += " (pads " + " ".join(f"({lo}, {hi})" for lo, hi in pads) + ")"
        print(
            f"{n} -> {conv_text} -> {m} -> transposed conv ({inv}) -> "
            f"{'x'.join(map(str, inv.output_size()))}"
        )
    return 0
