"""Print SR models' PSNR-Y gain over Pillow's bicubic on a set of photographs, per photo and mean.

    python docs/sr_photos.py --set held-out     # chelsea, coffee, camera + make sr-data's 4
    python docs/sr_photos.py --set DIR --crop 1024          # any folder (centre crops of 1024)
    python docs/sr_photos.py --set held-out --model x2 --model runs/x2/model.pt

Models (``--model``, repeatable): ``x2``, ``x4`` (the shipped models), ``x4-best`` (the shipped
x4 with ``quality="best"``, :class:`tconv.upscale.TwoPathX4`) or a ``tconv train sr``
checkpoint. Sets (``--set``, repeatable): ``held-out`` is scikit-image's chelsea, coffee and
camera and the held-out photographs of ``make sr-data`` (:data:`tconv.train.photos.SR_DATA`,
read from its cache folder); a folder is every photo in it (recursive). Each photo (with
``--crop N``: its centre square of N pixels, or the largest the photo holds) is cropped to a
multiple of the scale, degraded (:func:`tconv.train.data.degrade`), upscaled by the model
(:func:`tconv.upscale`, one tile) and by Pillow's ``BICUBIC`` resize of the 8-bit input, and
measured with
:func:`tconv.train.sr.psnr_ssim` (Y, ``scale`` pixels shaved). Also prints each model's
seconds over the set (the same run, one thread unless ``--threads``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from sr_shipped import pillow_bicubic

from tconv.train.data import HELD_OUT_PHOTOS, crop_to_multiple, degrade, load_photo
from tconv.train.photos import SR_DATA, default_dir, find_photos, load_photos
from tconv.train.sr import psnr_ssim
from tconv.upscale import load_sr_model, shipped_model, upscale


def photo_set(spec: str) -> dict[str, torch.Tensor]:
    """The photos of one ``--set``: ``held-out`` or a folder."""
    if spec == "held-out":
        out = {n: load_photo(n) for n in HELD_OUT_PHOTOS}
        folder = default_dir() / "held_out"
        files = [folder / p.name for p in SR_DATA if p.held_out]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise SystemExit(f"error: {missing[0]} is missing: run make sr-data first")
        # read directly: these are the held-out files find_photos() leaves out
        loaded, _ = load_photos(files, 1)
        return out | dict(loaded)
    files, _ = find_photos([spec])
    return dict(load_photos(files, 1)[0])


def model_of(spec: str) -> tuple[torch.nn.Module, int]:
    if spec in ("x2", "x4"):
        return shipped_model(int(spec[1])), int(spec[1])
    if spec == "x4-best":
        return shipped_model(4, "best"), 4
    model, scale, _ = load_sr_model(None, spec)
    return model, scale


def centre(x: torch.Tensor, crop: int) -> torch.Tensor:
    if not crop:
        return x
    h, w = x.shape[-2:]
    c = min(crop, h, w)
    return x[:, (h - c) // 2 : (h - c) // 2 + c, (w - c) // 2 : (w - c) // 2 + c]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", dest="sets", help="held-out or a folder")
    parser.add_argument("--model", action="append", dest="models", help="x2, x4, x4-best, FILE")
    parser.add_argument("--crop", type=int, default=0, help="centre crop (HR pixels; 0 = all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    photos: dict[str, torch.Tensor] = {}
    for spec in args.sets or ["held-out"]:
        photos |= photo_set(spec)
    print("| model | photo | model PSNR-Y | bicubic (Pillow) | gain vs Pillow |")
    print("|---|---|---|---|---|")
    seconds = {}
    for spec in args.models or ["x2", "x4", "x4-best"]:
        model, scale = model_of(spec)
        gains, spent = [], 0.0
        for name, photo in photos.items():
            hr = crop_to_multiple(centre(photo, args.crop), scale)
            lr = degrade(hr, scale)
            start = time.perf_counter()
            with torch.no_grad():
                sr = upscale(lr, scale, model=model, tile=0)
            spent += time.perf_counter() - start
            p = psnr_ssim(sr, hr, scale)[0]
            pp = psnr_ssim(pillow_bicubic(lr, scale), hr, scale)[0]
            gains.append(p - pp)
            print(f"| {spec} | {name} | {p:.2f} | {pp:.2f} | {p - pp:+.2f} |")
        print(f"| {spec} | **mean** ({len(gains)} photos; lowest {min(gains):+.2f}) | | | "
              f"**{statistics.fmean(gains):+.2f}** |")  # fmt: skip
        seconds[spec] = spent
    print()
    print("seconds over the set: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
