"""Measure trained SR checkpoints on the held-out photos, on the CPU; plot their learning curves.

    python docs/sr_models.py RUN_DIR [RUN_DIR ...]            # one Markdown table per scale
    python docs/sr_models.py RUN_DIR ... --curves curves.png  # also the learning curves

Each RUN_DIR is a ``tconv train sr`` run folder (its ``model.pt``; ``last.pt`` for a run that
was stopped before its end, marked in the table). For every run: parameters, multiply-adds per
output megapixel (:func:`tconv.train.sr.macs_per_megapixel`), PSNR/SSIM on Y with ``scale``
pixels shaved (:func:`tconv.train.sr.psnr_ssim`) on each full held-out photo (cropped to a
multiple of the scale, degraded by :func:`tconv.train.data.degrade`, upscaled in one piece),
their mean, the gain over bicubic interpolation (torch's, the baseline of the training
reports, and Pillow's ``BICUBIC`` resize), and milliseconds per output megapixel on this
machine's CPU (:func:`tconv.train.sr.inference_ms_per_megapixel`, the largest held-out photo,
median of 3, ``--threads`` threads). The curves are the held-out PSNR gain over torch's bicubic
measured after every epoch of training, against the optimizer steps.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tconv.train.data import HELD_OUT_PHOTOS, bicubic, crop_to_multiple, degrade, load_photo
from tconv.train.sr import (
    inference_ms_per_megapixel,
    macs_per_megapixel,
    model_from_config,
    psnr_ssim,
    run_label,
)
from tconv.train.trainer import load_checkpoint


def pillow_bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Pillow's ``BICUBIC`` resize of the 8-bit LR image (``(3, h, w)`` in [0, 1])."""
    from PIL import Image

    a = (lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    size = (lr.shape[-1] * scale, lr.shape[-2] * scale)
    up = np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BICUBIC))
    return torch.from_numpy(up.astype(np.float32) / 255).permute(2, 0, 1)


def checkpoint_of(run: Path) -> tuple[dict[str, Any], bool]:
    """The run's final checkpoint, or its last one (and True) when it was cut short."""
    if (run / "model.pt").is_file():
        return load_checkpoint(run / "model.pt", task="sr"), False
    for name in ("last.pt", "partial.pt"):
        if (run / name).is_file():
            return load_checkpoint(run / name, task="sr"), True
    raise FileNotFoundError(f"{run} holds no model.pt or last.pt")


def measure(ckpt: dict[str, Any]) -> dict[str, Any]:
    cfg = ckpt["config"]
    scale = int(cfg["scale"])
    model = model_from_config(cfg)
    model.load_state_dict(ckpt["models"]["model"])
    model.eval()
    rows: dict[str, Any] = {"photos": {}}
    lrs = []
    for name in HELD_OUT_PHOTOS:
        hr = crop_to_multiple(load_photo(name), scale)
        lr = degrade(hr, scale)
        lrs.append(lr)
        with torch.no_grad():
            out = model(lr[None])[0].clamp(0, 1)
        rows["photos"][name] = {
            "model": psnr_ssim(out, hr, scale),
            "bicubic": psnr_ssim(bicubic(lr[None], scale)[0], hr, scale),
            "pillow": psnr_ssim(pillow_bicubic(lr, scale), hr, scale),
        }
    rows["params"] = sum(p.numel() for p in model.parameters())
    rows["gmac"] = macs_per_megapixel(model, scale) / 1e9
    largest = max(lrs, key=lambda t: t.numel())
    rows["ms"] = inference_ms_per_megapixel(model, largest[None])
    return rows


def table(runs: list[tuple[str, dict[str, Any], dict[str, Any], bool]]) -> str:
    names = list(HELD_OUT_PHOTOS)
    head = (
        "| network | steps | params | GMAC/out MP | "
        + " | ".join(f"{n} PSNR / SSIM" for n in names)
        + " | mean PSNR / SSIM | gain vs torch bicubic | gain vs Pillow bicubic | ms/out MP |"
    )
    lines = [head, "|" + "---|" * (8 + len(names))]
    first = runs[0][2]["photos"]
    for label, key in (("bicubic (torch)", "bicubic"), ("bicubic (Pillow)", "pillow")):
        cells = [f"{first[n][key][0]:.2f} / {first[n][key][1]:.4f}" for n in names]
        p = statistics.fmean(first[n][key][0] for n in names)
        s = statistics.fmean(first[n][key][1] for n in names)
        lines.append(
            f"| {label} | — | 0 | — | " + " | ".join(cells) + f" | {p:.2f} / {s:.4f} | | | |"
        )
    for label, ckpt, m, cut in runs:
        ph = m["photos"]
        cells = [f"{ph[n]['model'][0]:.2f} / {ph[n]['model'][1]:.4f}" for n in names]
        p = statistics.fmean(ph[n]["model"][0] for n in names)
        s = statistics.fmean(ph[n]["model"][1] for n in names)
        gains = [ph[n]["model"][0] - ph[n]["bicubic"][0] for n in names]
        gains_pil = [ph[n]["model"][0] - ph[n]["pillow"][0] for n in names]
        cfg = ckpt["config"]
        per_epoch = max(1, int(cfg["patches_per_epoch"]) // int(cfg["batch_size"]))
        steps = f"{int(ckpt['epoch']) * per_epoch:,}"
        if cut:
            steps += f" (cut at epoch {ckpt['epoch']}/{cfg['epochs']})"
        lines.append(
            f"| {label} | {steps} | {m['params']:,} | {m['gmac']:.1f} | "
            + " | ".join(cells)
            + f" | **{p:.2f}** / {s:.4f} | **{statistics.fmean(gains):+.2f}** "
            f"(min {min(gains):+.2f}) | {statistics.fmean(gains_pil):+.2f} "
            f"(min {min(gains_pil):+.2f}) | {m['ms']:.0f} |"
        )
    return "\n".join(lines)


def curves(runs: list[tuple[str, dict[str, Any], dict[str, Any], bool]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted({int(c["config"]["scale"]) for _, c, _, _ in runs})
    fig, axes = plt.subplots(1, len(scales), figsize=(5.2 * len(scales), 3.8), squeeze=False)
    for ax, scale in zip(axes[0], scales):
        for label, ckpt, _, cut in runs:
            cfg = ckpt["config"]
            if int(cfg["scale"]) != scale:
                continue
            per_epoch = max(1, int(cfg["patches_per_epoch"]) // int(cfg["batch_size"]))
            h = ckpt["history"]
            steps = [int(e["epoch"]) * per_epoch for e in h]
            gains = [float(e["psnr_gain_db"]) for e in h]
            budget = int(cfg["epochs"]) * per_epoch
            name = f"{label}, {budget:,}-step budget" + (" (cut short)" if cut else "")
            ax.plot(steps, gains, "--" if cut else "-", label=name)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylim(bottom=max(ax.get_ylim()[0], -1.5))
        ax.set_xlabel("optimizer steps (batches of 32 patches)")
        ax.set_ylabel("held-out PSNR-Y gain over bicubic (dB)")
        ax.set_title(f"x{scale}: held-out photos, measured after each epoch", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="tconv train sr run folders")
    parser.add_argument("--curves", default=None, help="write the learning curves (PNG) here")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (timing)")
    parser.add_argument("--no-table", action="store_true", help="only the curves")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = []
    for folder in args.runs:
        ckpt, cut = checkpoint_of(Path(folder))
        label = run_label(ckpt["config"])
        if label == "subpixel":
            cfg = ckpt["config"]
            label = f"srnet {cfg['width']}x{cfg['depth']}"
        runs.append((label, ckpt, {} if args.no_table else measure(ckpt), cut))
    for scale in (
        [] if args.no_table else sorted({int(c["config"]["scale"]) for _, c, _, _ in runs})
    ):
        print(f"\nx{scale}:\n")
        print(table([r for r in runs if int(r[1]["config"]["scale"]) == scale]))
    print("\ncommands:")
    for label, ckpt, _, _ in runs:
        print(f"- {label} x{ckpt['config']['scale']}: `{ckpt['provenance']['command']}`")
    if args.curves:
        curves(runs, args.curves)
        print(f"\nwrote {args.curves}")


if __name__ == "__main__":
    main()
