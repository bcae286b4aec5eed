"""``tconv inspect``: a table of a model's upsampling layers, with advice."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ._args import gibibytes

DESCRIPTION = """\
Run a model once with forward hooks and print a table of its layers: name, type,
input -> output shape, settings, whether the kernel taps overlap evenly over the output phases,
the checkerboard score of each upsampling layer (0 = none; see docs/artifacts.md) and
multiply-adds, then a summary with advice.

TARGET is 'package.module:callable' (called with no arguments; it returns an nn.Module, or is
one) or the path of a module saved with torch.jit.save (TorchScript). A file saved with
torch.save(model) is a pickle, and loading a pickle can run arbitrary code: it is read only
with --trust-pickle (use it only for files whose source you trust). A file of weights that is
a super-resolution checkpoint ('tconv train sr', ESRGAN / Real-ESRGAN's RRDBNet and
SRVGGNetCompact; other architectures through spandrel, optional) is built from its keys, the
same way 'tconv upscale --checkpoint' reads it; its --input defaults to 1x3x64x64.
"""

EPILOG = """\
examples:
  tconv inspect mypkg.models:build_unet --input 1x3x64x64
  tconv inspect generator.pt --input 1x100x1x1 --json
  tconv inspect my_own_model.pt --input 1x3x64x64 --trust-pickle
  tconv inspect RealESRGAN_x4plus.pth                 # an image model: --input not needed

--input needs the batch and channel dimensions (N x C x spatial sizes): 3x32x32 for a 2-D
model is refused rather than run as one unbatched sample. Shapes are checked on the 'meta'
device first (no memory used): an input or a layer step that needs more than --max-memory is
refused with the memory it would need. A model that cannot be imported, loaded or run on the
input prints one line and exits with status 2.
"""

_SR_INPUT = "1x3x64x64"


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv inspect`` (its parser comes from the command table)."""
    from ..inspection import DEFAULT_MAX_MEMORY

    p.add_argument("target", metavar="TARGET", help="package.module:callable, or a saved module")
    p.add_argument(
        "--input",
        default=None,
        metavar="NxCxHxW",
        help="input shape, batch and channels first, e.g. 1x3x64x64 (1 to 3 spatial sizes); "
        f"for a super-resolution checkpoint (tconv train sr, ESRGAN, ...) default {_SR_INPUT}",
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

    model, name = _model(args)
    if args.input is None and name == args.target:
        raise ValueError(
            f"--input is needed for {args.target!r}: the input shape, batch and channels "
            "first, e.g. --input 1x3x64x64 (a super-resolution checkpoint needs none)"
        )
    shape = parse_shape(args.input or _SR_INPUT)
    report = inspect_model(model, shape, name=name, max_memory=int(args.max_memory * 2**30))
    print(report.to_json() if args.json else report.format())
    return 0


def _model(args: argparse.Namespace) -> tuple[Any, str]:
    """The module TARGET names and its name in the report; a file holding weights (a state
    dict) is read as a super-resolution checkpoint (:func:`tconv.sr.load_sr_model`: tconv's,
    ESRGAN/Real-ESRGAN natively, others through spandrel) and named with its architecture."""
    from ..loading import LoadError, load_file, load_model

    try:
        return load_model(args.target, trust_pickle=args.trust_pickle), args.target
    except LoadError:
        if not os.path.isfile(args.target) or not _holds_weights(load_file, args):
            raise
    from ..sr import load_sr_model

    model, scale, info = load_sr_model(None, args.target, trust_pickle=args.trust_pickle)
    arch = info.get("architecture") or info.get("config", {}).get("arch", "srnet")
    return model, f"{args.target} ({arch}, x{scale} super-resolution)"


def _holds_weights(load_file: Any, args: argparse.Namespace) -> bool:
    if args.target.lower().endswith(".safetensors"):
        return True
    try:
        return isinstance(load_file(args.target, trust_pickle=args.trust_pickle), dict)
    except Exception:  # the first error (load_model's) is the one to report
        return False
