"""The figures of the training tasks (matplotlib, imported inside each function).

- :func:`segmentation_examples`: held-out composites, their truth and each run's prediction.
- :func:`samples_and_spectra`: generator samples per run above their power spectrum relative
  to real patches.

The super-resolution crops are :func:`tconv.train.sr.crop_figure`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

__all__ = ["samples_and_spectra", "segmentation_examples"]


def segmentation_examples(path: Path, runs: dict[str, Path], classes: int) -> None:
    """Held-out examples: image, truth, then each run's prediction (one row per example).

    Args:
        path: the PNG to write.
        runs: run name -> its ``examples.npz`` (``image``, ``label``, ``pred``); missing files
            are left out, and nothing is drawn without any.
        classes: the number of classes (the colour scale of labels and predictions).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     npz = Path(d) / "examples.npz"
        ...     y = np.arange(64).reshape(1, 8, 8) % 3
        ...     np.savez(npz, image=np.zeros((1, 8, 8)), label=y, pred=y)
        ...     segmentation_examples(Path(d) / "examples.png", {"k3": npz}, classes=3)
        ...     (Path(d) / "examples.png").stat().st_size > 1000
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = {v: np.load(p) for v, p in runs.items() if p.is_file()}
    if not data:
        return
    first = next(iter(data.values()))
    rows = min(3, len(first["image"]))
    cols = 2 + len(data)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows), squeeze=False)
    for r in range(rows):
        panels = [("image", first["image"][r], "gray"), ("truth", first["label"][r], "viridis")]
        panels += [(v, d["pred"][r], "viridis") for v, d in data.items()]
        for ax, (title, img, cmap) in zip(axes[r], panels):
            kw = {"vmin": 0, "vmax": classes - 1} if cmap == "viridis" else {}
            ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _power(images: np.ndarray) -> np.ndarray:
    x = images - images.mean(axis=(-2, -1), keepdims=True)
    return np.fft.fftshift((np.abs(np.fft.fft2(x)) ** 2).mean(axis=0))


def samples_and_spectra(path: Path, runs: dict[str, np.ndarray], real: Tensor) -> None:
    """Per run: a 4x4 grid of samples above the log10 power spectrum ratio to real patches.

    Args:
        path: the PNG to write.
        runs: run name -> its samples in ``[-1, 1]``.
        real: held-out real patches; the first column and the reference of the spectrum
            ratios.

    Shape:
        - runs' samples: ``(N, H, W)``; real: ``(N, 1, H, W)``

    Example:
        >>> import tempfile, torch
        >>> real = torch.rand(16, 1, 32, 32) * 2 - 1
        >>> with tempfile.TemporaryDirectory() as d:
        ...     samples_and_spectra(Path(d) / "s.png", {"k4": real[:, 0].numpy()}, real)
        ...     (Path(d) / "s.png").stat().st_size > 1000
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real_np = real[:, 0].numpy()
    panels = {"real (held-out)": real_np[:16], **{v: s[:16] for v, s in runs.items()}}
    ref = _power(real_np)
    cols = len(panels)
    fig, axes = plt.subplots(2, cols, figsize=(2.2 * cols, 4.6), squeeze=False)
    for j, (title, imgs) in enumerate(panels.items()):
        grid = np.ones((4 * 33 - 1, 4 * 33 - 1))
        for k, img in enumerate(imgs[:16]):
            r, c = divmod(k, 4)
            grid[r * 33 : r * 33 + 32, c * 33 : c * 33 + 32] = img
        axes[0, j].imshow(grid, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        axes[0, j].set_title(title, fontsize=8)
        if title.startswith("real"):
            axes[1, j].imshow(np.log10(ref / ref.max() + 1e-12), cmap="gray", vmin=-5, vmax=0)
            axes[1, j].set_title("log10 P_real (centre: 0 Hz)", fontsize=7)
        else:
            ratio = np.log10((_power(runs[title]) + 1e-12) / (ref + 1e-12))
            im = axes[1, j].imshow(ratio, cmap="RdBu_r", vmin=-2, vmax=2, interpolation="nearest")
            axes[1, j].set_title("log10 P / P_real", fontsize=7)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    if runs:
        fig.colorbar(im, ax=axes[1, 1:].tolist(), shrink=0.8)
    fig.savefig(path, dpi=100)
    plt.close(fig)
