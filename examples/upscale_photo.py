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
from tconv.train.data import crop_to_multiple, degrade, load_photo
from tconv.train.sr import crop_figure, psnr_ssim
from tconv.upscale import read_image, write_image

OUT = Path("out")


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32) / 255).permute(2, 0, 1)


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
        figure = crop_figure(
            [("chelsea", hr, lr)],
            {f"shipped x{scale}": [model]},
            scale,
            out / f"upscale-chelsea-x{scale}.png",
            crop=128,
        )
        print(f"side by side: {figure}")
    return results


if __name__ == "__main__":
    main()
