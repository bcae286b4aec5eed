"""The main job: upscale a real photo with the shipped model and compare it with bicubic.

The photo is scikit-image's ``chelsea``, one of the held-out photos the shipped models never
saw in training. It is made low-resolution by the documented degradation (antialiased bicubic
downscaling, :func:`tconv.train.data.degrade`), written to ``out/``, upscaled back with
``tconv upscale`` (the shipped x2 and x4 models, ``--compare`` also writes bicubic), and the
results are measured against the original: PSNR and SSIM on Y with the border shaved.

Run: python examples/upscale_photo.py   (writes out/chelsea-*.png and out/upscale-chelsea.png)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from tconv.cli import main as tconv
from tconv.train.data import crop_to_multiple, degrade, load_photo, to_y
from tconv.train.sr import psnr_ssim
from tconv.upscale import read_image, write_image

OUT = Path("out")


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32) / 255).permute(2, 0, 1)


def side_by_side(
    hr: torch.Tensor,
    lr: torch.Tensor,
    cubic: torch.Tensor,
    model: torch.Tensor,
    scale: int,
    path: Path,
    crop: int = 160,
) -> Path:
    """The photo's most detailed ``crop`` square (HR pixels) from the LR input (nearest),
    bicubic, the shipped model and the original; below each, its centre zoomed 4x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = to_y(hr)
    detail = (y[1:, :-1] - y[:-1, :-1]).abs() + (y[:-1, 1:] - y[:-1, :-1]).abs()
    step = crop // 4
    pooled = torch.nn.functional.avg_pool2d(detail[None, None], crop, stride=step)[0, 0]
    top, left = (v * step for v in divmod(int(pooled.argmax()), pooled.shape[-1]))
    nearest = torch.nn.functional.interpolate(lr[None], scale_factor=scale, mode="nearest")[0]
    panels = {
        f"input (x{scale} smaller, nearest)": nearest,
        "bicubic (Pillow)": cubic,
        f"tconv upscale (shipped x{scale})": model,
        "original": hr,
    }
    fig, axes = plt.subplots(2, 4, figsize=(13, 7.2), height_ratios=[1, 1])
    q = crop // 4  # the zoomed centre: a quarter of the crop, shown 4x
    for col, (label, image) in enumerate(panels.items()):
        part = image[:, top : top + crop, left : left + crop].clamp(0, 1).permute(1, 2, 0)
        centre = part[crop // 2 - q // 2 : crop // 2 + q // 2, crop // 2 - q // 2 :][:, :q]
        axes[0, col].imshow(part.numpy(), interpolation="nearest")
        axes[0, col].add_patch(
            matplotlib.patches.Rectangle(
                (crop // 2 - q // 2 - 0.5, crop // 2 - q // 2 - 0.5), q, q, fill=False, ec="yellow"
            )
        )
        axes[1, col].imshow(centre.numpy(), interpolation="nearest")
        axes[0, col].set_title(label, fontsize=11)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel(f"{crop}x{crop} crop", fontsize=11)
    axes[1, 0].set_ylabel("its centre (yellow), 4x", fontsize=11)
    fig.suptitle(f"chelsea, a held-out photo, upscaled x{scale}", fontsize=13)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(out: Path = OUT) -> dict[str, Any]:
    """Upscale chelsea x2 and x4; print and return PSNR/SSIM of the model and of bicubic."""
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for scale in (2, 4):
        hr = crop_to_multiple(load_photo("chelsea"), scale)
        lr = degrade(hr, scale)
        low = out / f"chelsea-lr-x{scale}.png"
        big = out / f"chelsea-x{scale}.png"
        write_image((lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), low)
        argv = ["upscale", str(low), "-o", str(big), "--scale", str(scale), "--compare"]
        print("$ tconv " + " ".join(argv) + " --force --no-progress")
        if tconv([*argv, "--force", "--no-progress"]) != 0:
            raise SystemExit(2)
        model = _tensor(read_image(big))
        cubic = _tensor(read_image(big.with_name(big.stem + ".bicubic.png")))
        # the 8-bit LR file is what was upscaled: measure against the original photo
        p, s = psnr_ssim(model, hr, scale)
        bp, bs = psnr_ssim(cubic, hr, scale)
        print(
            f"x{scale}: shipped model PSNR(Y) {p:.2f} dB, SSIM {s:.4f} | bicubic {bp:.2f} dB, "
            f"SSIM {bs:.4f} | gain {p - bp:+.2f} dB, SSIM {s - bs:+.4f}"
        )
        results[f"x{scale}"] = {"psnr": p, "ssim": s, "bicubic_psnr": bp, "bicubic_ssim": bs}
        figure = side_by_side(hr, lr, cubic, model, scale, out / f"upscale-chelsea-x{scale}.png")
        print(f"side by side: {figure}")
    return results


if __name__ == "__main__":
    main()
