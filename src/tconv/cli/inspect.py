"""``tconv inspect``: a table of a model's upsampling layers, with advice."""

from __future__ import annotations

import argparse

from ._args import gibibytes

DESCRIPTION = """\
Run a model once with forward hooks and print a table of its layers: name, type,
input -> output shape, settings, whether the kernel taps overlap evenly over the output phases,
the checkerboard score of each upsampling layer (0 = none; see docs/artifacts.md) and
multiply-adds, then a summary with advice.

TARGET is 'package.module:callable' (called with no arguments; it returns an nn.Module, or is
one) or the path of a module saved with torch.jit.save (TorchScript). A file saved with
torch.save(model) is a pickle, and loading a pickle can run arbitrary code: it is read only
with --trust-pickle (use it only for files whose source you trust).
"""

EPILOG = """\
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


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv inspect`` (its parser comes from the command table)."""
    from ..inspection import DEFAULT_MAX_MEMORY

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
        type=gibibytes,
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


def run(args: argparse.Namespace) -> int:
    from ..inspection import inspect_model, parse_shape
    from ..loading import load_model

    shape = parse_shape(args.input)
    model = load_model(args.target, trust_pickle=args.trust_pickle)
    report = inspect_model(model, shape, name=args.target, max_memory=int(args.max_memory * 2**30))
    print(report.to_json() if args.json else report.format())
    return 0
