"""``tconv upscale``: upscale images with the shipped super-resolution model."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._args import PROG, Formatter, Subparsers, check_output, int_range, require

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
  tconv upscale photo.png -o big.png --ensemble       # 8 flips/rotations averaged: 8x the time
  tconv upscale photo.png -o big.png --checkpoint runs/sr-x2/model.pt
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
    p.add_argument("--scale", type=int_range(1), default=2, help="upscaling factor (shipped: 2, 4)")
    p.add_argument(
        "--checkpoint", default=None, metavar="CKPT", help="a 'tconv train sr' checkpoint"
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _upscale_jobs(args: argparse.Namespace) -> tuple[list[tuple[Any, Any]], list[str]]:
    """(input, output) pairs and the lines about skipped files; checks before any work."""

    from ..upscale import IMAGE_SUFFIXES, image_format

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
    if src.is_dir():
        check_output(dst, flag="-o", folder=True)
        dst.mkdir(parents=True, exist_ok=True)
    for o in outs:
        check_output(o, flag="output", force=args.force)
    return jobs, skipped


def run(args: argparse.Namespace) -> int:
    from ..upscale import (
        bicubic_array,
        check_depth,
        load_sr_model,
        read_image,
        upscale,
        write_image,
    )

    require("PIL")  # reading and writing images: said before any work
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
        out = upscale(
            image,
            scale,
            model=model,
            tile=args.tile,
            progress=not args.no_progress,
            ensemble=args.ensemble,
        )
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
