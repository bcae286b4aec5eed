"""The ``tconv`` command line.

Each subcommand is two functions, registered once in :data:`COMMANDS`:

- ``_add_<name>(subparsers)`` declares the subcommand and its flags and returns its parser;
- ``_run_<name>(args)`` calls the library with the parsed values, prints, and returns the exit
  status.

A subcommand only parses and prints; the work is done by the library. Bad input never gives a
traceback: a :class:`~tconv.shapes.ShapeError`, ``ValueError``, ``TypeError`` or ``OSError``
raised by the library (:data:`USER_ERRORS`) becomes one line on stderr,
``tconv <name>: error: <message>``, and exit status 2, as argparse's own usage errors do;
Ctrl-C exits with status 130.

Example:
    >>> main(["shape", "--input", "16", "--kernel", "2", "--stride", "2"])
    formula: (input - 1)*stride - lo - hi + dilation*(kernel - 1) + 1
    crop: (lo, hi) = (padding, padding - output_padding)
    dim 0: (16 - 1)*2 - 0 - 0 + 1*(2 - 1) + 1 = 32
    output: 32
    0
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from .shapes import PADDING_NAMES, Geometry, ShapeError, as_tuple

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["COMMANDS", "USER_ERRORS", "build_parser", "main"]

PROG = "tconv"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the epilog's line breaks and show each flag's default as it is typed.

    ``(default: ...)`` is added unless the help already says it or there is nothing to show
    (no default, ``None``, an off switch); lists print as typed (``1 2``), size tuples as
    ``16x12``.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default:" in text
            or "%(default)" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not (action.option_strings or action.nargs in (argparse.OPTIONAL, "*"))
        ):
            return text
        return f"{text} (default: {_typed(default)})".replace("%", "%%").replace("%%(", "%(")


def _typed(value: object) -> str:
    """A default as the user would type it: ``[1, 2]`` -> ``1 2``, ``(16, 12)`` -> ``16x12``."""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an int in ``low..high`` (``high`` None: no upper end).

    >>> _int_range(1, 1000)("20")
    20
    >>> _int_range(1, 1000)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 0 is out of range: valid values are 1 to 1000
    """
    valid = f"{low} to {high}" if high is not None else f"{low} or more"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid integer {text!r}: valid values are {valid}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: valid values are {valid}")
        return value

    return parse


# ---------------------------------------------------------------------------------------------
# tconv shape

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


def _add_shape(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "shape",
        help="output size of a transposed convolution, with the formula filled in",
        description=_SHAPE_DESCRIPTION,
        epilog=_SHAPE_EPILOG,
        formatter_class=_Formatter,
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


def _run_shape(args: argparse.Namespace) -> int:
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


# ---------------------------------------------------------------------------------------------
# tconv inspect

_INSPECT_DESCRIPTION = """\
Run a model once with forward hooks and print a table of its layers: name, type,
input -> output shape, settings, whether the kernel taps overlap evenly over the output phases,
the checkerboard score of each upsampling layer (0 = none; see docs/artifacts.md) and
multiply-adds, then a summary with advice.

TARGET is 'package.module:callable' (called with no arguments; it returns an nn.Module, or is
one) or the path of a module saved with torch.jit.save (TorchScript). A file saved with
torch.save(model) is a pickle, and loading a pickle can run arbitrary code: it is read only
with --trust-pickle (use it only for files whose source you trust).
"""

_INSPECT_EPILOG = """\
examples:
  tconv inspect mypkg.models:build_unet --input 1x3x64x64
  tconv inspect generator.pt --input 1x100x1x1 --json
  tconv inspect my_own_model.pt --input 1x3x64x64 --trust-pickle

--input needs the batch and channel dimensions (N x C x spatial sizes): 3x32x32 for a 2-D
model is refused rather than run as one unbatched sample. Shapes are checked on the 'meta'
device first (no memory used): an input or a layer step that needs more than --max-memory is
refused with the memory it would need. A model that cannot be imported, loaded or run on the
input prints one line and exits with status 2.
"""


def _gibibytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: e.g. 4 or 0.5") from None
    if not 0 < value < 2**40 or value != value:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a number of GiB > 0")
    return value


def _add_inspect(subparsers: Subparsers) -> argparse.ArgumentParser:
    from .inspection import DEFAULT_MAX_MEMORY

    p = subparsers.add_parser(
        "inspect",
        help="table of a model's upsampling layers: overlap, checkerboard score, advice",
        description=_INSPECT_DESCRIPTION,
        epilog=_INSPECT_EPILOG,
        formatter_class=_Formatter,
    )
    p.add_argument("target", metavar="TARGET", help="package.module:callable, or a saved module")
    p.add_argument(
        "--input",
        required=True,
        default=argparse.SUPPRESS,
        metavar="NxCxHxW",
        help="input shape, batch and channels first, e.g. 1x3x64x64 (1 to 3 spatial sizes)",
    )
    p.add_argument(
        "--max-memory",
        type=_gibibytes,
        default=DEFAULT_MAX_MEMORY / 2**30,
        metavar="GIB",
        help="refuse an input or a layer step that needs more memory than this, in GiB",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load a pickled module (torch.save(model)): unpickling runs any code the "
        "file holds, so only for files from a source you trust",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    return p


def _run_inspect(args: argparse.Namespace) -> int:
    from .inspection import inspect_model, parse_shape
    from .loading import load_model

    shape = parse_shape(args.input)
    model = load_model(args.target, trust_pickle=args.trust_pickle)
    report = inspect_model(model, shape, name=args.target, max_memory=int(args.max_memory * 2**30))
    print(report.to_json() if args.json else report.format())
    return 0


# ---------------------------------------------------------------------------------------------
# tconv plan / tconv inverse

_PLAN_DESCRIPTION = """\
List transposed-convolution settings that map an input size exactly to an output size, each
verified through the geometry, ranked: even overlap first (no checkerboard from overlap), then
fewest multiply-adds per output element, then the smallest kernel. Sizes are per dimension,
written 16 or 16x12.
"""

_PLAN_EPILOG = """\
examples:
  tconv plan 16 33
  tconv plan 16x12 33x25 --kernel 3 4 --stride 2
  tconv plan 16 100 --kernel 3 --stride 2 --allow-crop
  tconv plan 7 28 --dilation 1 2 --json

When nothing under the constraints reaches the target, the reason and the reachable range are
printed and the exit status is 2.
"""


def _lengths(text: str, low: int) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: expected lengths joined by 'x', e.g. 16 or 16x12"
        ) from None
    if not 1 <= len(values) <= 3:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected 1 to 3 lengths")
    if any(v < low for v in values):
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: every length must be >= {low}")
    return values


def _size(text: str) -> tuple[int, ...]:
    """``"16x12"`` as ``(16, 12)``: 1 to 3 lengths, each >= 1 (sizes, kernels, strides)."""
    return _lengths(text, 1)


def _add_plan(subparsers: Subparsers) -> argparse.ArgumentParser:
    from .planning import MAX_DEFAULT_STRIDE

    p = subparsers.add_parser(
        "plan",
        help="settings that map an input size exactly to an output size",
        description=_PLAN_DESCRIPTION,
        epilog=_PLAN_EPILOG,
        formatter_class=_Formatter,
    )
    p.add_argument("input", type=_size, metavar="INPUT", help="input size, e.g. 16 or 16x12")
    p.add_argument("output", type=_size, metavar="OUTPUT", help="target size, e.g. 33 or 33x25")
    p.add_argument(
        "--kernel",
        type=int,
        nargs="+",
        default=None,
        metavar="K",
        help="kernel sizes to consider (default: 1 to 8)",
    )
    p.add_argument(
        "--stride",
        type=int,
        nargs="+",
        default=None,
        metavar="S",
        help="strides to consider (default: 1 to ceil(output / input) + 1, at most "
        f"{MAX_DEFAULT_STRIDE}; a larger ratio needs several layers or explicit strides)",
    )
    p.add_argument(
        "--dilation", type=int, nargs="+", default=[1], metavar="D", help="dilations to consider"
    )
    p.add_argument(
        "--allow-crop",
        action="store_true",
        help="allow explicit (begin, end) crops that PyTorch's arguments cannot say",
    )
    p.add_argument(
        "--max-results",
        type=_int_range(1, 1000),
        default=20,
        metavar="N",
        help="plans to list, 1 to 1000",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def _plan_table(plans: Sequence[Any]) -> str:
    header = ("#", "kernel", "stride", "padding", "out pad", "dilation", "overlap", "MACs/out")
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
            )
        )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in (header, *rows)]
    return "\n".join(lines)


def _run_plan(args: argparse.Namespace) -> int:
    from .planning import plan

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


_INVERSE_DESCRIPTION = """\
The transposed convolution that maps a convolution's output back to exactly its input size
(the U-Net skip-connection problem): same kernel, stride, dilation and padding, with the
output_padding that restores SIZE. With the convolution's weight it is its exact adjoint.
"""

_INVERSE_EPILOG = """\
examples:
  tconv inverse --kernel 3 --stride 2 --padding 1 39
  tconv inverse --kernel 3 --stride 2 --padding 1 39x40 --json
  tconv inverse --kernel 4 --stride 4 30 31 32 33
  tconv inverse --kernel 3x5 --stride 2 --padding 1x2 64x48
  tconv inverse --kernel 3 --stride 2 --padding same 39 40

--padding same is the convolution's 'same': with stride 1, PyTorch's Conv(padding='same'); with
a larger stride (which PyTorch's Conv refuses) it is read as TensorFlow/Keras's: conv output =
ceil(input / stride), the total pad split with the odd one at the end, so the pads depend on
SIZE; the output says so and shows them.
"""


def _add_inverse(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "inverse",
        help="the transposed convolution that restores a convolution's input size",
        description=_INVERSE_DESCRIPTION,
        epilog=_INVERSE_EPILOG,
        formatter_class=_Formatter,
    )
    p.add_argument(
        "sizes",
        type=_size,
        nargs="+",
        metavar="SIZE",
        help="the convolution's input size(s), e.g. 39 or 39x40",
    )
    p.add_argument(
        "--kernel",
        type=_size,
        required=True,
        default=argparse.SUPPRESS,
        metavar="K",
        help="the convolution's kernel size, e.g. 3 or 3x5",
    )
    p.add_argument("--stride", type=_size, default=(1,), metavar="S", help="its stride")
    p.add_argument(
        "--padding",
        default="0",
        metavar="P",
        help="its padding: e.g. 1 or 1x0, or same / valid (same with a stride > 1: "
        "TensorFlow/Keras's, see below)",
    )
    p.add_argument("--dilation", type=_size, default=(1,), metavar="D", help="its dilation")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def _run_inverse(args: argparse.Namespace) -> int:
    from .planning import inverse_of, keras_conv_padding

    padding: Any = args.padding
    if padding not in ("same", "valid"):
        try:
            padding = _lengths(padding, 0)
        except argparse.ArgumentTypeError:
            raise ShapeError(
                f"--padding {padding!r} is invalid: expected lengths >= 0 such as 1 or 1x0, "
                "or same / valid"
            ) from None
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


# ---------------------------------------------------------------------------------------------
# tconv bench

_BENCH_DESCRIPTION = """\
Time the layer catalog (tconv.bench.CATALOG: U-Net, DCGAN, the seed article's layer, FCN
bilinear, depthwise, ESPCN, HiFi-GAN 1-D, 'same', asymmetric and circular cases) forward and
forward+backward, in float32 and bfloat16, NCHW and channels_last: torch's kernel, tconv's
method="auto" and other methods, tconv.nn, and the peers (JAX, Keras 3 on the torch backend,
onnxruntime; the 'interop' extra). Figures are medians; speeds are medians of per-round ratios
to torch timed in the same run (round-robin, alternating order); GFLOP/s count true
multiply-adds, and '% mm' compares them with a matrix product of the same size in the same run.
"""

_BENCH_EPILOG = """\
examples:
  tconv bench --quick
  tconv bench --layers dcgan-b1 seed-k3 --dtypes float32 --peers
  tconv bench --markdown BENCHMARKS.md --plot docs/figures/bench.png --force   (= make bench)
  tconv bench --device cuda --peers --json gpu.json
"""

#: The most torch threads ``tconv bench --threads`` accepts.
BENCH_MAX_THREADS = max(os.cpu_count() or 1, 1)


def _add_bench(subparsers: Subparsers) -> argparse.ArgumentParser:
    from .bench import CATALOG, DTYPES, LAYOUTS, PASSES, PEERS, TCONV_METHODS

    p = subparsers.add_parser(
        "bench",
        help="time the layer catalog: torch, tconv (auto, methods) and peers",
        description=_BENCH_DESCRIPTION,
        epilog=_BENCH_EPILOG,
        formatter_class=_Formatter,
    )
    names = [layer.name for layer in CATALOG]
    p.add_argument(
        "--layers",
        nargs="+",
        choices=names,
        default=names,
        metavar="NAME",
        help="catalog layers to time: " + ", ".join(names),
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a quick subset: five layers, float32, NCHW, 3 rounds (unless given)",
    )
    p.add_argument(
        "--passes",
        nargs="+",
        choices=PASSES,
        default=list(PASSES),
        metavar="PASS",
        help="forward, and backward (= forward + backward)",
    )
    p.add_argument(
        "--dtypes",
        nargs="+",
        choices=list(DTYPES),
        default=list(DTYPES),
        metavar="DTYPE",
        help="float32, bfloat16",
    )
    p.add_argument(
        "--layouts",
        nargs="+",
        choices=LAYOUTS,
        default=list(LAYOUTS),
        metavar="LAYOUT",
        help="nchw, channels_last (input memory layout)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        choices=TCONV_METHODS,
        default=["auto", "subpixel", "dilate", "scatter"],
        metavar="METHOD",
        help="tconv methods to time: " + ", ".join(TCONV_METHODS),
    )
    p.add_argument(
        "--peers",
        nargs="*",
        choices=PEERS,
        default=list(PEERS),
        metavar="PEER",
        help="other frameworks to time (none: --peers alone)",
    )
    p.add_argument(
        "--repeat",
        type=_int_range(1, 1000),
        default=None,
        metavar="N",
        help="timed rounds per median, 1 to 1000 (default: 7; 3 with --quick)",
    )
    p.add_argument(
        "--threads",
        type=_int_range(1, BENCH_MAX_THREADS),
        default=min(2, BENCH_MAX_THREADS),
        metavar="N",
        help=f"torch threads, 1 to {BENCH_MAX_THREADS} (the CPU count)",
    )
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    p.add_argument("--json", metavar="PATH", help="also write the rows to PATH as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write the BENCHMARKS.md page to PATH")
    p.add_argument("--plot", metavar="PATH", help="write the speed plot (PNG) to PATH")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    return p


def _probe_writable(folder: str | os.PathLike[str], what: str) -> None:
    """Raise PermissionError unless a file can be created in ``folder`` (checked by creating
    and removing one: ``os.access`` says yes to root on read-only and virtual file systems
    such as /proc, where the write would fail only after the work)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".tconv-probe-", dir=folder)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise PermissionError(f"{what} is not writable ({reason})") from None
    os.close(fd)
    os.unlink(probe)


def _check_output(path: str | None, force: bool, flag: str) -> None:
    """Refuse an output path that cannot be written, before any work."""
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{flag} {path}: directory {parent} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{flag} {path}: is a directory")
    if os.path.exists(path) and not force:
        raise FileExistsError(f"{flag} {path}: exists (use --force to overwrite it)")
    _probe_writable(parent, f"{flag} {path}: directory {parent}")


def _run_bench(args: argparse.Namespace) -> int:
    import torch

    from .bench import QUICK_LAYERS, get, machine, markdown, plot, run_catalog, summary
    from .bench.report import format_table

    for path, flag in ((args.json, "--json"), (args.markdown, "--markdown"), (args.plot, "--plot")):
        _check_output(path, args.force, flag)
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise ValueError(
            f"--device {args.device} is invalid: valid devices are cpu and cuda[:N]"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {args.device} is invalid: valid devices are cpu and cuda[:N]")
    torch.set_num_threads(args.threads)
    names = list(args.layers)
    dtypes, layouts = args.dtypes, args.layouts
    repeat = args.repeat or (3 if args.quick else 7)
    if args.quick:
        names = [n for n in names if n in QUICK_LAYERS] or list(QUICK_LAYERS)
        dtypes, layouts = ["float32"], ["nchw"]
    layers = [get(n) for n in names]
    where = machine(args.device)
    print(f"{where}; {len(layers)} layers, {repeat} rounds; speeds are x torch (> 1 faster)")
    bar = _progress_bar()
    rows = run_catalog(
        layers,
        passes=args.passes,
        dtypes=dtypes,
        layouts=layouts,
        methods=args.methods,
        peers=args.peers,
        repeat=repeat,
        device=device,
        progress=bar,
    )
    for pass_ in args.passes:
        for dtype in dtypes:
            for layout in layouts:
                print(f"\n{pass_}, {dtype}, {layout}")
                print(format_table(rows, pass_, dtype, layout))
    print()
    for key, value in summary(rows).items():
        print(f"{key}: {value}")
    command = (
        f"tconv bench --threads {args.threads} --repeat {repeat} --device {args.device} "
        f"--layers {' '.join(names)} --dtypes {' '.join(dtypes)} --layouts {' '.join(layouts)} "
        f"--passes {' '.join(args.passes)} --methods {' '.join(args.methods)} "
        f"--peers {' '.join(args.peers)}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": where, "command": command, "rows": rows}, f, indent=1)
    plot_name = None
    if args.plot:
        plot(rows, args.plot, f"speed relative to torch native, float32 NCHW — {where}")
        if args.markdown:
            base = os.path.dirname(os.path.abspath(args.markdown))
            plot_name = os.path.relpath(os.path.abspath(args.plot), base)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows, command, where, plot_name))
    return 0


def _progress_bar() -> Callable[[str], None]:
    """A tqdm bar on stderr when tqdm is installed, else one line per configuration."""
    try:
        from tqdm import tqdm
    except ImportError:
        return lambda label: print(label, file=sys.stderr)
    state: dict[str, Any] = {}

    def update(label: str) -> None:
        done, total = (int(v) for v in label.split(" ", 1)[0].split("/"))
        if "bar" not in state:
            state["bar"] = tqdm(total=total, file=sys.stderr, unit="config", leave=False)
        state["bar"].set_description(label.split(" ", 1)[1])
        state["bar"].update(1)
        if done == total:
            state["bar"].close()

    return update


# ---------------------------------------------------------------------------------------------
# tconv train

_TRAIN_DESCRIPTION = """\
Train a task on real images with one trainer: seeds, a progress bar, a checkpoint every epoch
(DIR/last.pt), --resume, and DIR/metrics.json + DIR/report.md + figures. Under torchrun the
same command trains with DistributedDataParallel (rank 0 writes).
"""

_TRAIN_EPILOG = """\
examples:
  tconv train sr --scale 2 --upsampler subpixel --out runs/sr-x2
  tconv train sr --upsampler all --quick --out runs/sr-compare
  tconv train sr --out runs/sr-x2 --resume
  torchrun --nproc-per-node 2 -m tconv train sr --quick --out runs/ddp

Run 'tconv train TASK --help' for the task's flags.
"""

_FIELD_TYPES: dict[str, type] = {"int": int, "float": float, "str": str}


def _add_train(subparsers: Subparsers) -> argparse.ArgumentParser:
    import dataclasses

    from . import train

    p = subparsers.add_parser(
        "train",
        help="train a task (sr, ...) on real images; checkpoints, --resume, reports",
        description=_TRAIN_DESCRIPTION,
        epilog=_TRAIN_EPILOG,
        formatter_class=_Formatter,
    )
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in train.task_names():
        cls = train.get_task(name)
        t = tasks.add_parser(
            name,
            help=cls.DESCRIPTION.split(". ")[0],
            description=cls.DESCRIPTION,
            epilog=cls.EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        t.add_argument("--out", required=True, metavar="DIR", help="the run's folder")
        t.add_argument(
            "--resume", action="store_true", help="continue from DIR/last.pt (same config)"
        )
        t.add_argument(
            "--quick", action="store_true", help=f"a small run of a few minutes: {cls.QUICK}"
        )
        t.add_argument(
            "--force",
            action="store_true",
            help="train into a DIR that already holds a run (its files are replaced)",
        )
        t.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
        t.add_argument("--no-progress", action="store_true", help="no progress bar")
        for f in dataclasses.fields(cls.Config):
            kind = _FIELD_TYPES.get(str(f.type), str)
            quick = f"; --quick: {cls.QUICK[f.name]}" if f.name in cls.QUICK else ""
            t.add_argument(
                "--" + f.name.replace("_", "-"),
                dest=f.name,
                type=kind,
                default=None,
                metavar=f.name.upper().split("_")[0],
                help=f"{f.metadata.get('help', f.name)} (default: {f.default}{quick})",
            )
    return p


def _run_train(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from . import train

    cls = train.get_task(args.task)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls.Config)}
    config = train.make_config(args.task, quick=args.quick, **values)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a folder")
    if args.resume:
        field = cls.VARIANT_FIELD
        variants = field is not None and getattr(config, field) == "all"
        if not variants and not (out / "last.pt").is_file():
            raise ValueError(f"--resume: {str(out / 'last.pt')!r} does not exist")
    elif not args.force and out.is_dir() and any(out.iterdir()):
        raise ValueError(
            f"--out {str(out)!r} already holds files; pass --resume to continue that run or "
            "--force to train into it anyway"
        )
    out.mkdir(parents=True, exist_ok=True)
    _probe_writable(out, f"--out {str(out)!r}")
    # the command recorded in checkpoints: every setting spelled out, so it reproduces the run
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in dataclasses.asdict(config).items()]
    command = " ".join(["tconv train", args.task, *flags, "--out", str(out)])
    result = train.run(
        args.task,
        config,
        out,
        resume=args.resume,
        device=args.device,
        command=command,
        progress=not args.no_progress,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        if cls.VARIANT_FIELD is not None and getattr(config, cls.VARIANT_FIELD) == "all":
            print(f"wrote {out / 'comparison.md'}")
            for variant, r in result.items():
                print(f"  {variant}: {_summary(r['metrics'])}")
        else:
            print(f"wrote {out}/: last.pt model.pt metrics.json report.md")
            print(f"  {_summary(result['metrics'])}")
    return 0


def _summary(metrics: dict[str, Any]) -> str:
    keys = [k for k, v in metrics.items() if isinstance(v, float) and "/" not in k]
    return ", ".join(f"{k}={metrics[k]:.4g}" for k in keys[:8])


# ---------------------------------------------------------------------------------------------
# tconv upscale

_UPSCALE_DESCRIPTION = """\
Upscale a photo (or every image in a folder) with the shipped super-resolution model, or a
checkpoint of 'tconv train sr'. PNG, JPEG, TIFF and WebP; grey, RGB and RGBA (alpha by
bicubic); 8- and 16-bit (16-bit in, 16-bit out: PNG and TIFF keep all 16 bits, also in
colour; JPEG and WebP hold 8 bits, so a 16-bit image is refused for them unless --to-8-bit);
any size (processed in overlapping tiles, so memory stays bounded).
Outputs are written to a temporary file and renamed into place; existing files are refused
without --force and an input is never overwritten.
"""

_UPSCALE_EPILOG = """\
examples:
  tconv upscale photo.png -o big.png                  # x2, shipped model
  tconv upscale photo.jpg -o big.png --scale 4 --compare   # also writes big.bicubic.png
  tconv upscale photos/ -o big/                       # every image; same names under big/
  tconv upscale scan.tif -o big.tif --tile 128        # smaller tiles: less memory
  tconv upscale scan16.png -o big.jpg --to-8-bit      # 16-bit in, 8-bit JPEG out (asked for)
  tconv upscale photo.png -o big.png --checkpoint runs/sr-x2/model.pt
"""


def _add_upscale(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "upscale",
        help="upscale images x2/x4 with the shipped super-resolution model",
        description=_UPSCALE_DESCRIPTION,
        epilog=_UPSCALE_EPILOG,
        formatter_class=_Formatter,
    )
    p.add_argument("image", metavar="IMAGE", help="an image file, or a folder of images")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        default=argparse.SUPPRESS,
        metavar="OUT",
        help="output file (its suffix picks the format), or folder when IMAGE is one",
    )
    p.add_argument("--scale", type=int, default=2, help="upscaling factor (shipped: 2, 4)")
    p.add_argument(
        "--checkpoint", default=None, metavar="CKPT", help="a 'tconv train sr' checkpoint"
    )
    p.add_argument(
        "--compare", action="store_true", help="also write the bicubic result (NAME.bicubic.EXT)"
    )
    p.add_argument(
        "--tile", type=int, default=256, metavar="N", help="tile size in input pixels (0: none)"
    )
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument(
        "--to-8-bit",
        action="store_true",
        help="allow writing a 16-bit image as 8-bit JPEG/WebP (refused otherwise; PNG and "
        "TIFF always keep 16 bits)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _upscale_jobs(args: argparse.Namespace) -> tuple[list[tuple[Any, Any]], list[str]]:
    """(input, output) pairs and the lines about skipped files; checks before any work."""
    from pathlib import Path

    from .upscale import IMAGE_SUFFIXES, image_format

    src, dst = Path(args.image), Path(args.output)
    if not src.exists():
        raise FileNotFoundError(f"image {str(src)!r} does not exist")
    skipped: list[str] = []
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise ValueError(f"-o {str(dst)!r} must be a folder when IMAGE is a folder")
        if dst.resolve() == src.resolve():
            raise ValueError(f"-o {str(dst)!r} is the input folder: inputs are never overwritten")
        jobs = []
        for f in sorted(src.iterdir()):
            if f.is_dir():
                skipped.append(f"skipped {str(f)!r}: a folder (not recursed into)")
            elif f.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(
                    f"skipped {str(f)!r}: unsupported file type {f.suffix or '(no suffix)'!r} "
                    f"(supported: {', '.join(sorted(IMAGE_SUFFIXES))})"
                )
            else:
                jobs.append((f, dst / f.name))
    else:
        if dst.is_dir():
            dst = dst / src.name
        jobs = [(src, dst)]
    outs = []
    for _, o in jobs:
        image_format(o)
        outs.append(o)
        if args.compare:
            outs.append(o.with_name(o.stem + ".bicubic" + o.suffix))
    inputs = {f.resolve() for f, _ in jobs}
    for o in outs:
        if o.resolve() in inputs:
            raise ValueError(f"output {str(o)!r} is an input image: inputs are never overwritten")
        if o.exists() and not args.force:
            raise FileExistsError(f"output {str(o)!r} exists (pass --force to replace it)")
    folder = dst if src.is_dir() else dst.parent
    if src.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {str(folder)!r} does not exist")
    _probe_writable(folder, f"output folder {str(folder)!r}")
    return jobs, skipped


def _run_upscale(args: argparse.Namespace) -> int:
    import time

    from .upscale import (
        bicubic_array,
        check_depth,
        load_sr_model,
        read_image,
        upscale,
        write_image,
    )

    if args.tile < 0:
        raise ValueError(f"--tile {args.tile} is invalid: it must be >= 0 (0 = no tiling)")
    model, scale, _ = load_sr_model(args.scale, args.checkpoint)
    jobs, skipped = _upscale_jobs(args)
    single = not os.path.isdir(args.image)
    failed = list(skipped)
    for src, dst in jobs:
        try:
            image = read_image(src)
            check_depth(image.dtype, dst, to_8bit=args.to_8_bit)  # before the long work
        except (OSError, ValueError) as err:
            if single:
                raise
            failed.append(f"skipped {str(src)!r}: {err}")
            continue
        t0 = time.perf_counter()
        out = upscale(image, scale, model=model, tile=args.tile, progress=not args.no_progress)
        seconds = time.perf_counter() - t0
        write_image(out, dst, to_8bit=args.to_8_bit)
        shape = "x".join(str(v) for v in image.shape[:2][::-1])
        big = "x".join(str(v) for v in out.shape[:2][::-1])
        print(f"{src} ({shape}) -> {dst} ({big}) in {seconds:.2f} s")
        if args.compare:
            cmp = dst.with_name(dst.stem + ".bicubic" + dst.suffix)
            write_image(bicubic_array(image, scale), cmp, to_8bit=args.to_8_bit)
            print(f"  bicubic -> {cmp}")
    for line in failed:
        print(f"{PROG} upscale: {line}", file=sys.stderr)
    return 2 if failed else 0


# tconv explain

_EXPLAIN_DESCRIPTION = """\
Draw the mechanism of a transposed convolution for your settings, from tconv's own
computations: the scatter view (each input element painting its weighted kernel footprint
into the full output, the overlap map, the crop), the zero-insertion view (zeros between the
inputs, the border, the flipped kernel) and the matrix view (y = Cᵀx), with the output-size
formula filled in. The example kernel and input are 1, 2, 3, ... (row-major).

With no file asked for it draws in the terminal (colour when the terminal has it; NO_COLOR
turns it off). --out DIR writes figures (PNG or SVG), one GIF animation per view and the
checkerboard picture; --json prints every number; --html FILE writes the interactive page
(one self-contained file, every setting in its ranges computed here).
"""

_EXPLAIN_EPILOG = """\
examples:
  tconv explain --input 5 --kernel 3 --stride 2 --padding 1 --output-padding 1
  tconv explain --input 4 4 --kernel 4 --stride 2 --padding same
  tconv explain --input 6 --kernel 3 --stride 2 --padding 1,-2      # a (lo, hi) crop pair
  tconv explain --input 16 --kernel 3 --stride 2 --padding 1 --output-size 32 --json
  tconv explain --input 3 3 --kernel 3 --stride 2 --padding 1 --out figs --format png svg
  tconv explain --html page.html

--padding takes one value per dimension or one for all: an int (crop at both ends), a pair
LO,HI (negative values extend with zeros), or a name: valid, same, same_lower. Sizes are
limited to what a picture can show (64 input elements). Existing files are not overwritten
without --force; invalid settings print the reason and exit with status 2.
"""


def _add_explain(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explain",
        help="draw the mechanism for your settings: terminal, figures, GIFs, JSON or a page",
        description=_EXPLAIN_DESCRIPTION,
        epilog=_EXPLAIN_EPILOG,
        formatter_class=_Formatter,
    )
    each = "one value, or one per dimension"
    p.add_argument(
        "--input",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="input spatial size, 1 or 2 values (required unless only --html is given)",
    )
    p.add_argument(
        "--kernel", type=int, nargs="+", default=None, metavar="K", help=f"kernel size: {each}"
    )
    p.add_argument(
        "--stride", type=int, nargs="+", default=[1], metavar="S", help=f"stride: {each}"
    )
    p.add_argument(
        "--padding",
        nargs="+",
        default=["0"],
        metavar="P",
        help=f"padding: {each}: an int, LO,HI, or one of " + ", ".join(PADDING_NAMES),
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--output-padding",
        type=int,
        nargs="+",
        default=[0],
        metavar="OP",
        help=f"extra length at the end: {each}; each must be < max(stride, dilation)",
    )
    target.add_argument(
        "--output-size",
        type=int,
        nargs="+",
        default=None,
        metavar="O",
        help="the output size to reach instead of --output-padding",
    )
    p.add_argument(
        "--dilation", type=int, nargs="+", default=[1], metavar="D", help=f"dilation: {each}"
    )
    p.add_argument("--out", metavar="DIR", help="write figures, GIFs and the numbers (JSON) here")
    p.add_argument(
        "--format",
        nargs="+",
        choices=("png", "svg"),
        default=["png"],
        help="figure formats for --out",
    )
    p.add_argument("--no-gif", action="store_true", help="with --out: skip the animations")
    p.add_argument("--json", action="store_true", help="print every number as JSON")
    p.add_argument("--html", metavar="FILE", help="write the interactive page to FILE")
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="terminal colours (auto: when stdout is a terminal and NO_COLOR is unset)",
    )
    p.add_argument(
        "--position",
        type=int,
        default=None,
        metavar="N",
        help="output position (flat) whose kernel window the zero-insertion view shows "
        "(default: the middle)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


def _explain_padding(values: Sequence[str]) -> Any:
    """--padding values: ints, LO,HI pairs, or one name (the geometry validates them)."""
    items: list[Any] = []
    for v in values:
        if "," in v:
            try:
                lo, hi = (int(part) for part in v.split(","))
            except ValueError:
                raise ValueError(
                    f"--padding {v!r} is invalid: a pair is two ints LO,HI, e.g. 1,-2"
                ) from None
            items.append((lo, hi))
        elif v.lstrip("-").isdigit():
            items.append(int(v))
        else:
            items.append(v)
    if any(isinstance(i, tuple) for i in items):
        if not all(isinstance(i, tuple) for i in items):
            raise ValueError("--padding: give all values as LO,HI pairs or none")
        return tuple(items)
    return items[0] if len(items) == 1 else tuple(items)


def _explain_targets(args: argparse.Namespace) -> list[str]:
    """Every file this run would write (checked before any work)."""
    import os

    files = []
    if args.out:
        names = ["explain.json", "checkerboard.png"]
        names += [
            f"{v}.{fmt}" for v in ("matrix", "zero_insertion", "scatter") for fmt in args.format
        ]
        if not args.no_gif:
            names += [f"{v}.gif" for v in ("matrix", "zero_insertion", "scatter")]
        files += [os.path.join(args.out, n) for n in names]
    if args.html:
        files.append(args.html)
    return files


def _check_targets(args: argparse.Namespace) -> None:
    import os

    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise NotADirectoryError(f"--out {args.out!r} exists and is not a directory")
    for path in _explain_targets(args):
        if os.path.exists(path) and not args.force:
            raise FileExistsError(f"{path!r} exists; pass --force to overwrite it")
        parent = os.path.dirname(os.path.abspath(path))
        if args.html and path == args.html and not os.path.isdir(parent):
            raise FileNotFoundError(f"--html {path!r}: the directory {parent!r} does not exist")


def _run_explain(args: argparse.Namespace) -> int:
    try:
        return _explain(args)
    except (ValueError, TypeError, OSError) as err:  # ShapeError is a ValueError
        print(f"{PROG} explain: error: {err}", file=sys.stderr)
        return 2


def _explain(args: argparse.Namespace) -> int:
    from .viz import terminal
    from .viz.data import Settings, explain_data

    drawing = args.input is not None or args.kernel is not None
    if not drawing and not args.html:
        raise ValueError("give --input and --kernel (the settings to draw), or --html FILE")
    if drawing and (args.input is None or args.kernel is None):
        raise ValueError("--input and --kernel are both required to draw settings")
    if args.position is not None and args.position < 0:
        raise ValueError(f"--position {args.position} is invalid: it must be >= 0")
    _check_targets(args)
    s = None
    if drawing:
        s = Settings.create(
            tuple(args.input),
            args.kernel,
            args.stride,
            _explain_padding(args.padding),
            args.output_padding,
            args.dilation,
            output_size=args.output_size,
        )
        n_out = 1
        for o in s.output_size:
            n_out *= o
        if args.position is not None and args.position >= n_out:
            raise ValueError(
                f"--position {args.position} is invalid: valid positions are 0..{n_out - 1}"
            )
    wrote: list[str] = []
    if s is not None:
        data = explain_data(s)
        if args.json:
            print(json.dumps(data))
        if args.out:
            wrote += _explain_files(s, data, args)
        if not args.json and not args.out and not args.html:
            color = args.color == "always" or (
                args.color == "auto" and terminal.supports_color(sys.stdout)
            )
            print(terminal.render(data, color=color, position=args.position))
    if args.html:
        from .viz.page import RANGES, write_page

        size = write_page(args.html)
        ranges = "; ".join(f"{k} {v[0]}..{v[-1]}" for k, v in RANGES.items() if k != "padding")
        print(
            f"wrote {args.html} ({size // 1024} KB; every setting of {ranges}; padding "
            + ", ".join(map(str, RANGES["padding"]))
            + ")",
            file=sys.stderr if args.json else sys.stdout,
        )
        wrote.append(args.html)
    if args.out:
        stream = sys.stderr if args.json else sys.stdout
        for path in wrote:
            if path != args.html:
                print(path, file=stream)
    return 0


def _explain_files(s: Any, data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Figures, animations, the checkerboard picture and the numbers, into --out."""
    import os

    from .viz import figures

    os.makedirs(args.out, exist_ok=True)
    wrote = []
    path = os.path.join(args.out, "explain.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    wrote.append(path)
    makers = {
        "matrix": lambda: figures.matrix_figure(s),
        "zero_insertion": lambda: figures.zero_insertion_figure(s, position=args.position),
        "scatter": lambda: figures.scatter_figure(s),
    }
    for view, make in makers.items():
        drawing = make()
        for fmt in args.format:
            wrote.append(figures.save(drawing, os.path.join(args.out, f"{view}.{fmt}")))
        if not args.no_gif:
            path = os.path.join(args.out, f"{view}.gif")
            figures.animate(view, s, path)
            wrote.append(path)
    path = os.path.join(args.out, "checkerboard.png")
    figures.save(figures.checkerboard_figure(figures.with_layer(s)), path)
    wrote.append(path)
    return wrote


# ---------------------------------------------------------------------------------------------
# the registry and the entry point

#: (declare, run) for each subcommand, in the order ``--help`` lists them.
COMMANDS: list[
    tuple[Callable[[Subparsers], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]
] = [
    (_add_shape, _run_shape),
    (_add_plan, _run_plan),
    (_add_inverse, _run_inverse),
    (_add_inspect, _run_inspect),
    (_add_bench, _run_bench),
    (_add_train, _run_train),
    (_add_upscale, _run_upscale),
    (_add_explain, _run_explain),
]


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``tconv <cmd>: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def _one_line(text: object) -> str:
    """A message on one line: its lines joined with '; ' (tracebacks never reach the user)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines) or "(no message)"


def build_parser() -> argparse.ArgumentParser:
    """The ``tconv`` parser with every subcommand of :data:`COMMANDS`.

    >>> build_parser().parse_args(["shape", "--input", "16", "--kernel", "3"]).kernel
    [3]
    """
    parser: argparse.ArgumentParser = _Parser(
        prog=PROG,
        description="tconv: upsampling with transposed convolution, done right.",
        epilog="Run 'tconv COMMAND --help' for a command's flags and examples.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for declare, run in COMMANDS:
        sub = declare(subparsers)
        sub.set_defaults(run=run, parser=sub)
    return parser


#: what the library raises for bad input; each becomes one line on stderr and exit status 2
USER_ERRORS: tuple[type[BaseException], ...] = (
    ShapeError,
    ValueError,
    TypeError,
    OSError,
    MemoryError,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Usage errors exit through argparse (``SystemExit(2)``) with one line on stderr. A
    :class:`~tconv.shapes.ShapeError`, ``ValueError``, ``TypeError``, ``OSError`` or
    ``MemoryError`` from the library prints ``tconv <command>: error: <message>`` (one line) to
    stderr and returns 2; Ctrl-C prints ``tconv <command>: interrupted`` and returns 130.

    >>> main(["shape", "--input", "2", "--kernel", "1", "--padding", "3"])  # one line on stderr
    2
    """
    args, extra = build_parser().parse_known_args(argv)
    if extra:  # say it as the subcommand's error (argparse would blame the top-level parser)
        args.parser.error(f"unrecognized arguments: {shlex.join(extra)}")
    prefix = f"{PROG} {args.command}"
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        message = _one_line(err)
        if isinstance(err, MemoryError):
            message = f"out of memory: {message}"
        print(f"{prefix}: error: {message}", file=sys.stderr)
        return 2
    return status
