"""``tconv upscale``: upscale images with the shipped super-resolution model or one you have."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._args import (
    PROG,
    Formatter,
    Subparsers,
    check_output,
    error_message,
    int_range,
    one_line,
    require,
)

_UPSCALE_DESCRIPTION = """\
Upscale a photo (or every image in a folder) with the shipped super-resolution model, a
checkpoint of 'tconv train sr', or a super-resolution model you have (--checkpoint: ESRGAN and
Real-ESRGAN natively, other architectures through spandrel; the scale comes from the file).
PNG, JPEG, TIFF and WebP; grey, RGB and RGBA (alpha by
bicubic); 8- and 16-bit (16-bit in, 16-bit out: PNG and TIFF keep all 16 bits, also in
colour; JPEG and WebP hold 8 bits, so a 16-bit image is refused for them unless --to-8-bit);
any size (processed in overlapping tiles; PNG output is written to the file one row of tiles
at a time, so memory stays bounded by the input and one row of tiles; other formats hold the
output in its own 8 or 16 bits). The peak memory is estimated before any work and a run that
needs more than is available (or than --max-memory) is refused.
In a folder, every image is upscaled, other files are skipped, and a summary line counts what
was written, skipped and failed; the exit status is 2 when an image failed or the folder held
no image.
Outputs are written to a temporary file and renamed into place; existing files are refused
without --force and an input is never overwritten.
"""

_UPSCALE_EPILOG = """\
examples:
  tconv upscale photo.png -o big.png                  # x2, shipped model
  tconv upscale photo.jpg -o big.png --scale 4 --compare   # also writes big.bicubic.png
  tconv upscale photos/ -o big/                       # every image; same names under big/
  tconv upscale scan.tif -o big.tif --tile 128        # smaller tiles: less memory
  tconv upscale huge.png -o big.png --max-memory 8G   # refused up front if it needs more
  tconv upscale scan16.png -o big.jpg --to-8-bit      # 16-bit in, 8-bit JPEG out (asked for)
  tconv upscale photo.png -o big.png --scale 4 --quality best   # x4 at its best: ~4x the time
  tconv upscale photo.png -o big.png --ensemble       # 8 flips/rotations averaged: 8x the time
  tconv upscale photo.png -o big.png --checkpoint runs/sr-x2/model.pt
  tconv upscale photo.png -o big.png --checkpoint RealESRGAN_x4plus.pth   # a model you have
"""


def add(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "upscale",
        help="upscale images x2/x4 with the shipped super-resolution model",
        description=_UPSCALE_DESCRIPTION,
        epilog=_UPSCALE_EPILOG,
        formatter_class=Formatter,
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
    p.add_argument(
        "--scale",
        type=int_range(1),
        default=None,
        help="upscaling factor: 2 or 4 for the shipped models (default 2); with --checkpoint "
        "the file's (a different --scale is refused)",
    )
    p.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="a 'tconv train sr' checkpoint, or a model you have: ESRGAN/Real-ESRGAN (RRDBNet, "
        "SRVGGNetCompact) .pth/.pt/.safetensors run natively; other architectures through "
        "spandrel (optional); read as weights only",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="read a --checkpoint that is a full pickle (it can run code while it loads): "
        "only for files from a source you trust",
    )
    p.add_argument(
        "--compare", action="store_true", help="also write the bicubic result (NAME.bicubic.EXT)"
    )
    p.add_argument(
        "--ensemble",
        action="store_true",
        help="average the model over the 8 flips/rotations of the input (8x the time; a "
        "small gain, see docs/results.md)",
    )
    p.add_argument(
        "--quality",
        choices=("fast", "best"),
        default="fast",
        help="the shipped model's setting: fast, or best at --scale 4 (the x4 model averaged "
        "with the x2 model applied twice: about +0.1 dB on most photos, about 4x the time; "
        "docs/results.md)",
    )
    p.add_argument(
        "--tile",
        type=int_range(0),
        default=256,
        metavar="N",
        help="tile size in input pixels (0: none)",
    )
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument(
        "--to-8-bit",
        action="store_true",
        help="allow writing a 16-bit image as 8-bit JPEG/WebP (refused otherwise; PNG and "
        "TIFF always keep 16 bits)",
    )
    p.add_argument(
        "--max-memory",
        default=None,
        metavar="SIZE",
        help="refuse an image whose estimated peak memory is larger, e.g. 8G or 500M "
        "(default: the memory available now); PNG output is streamed to the file",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _upscale_jobs(args: argparse.Namespace) -> tuple[list[tuple[Any, Any]], list[str]]:
    """(input, output) pairs and the files that are not images; checks before any work."""

    from ..upscaling.io import IMAGE_SUFFIXES, image_format

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
            if f.is_dir() or f.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(str(f))  # not an image: skipped quietly, counted in the summary
            else:
                jobs.append((f, dst / f.name))
        if not jobs:
            raise ValueError(
                f"folder {str(src)!r} holds no image, nothing to do (upscaled are "
                f"{', '.join(sorted(IMAGE_SUFFIXES))}; sub-folders are not entered)"
            )
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
    if src.is_dir():
        check_output(dst, flag="-o", folder=True)
        dst.mkdir(parents=True, exist_ok=True)
    for o in outs:
        check_output(o, flag="output", force=args.force)
    return jobs, skipped


def run(args: argparse.Namespace) -> int:
    from ..sr import SelfEnsemble, select_model
    from ..upscaling.memory import parse_size
    from . import USER_ERRORS

    require("PIL")  # reading and writing images: said before any work
    max_memory = None if args.max_memory is None else parse_size(args.max_memory)
    model, scale = select_model(
        args.scale, args.checkpoint, args.quality, trust_pickle=args.trust_pickle
    )
    if args.ensemble:
        model = SelfEnsemble(model)
    jobs, skipped = _upscale_jobs(args)
    if not os.path.isdir(args.image):
        (src, dst), *_ = jobs
        _upscale_one(src, dst, scale, model, args, max_memory)
        return 0
    failed: list[str] = []
    for src, dst in jobs:
        try:
            _upscale_one(src, dst, scale, model, args, max_memory)
        except USER_ERRORS as err:
            failed.append(str(src))
            print(f"{PROG} upscale: error: {error_message(err)}", file=sys.stderr)
    written = len(jobs) - len(failed)
    summary = (
        f"{PROG} upscale: {written} written, {len(skipped)} skipped (not images), "
        f"{len(failed)} failed"
    )
    print(summary + (": " + ", ".join(failed) if failed else ""), file=sys.stderr)
    return 2 if failed else 0


def _upscale_one(
    src: Any, dst: Any, scale: int, model: Any, args: argparse.Namespace, max_memory: int | None
) -> None:
    """One image, with Pillow's warnings (e.g. a decompression-bomb size, corrupt EXIF data)
    as one line each on stderr instead of Python's two-line warning format."""
    import warnings

    from ..upscaling import image_info, tile_slowdown, upscale_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            height, width, *_ = image_info(src)
            slow = tile_slowdown(height, width, args.tile)
            if slow > 3:
                print(
                    f"{PROG} upscale: warning: --tile {args.tile} does about {slow:.0f}x the "
                    f"work of the default --tile 256 on {str(src)!r} ({width}x{height}; each "
                    "tile is run with 16 pixels of context per side): expect it to take about "
                    f"{slow:.0f}x longer",
                    file=sys.stderr,
                )
            compare = dst.with_name(dst.stem + ".bicubic" + dst.suffix) if args.compare else None
            t0 = time.perf_counter()
            before, after = upscale_file(
                src,
                dst,
                scale,
                model=model,
                tile=args.tile,
                progress=not args.no_progress,
                to_8bit=args.to_8_bit,
                compare=compare,
                max_memory=max_memory,
            )
            seconds = time.perf_counter() - t0
        finally:
            seen = set()
            for w in caught:
                line = f"{PROG} upscale: warning: {str(src)!r}: {one_line(w.message)}"
                if line not in seen:
                    seen.add(line)
                    print(line, file=sys.stderr)
    shape = "x".join(str(v) for v in before[:2][::-1])
    big = "x".join(str(v) for v in after[:2][::-1])
    print(f"{src} ({shape}) -> {dst} ({big}) in {seconds:.2f} s")
    if compare is not None:
        print(f"  bicubic -> {compare}")
