"""Print SR models' PSNR-Y gain over bicubic on photos outside the project's data.

    python docs/sr_unseen.py                          # the shipped models (x2; x4 fast, best)
    python docs/sr_unseen.py DIR/model.pt OTHER/model.pt  # trained checkpoints (any scale)

The photos are scikit-learn's two bundled sample images (``load_sample_images``: china, flower;
427x640 JPEG photographs), which no tconv model trains or is chosen on: a check that a gain on
the held-out photos is not tuned to them. Each is cropped to a multiple of the scale, degraded
(:func:`tconv.train.data.degrade`), upscaled by the model (:func:`tconv.upscale`, one tile),
by torch's bicubic and by Pillow's, and measured with :func:`tconv.train.sr.psnr_ssim` (Y,
``scale`` pixels shaved).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from sr_shipped import pillow_bicubic

from tconv.train.data import bicubic, crop_to_multiple, degrade
from tconv.train.sr import psnr_ssim
from tconv.upscale import load_sr_model, shipped_model, upscale


def unseen_photos() -> dict[str, torch.Tensor]:
    """scikit-learn's sample photos as ``(3, H, W)`` float tensors in [0, 1]."""
    from sklearn.datasets import load_sample_images

    images = load_sample_images()
    return {
        Path(name).stem: torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255
        for name, img in zip(images.filenames, images.images, strict=True)
    }


def rows(
    checkpoint: str | None, quality: tuple[int, str], photos: dict[str, torch.Tensor]
) -> list[str]:
    """One table row per photo and a mean row for one model (a checkpoint, or the shipped
    model of ``quality``: (scale, setting))."""
    if checkpoint is None:
        scale, setting = quality
        model = shipped_model(scale, setting)
        label = f"shipped x{scale}" + ("" if setting == "fast" else f" {setting}")
    else:
        model, scale, _ = load_sr_model(None, checkpoint)
        label = checkpoint
    out, gains_t, gains_p = [], [], []
    for name, photo in photos.items():
        hr = crop_to_multiple(photo, scale)
        lr = degrade(hr, scale)
        with torch.no_grad():
            sr = upscale(lr, scale, model=model, tile=0)
        p = psnr_ssim(sr, hr, scale)[0]
        pt = psnr_ssim(bicubic(lr[None], scale)[0], hr, scale)[0]
        pp = psnr_ssim(pillow_bicubic(lr, scale), hr, scale)[0]
        gains_t.append(p - pt)
        gains_p.append(p - pp)
        out.append(f"| {label} | x{scale} | {name} | {p:.2f} | {pt:.2f} | {pp:.2f} | "
                   f"{p - pt:+.2f} | {p - pp:+.2f} |")  # fmt: skip
    out.append(f"| {label} | x{scale} | **mean** | | | | **{statistics.mean(gains_t):+.2f}** | "
               f"**{statistics.mean(gains_p):+.2f}** |")  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", help="model.pt files (default: the shipped)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    photos = unseen_photos()
    print("| model | scale | photo | model PSNR-Y | bicubic (torch) | bicubic (Pillow) | "
          "gain vs torch | gain vs Pillow |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    shipped = [(None, (2, "fast")), (None, (4, "fast")), (None, (4, "best"))]
    jobs = [(c, (0, "")) for c in args.checkpoints] or shipped
    for checkpoint, quality in jobs:
        print("\n".join(rows(checkpoint, quality, photos)))


if __name__ == "__main__":
    main()
