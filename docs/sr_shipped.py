"""Print the shipped SR models' PSNR/SSIM (Y) against bicubic on each held-out photo.

    python docs/sr_shipped.py      # the table in docs/results.md ("The shipped models")

Each held-out photo is cropped to a multiple of the scale, degraded
(:func:`tconv.train.data.degrade`), upscaled by the shipped model (:func:`tconv.upscale`, the
whole photo as one tile) and by bicubic interpolation, and measured against the original with
:func:`tconv.train.sr.psnr_ssim` (Y, ``scale`` pixels shaved).
"""

from __future__ import annotations

import statistics

import torch

from tconv.train.data import HELD_OUT_PHOTOS, bicubic, crop_to_multiple, degrade, load_photo
from tconv.train.sr import psnr_ssim
from tconv.upscale import load_sr_model, upscale


def main() -> None:
    print("| scale | photo | model PSNR | bicubic PSNR | gain (dB) | model SSIM | bicubic SSIM |")
    print("|---|---|---|---|---|---|---|")
    for scale in (2, 4):
        model, _, ckpt = load_sr_model(scale)
        rows = []
        for name in HELD_OUT_PHOTOS:
            hr = crop_to_multiple(load_photo(name), scale)
            lr = degrade(hr, scale)
            with torch.no_grad():
                out = upscale(lr, scale, model=model, tile=0)
            p, s = psnr_ssim(out, hr, scale)
            bp, bs = psnr_ssim(bicubic(lr[None], scale)[0], hr, scale)
            rows.append((p, bp, s, bs))
            cells = f"{p:.2f} | {bp:.2f} | {p - bp:+.2f} | {s:.4f} | {bs:.4f}"
            print(f"| x{scale} | {name} | {cells} |")
        p, bp, s, bs = (statistics.fmean(col) for col in zip(*rows))
        print(
            f"| x{scale} | **mean** | **{p:.2f}** | {bp:.2f} | **{p - bp:+.2f}** | **{s:.4f}** "
            f"| {bs:.4f} |"
        )
    for scale in (2, 4):
        _, _, ckpt = load_sr_model(scale)
        print(f"\nx{scale}: `{ckpt['provenance']['command']}` (epoch {ckpt['epoch']})")


if __name__ == "__main__":
    main()
