"""Print the shipped SR models' PSNR/SSIM (Y) against bicubic on each held-out photo.

    python docs/sr_shipped.py                       # the table in docs/results.md
    python docs/sr_shipped.py --figures docs/results  # also sr-shipped-x2.png, sr-shipped-x4.png

Each held-out photo is cropped to a multiple of the scale, degraded
(:func:`tconv.train.data.degrade`), upscaled by the shipped model (:func:`tconv.upscale`, the
whole photo as one tile; at x4 also ``quality="best"``, :class:`tconv.upscale.TwoPathX4`), by
the same with ``ensemble=True`` (the 8 flips/rotations averaged), by torch's bicubic
interpolation (:func:`tconv.train.data.bicubic`) and by Pillow's ``BICUBIC`` resize of the
8-bit input, and measured against the original with
:func:`tconv.train.sr.psnr_ssim` (Y, ``scale`` pixels shaved). The figures show the crops of
most detail of each photo: the input (nearest), bicubic, the shipped model(s) and the truth,
each with a zoomed inset.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch

from tconv.train.data import HELD_OUT_PHOTOS, bicubic, crop_to_multiple, degrade, load_photo
from tconv.train.sr import crop_figure, psnr_ssim
from tconv.upscale import load_sr_model, shipped_model, upscale


def pillow_bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Pillow's ``BICUBIC`` resize of the 8-bit LR image (``(3, h, w)`` in [0, 1])."""
    from PIL import Image

    a = (lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    size = (lr.shape[-1] * scale, lr.shape[-2] * scale)
    up = np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BICUBIC))
    return torch.from_numpy(up.astype(np.float32) / 255).permute(2, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", default=None, help="write sr-shipped-x{2,4}.png here")
    args = parser.parse_args()
    print(
        "| model | photo | PSNR-Y | with ensemble | bicubic (torch) | bicubic (Pillow) | gain "
        "vs torch | gain vs Pillow | ensemble gain | model SSIM | bicubic SSIM (torch) |"
    )
    print("|" + "---|" * 11)
    figures: dict[int, dict[str, list[torch.Tensor]]] = {2: {}, 4: {}}
    held_out: dict[int, list[tuple[str, torch.Tensor, torch.Tensor]]] = {2: [], 4: []}
    for scale, quality in ((2, "fast"), (4, "fast"), (4, "best")):
        model = shipped_model(scale, quality)
        label = f"x{scale}" if quality == "fast" else f"x{scale} {quality}"
        rows, outs = [], []
        for name in HELD_OUT_PHOTOS:
            hr = crop_to_multiple(load_photo(name), scale)
            lr = degrade(hr, scale)
            with torch.no_grad():
                out = upscale(lr, scale, model=model, tile=0)
                ens = upscale(lr, scale, model=model, tile=0, ensemble=True)
            p, s = psnr_ssim(out, hr, scale)
            e, _ = psnr_ssim(ens, hr, scale)
            bp, bs = psnr_ssim(bicubic(lr[None], scale)[0], hr, scale)
            pp, _ = psnr_ssim(pillow_bicubic(lr, scale), hr, scale)
            rows.append((p, e, bp, pp, s, bs))
            if quality == "fast":
                held_out[scale].append((name, hr, lr))
            outs.append(out)
            print(
                f"| {label} | {name} | {p:.2f} | {e:.2f} | {bp:.2f} | {pp:.2f} | {p - bp:+.2f} "
                f"| {p - pp:+.2f} | {e - p:+.2f} | {s:.4f} | {bs:.4f} |"
            )
        p, e, bp, pp, s, bs = (statistics.fmean(col) for col in zip(*rows))
        print(
            f"| {label} | **mean** | **{p:.2f}** | {e:.2f} | {bp:.2f} | {pp:.2f} | "
            f"**{p - bp:+.2f}** | **{p - pp:+.2f}** | {e - p:+.2f} | **{s:.4f}** | {bs:.4f} |"
        )
        figures[scale][f"shipped {label}"] = outs
    if args.figures:
        for scale in (2, 4):
            path = Path(args.figures) / f"sr-shipped-x{scale}.png"
            crop_figure(held_out[scale], figures[scale], scale, path)
    for scale in (2, 4):
        _, _, ckpt = load_sr_model(scale)
        print(f"\nx{scale}: `{ckpt['provenance']['command']}` (epoch {ckpt['epoch']})")


if __name__ == "__main__":
    main()
