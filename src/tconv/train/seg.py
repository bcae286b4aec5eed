"""``tconv train seg``: texture segmentation with a U-Net whose decoder is the upsampler under test.

Data (:func:`composites`): the textures bundled with scikit-image (:data:`TEXTURES`: brick,
grass, gravel -- the only texture images in the wheel; the others need a download), each
standardised to mean 0 and standard deviation 1 (so brightness does not give the class away),
are pasted under random region masks: ``K`` smooth random fields (white noise low-passed by a
Gaussian), the label of a pixel is the index of the largest field. Labels are exact per pixel.
Training composites take their texture crops from the left part of each image (columns
``[0, 320)``), held-out composites from the right part (columns ``[336, 512)``): no texture
pixel is shared.

Model (:class:`UNet`): ``depth`` levels of two 3x3 conv + GroupNorm + ReLU blocks; each level
downsamples with a stride-2 convolution and the decoder upsamples with the upsampler under test
(:data:`UPSAMPLERS`), then concatenates the skip connection. The skip sizes are exact for any
input size (99x101 included) without padding: each level's downsampling convolution mirrors
its upsampler (the entry's ``down`` kernel and padding in :mod:`tconv.upsamplers`), so a
transposed decoder is the adjoint geometry (what :func:`tconv.inverse_of` gives; the output
size of the skip is passed as ``output_size``), the other decoders are
:class:`tconv.nn.Upsample` blocks after a k3 s2 p1 downsampling (``ceil(n / 2)``), called with
``output_size`` = the skip's size.

Metrics (:func:`segmentation_metrics`): per-class IoU and mIoU over the held-out composites
(one confusion matrix over all pixels), pixel accuracy, boundary accuracy (accuracy on the
pixels within 2 pixels of a true region boundary), and checkerboard measures of the logits:
``logit_checkerboard`` (:func:`tconv.train.quality.stride_energy` of the held-out logits at
period 2, the last decoder stage) and ``checkerboard_score`` / ``checkerboard_spectrum``
(:mod:`tconv.artifacts`, the whole network's response to a constant / smooth input).

Example:
    >>> model = UNet("transposed_k4", classes=3, width=8, depth=2)
    >>> model(torch.randn(1, 1, 99, 101)).shape
    torch.Size([1, 3, 99, 101])
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import artifacts, upsamplers
from . import register_task
from .data import TEXTURE_COLUMNS, TEXTURES, composites
from .figures import segmentation_examples
from .quality import boundary_mask, segmentation_metrics, stride_energy
from .report import Column, config_note, metrics_table, write_comparison, write_report
from .trainer import Task

__all__ = ["UPSAMPLERS", "SegConfig", "SegTask", "UNet"]


#: The decoder upsamplers compared: the entries of :mod:`tconv.upsamplers` marked ``compared``.
UPSAMPLERS: tuple[str, ...] = upsamplers.compared()


# ---------------------------------------------------------------------------------------------
# data


# ---------------------------------------------------------------------------------------------
# model


def _block(cin: int, cout: int) -> nn.Sequential:
    def norm(c: int) -> nn.GroupNorm:
        return nn.GroupNorm(math.gcd(4, c), c)

    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        norm(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        norm(cout),
        nn.ReLU(inplace=True),
    )


class _Up(nn.Module):
    """The upsampler under test; forward(x, size) returns exactly ``size``."""

    def __init__(self, name: str, cin: int, cout: int) -> None:
        super().__init__()
        self.layer = upsamplers.build(name, cin, cout, 2)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        return self.layer(x, output_size=size)


class UNet(nn.Module):
    """A small U-Net whose decoder upsamples with ``upsampler`` (one of :data:`UPSAMPLERS`).

    Args:
        upsampler: the decoder's upsampler.
        in_channels: image channels.
        classes: output channels (logits).
        width: channels at full resolution (doubled per level).
        depth: number of downsamplings.

    Shape:
        - Input: ``(N, in_channels, H, W)``, any ``H, W >= 2 ** depth``
        - Output: ``(N, classes, H, W)``

    Raises:
        ValueError: an unknown upsampler.

    Example:
        >>> UNet("interpolate_bilinear", width=4, depth=1)(torch.randn(2, 1, 9, 8)).shape
        torch.Size([2, 3, 9, 8])
    """

    def __init__(
        self,
        upsampler: str,
        in_channels: int = 1,
        classes: int = 3,
        width: int = 16,
        depth: int = 2,
    ) -> None:
        super().__init__()
        upsampler = upsamplers.canonical(upsampler)
        if upsampler not in UPSAMPLERS:
            raise ValueError(
                f"upsampler={upsampler!r} is invalid: valid upsamplers are {tuple(UPSAMPLERS)}"
            )
        self.upsampler = upsampler
        k, p = upsamplers.get(upsampler).down
        chans = [width * 2**i for i in range(depth + 1)]
        self.stem = _block(in_channels, chans[0])
        self.downs = nn.ModuleList()
        self.encoders = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for i in range(depth):
            down = nn.Conv2d(chans[i], chans[i + 1], k, stride=2, padding=p)
            self.downs.append(down)
            self.encoders.append(_block(chans[i + 1], chans[i + 1]))
            self.ups.append(_Up(upsampler, chans[i + 1], chans[i]))
            self.decoders.append(_block(2 * chans[i], chans[i]))
        self.head = nn.Conv2d(chans[0], classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        x = self.stem(x)
        for down, enc in zip(self.downs, self.encoders):
            skips.append(x)
            x = enc(down(x))
        for i in reversed(range(len(self.ups))):
            skip = skips[i]
            x = self.ups[i](x, tuple(skip.shape[-2:]))
            x = self.decoders[i](torch.cat([skip, x], dim=1))
        return self.head(x)


# ---------------------------------------------------------------------------------------------
# the task


@dataclasses.dataclass
class SegConfig:
    """Settings of ``tconv train seg`` (each field is a flag), checked on creation.

    Attributes:
        upsampler: the decoder upsampler (a key of :data:`UPSAMPLERS`), or ``"all"`` to train
            each of them.
        epochs: training epochs.
        seed: seed of the composites and the initial weights.
        batch_size: the global batch (split evenly over the torchrun processes).
        lr: Adam's learning rate.
        width: U-Net channels at full resolution (doubled per level).
        depth: U-Net downsamplings.
        train_size: side of the square training composites.
        train_count: training composites.
        eval_height: height of the held-out composites.
        eval_width: width of the held-out composites.
        eval_count: held-out composites.

    Raises:
        ValueError: an unknown upsampler, a count, size or ``lr`` out of range (each side of a
            composite must be at least 8 and ``2 ** depth``).

    Example:
        >>> SegConfig(upsampler="transposed_k3", depth=2).train_size
        64
        >>> SegConfig(depth=4, train_size=12)
        Traceback (most recent call last):
        ...
        ValueError: train_size=12 is invalid: it must be >= 16 (8 and 2 ** depth)
    """

    upsampler: str = dataclasses.field(
        default="subpixel",
        metadata={"help": f"decoder upsampler: {', '.join(UPSAMPLERS)} or all"},
    )
    epochs: int = dataclasses.field(default=12, metadata={"help": "training epochs"})
    seed: int = dataclasses.field(default=0, metadata={"help": "seed of data and weights"})
    batch_size: int = dataclasses.field(
        default=16, metadata={"help": "global batch (split over the torchrun processes)"}
    )
    lr: float = dataclasses.field(default=2e-3, metadata={"help": "Adam learning rate"})
    width: int = dataclasses.field(default=16, metadata={"help": "U-Net channels at level 0"})
    depth: int = dataclasses.field(default=3, metadata={"help": "U-Net downsamplings"})
    train_size: int = dataclasses.field(default=64, metadata={"help": "training composite side"})
    train_count: int = dataclasses.field(default=1024, metadata={"help": "training composites"})
    eval_height: int = dataclasses.field(default=99, metadata={"help": "held-out height"})
    eval_width: int = dataclasses.field(default=101, metadata={"help": "held-out width"})
    eval_count: int = dataclasses.field(default=48, metadata={"help": "held-out composites"})

    def __post_init__(self) -> None:
        self.upsampler = upsamplers.canonical(self.upsampler)  # an old spelling too
        if self.upsampler != "all" and self.upsampler not in UPSAMPLERS:
            raise ValueError(
                f"upsampler={self.upsampler!r} is invalid: valid upsamplers are "
                f"{(*UPSAMPLERS, 'all')}"
            )
        for name in ("epochs", "batch_size", "width", "depth", "train_count", "eval_count"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: it must be >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is invalid: it must be > 0")
        low = 2**self.depth
        for name in ("train_size", "eval_height", "eval_width"):
            if int(getattr(self, name)) < max(8, low):
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is invalid: it must be >= {max(8, low)} "
                    f"(8 and 2 ** depth)"
                )


@register_task
class SegTask(Task):
    """Texture segmentation; see the module docstring.

    ``tconv train seg`` runs it through :func:`tconv.train.fit`: cross-entropy, Adam, the
    held-out metrics of :func:`segmentation_metrics` plus checkerboard measures of the logits.

    Args:
        config: the settings (:class:`SegConfig`).
        ctx: the :class:`tconv.train.Context` to run in (device, rank, world size).

    Example:
        >>> import torch
        >>> from tconv.train import Context
        >>> config = SegConfig("transposed_k3", width=4, depth=1, batch_size=2, train_size=16,
        ...                    train_count=2, eval_height=9, eval_width=11, eval_count=2)
        >>> task = SegTask(config, Context(torch.device("cpu")))
        >>> task.setup()
        >>> with torch.no_grad():  # as the trainer calls it
        ...     metrics = task.evaluate()
        >>> sorted(metrics)
        ['boundary_accuracy', 'checkerboard_score', 'checkerboard_spectrum', 'iou_0', 'iou_1',
         'iou_2', 'logit_checkerboard', 'miou', 'pixel_accuracy']
    """

    name = "seg"
    Config = SegConfig
    QUICK: ClassVar[dict[str, Any]] = {
        "epochs": 6,
        "train_count": 256,
        "eval_count": 24,
        "depth": 2,
    }
    VARIANT_FIELD = "upsampler"
    VARIANTS = tuple(UPSAMPLERS)
    COLUMNS = (
        Column("mIoU", ("miou",)),
        Column("IoU brick", ("iou_0",)),
        Column("IoU grass", ("iou_1",)),
        Column("IoU gravel", ("iou_2",)),
        Column("boundary acc.", ("boundary_accuracy",)),
        Column("logit checkerboard", ("logit_checkerboard",)),
        Column("ckb. score", ("checkerboard_score",)),
        Column("ckb. spectrum", ("checkerboard_spectrum",)),
        Column("train s", ("train_seconds",), "{:.0f}"),
    )
    REQUIRES = ("skimage", "matplotlib")  # photos/textures, report figure
    DESCRIPTION = (
        "Texture segmentation (brick / grass / gravel composites from scikit-image) with a "
        "U-Net whose decoder is the upsampler under test; held-out mIoU, per-class IoU, "
        "boundary accuracy and checkerboard measures of the logits."
    )
    EXAMPLES = """examples:
  tconv train seg --upsampler all --quick --out out/seg    # six decoders, a few minutes
  tconv train seg --upsampler transposed_k3 --out out/k3   # one decoder, full settings
  tconv train seg --upsampler transposed_k3 --out out/k3 --resume --epochs 20
  torchrun --standalone --nproc-per-node 2 -m tconv train seg --quick --out out/seg2"""

    def setup(self) -> None:
        """Make the training and held-out composites (each rank evaluates its share), the
        sampler and loader, the U-Net (the same initial weights on every rank) and Adam.

        Raises:
            ValueError: ``batch_size`` is not a multiple of the number of processes.
        """
        c = self.config
        x, y = composites(c.train_count, (c.train_size, c.train_size), "train", c.seed)
        self.train_set = torch.utils.data.TensorDataset(x, y)
        hx, hy = composites(
            c.eval_count, (c.eval_height, c.eval_width), "held_out", c.seed + 10_000
        )
        # each rank evaluates its share; the counts are summed over the ranks
        self.eval_x = hx[self.ctx.rank :: self.ctx.world_size]
        self.eval_y = hy[self.ctx.rank :: self.ctx.world_size]
        self._loader = self.train_loader(self.train_set, c.batch_size, c.seed)
        torch.manual_seed(c.seed)  # the same initial weights on every rank and world size
        model = UNet(c.upsampler, 1, len(TEXTURES), c.width, c.depth)
        self.models = {"unet": self.ctx.wrap(model)}
        self.optimizers = {"adam": torch.optim.Adam(self.models["unet"].parameters(), lr=c.lr)}
        torch.manual_seed(c.seed + self.ctx.rank)  # back to the trainer's stream per rank

    def train_batches(self, epoch: int) -> Any:
        """The loader of the training composites (its sampler reshuffles per epoch)."""
        return self._loader

    def train_step(self, batch: Any) -> dict[str, float]:
        """One Adam step on the cross-entropy of an ``(image, label)`` batch; ``{"loss": ...}``."""
        x, y = (t.to(self.ctx.device) for t in batch)
        logits = self.models["unet"](x)
        loss = F.cross_entropy(logits, y)
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def _predict(self, x: Tensor) -> Tensor:
        model = self.module("unet")
        return torch.cat(
            [model(x[i : i + 8].to(self.ctx.device)).cpu() for i in range(0, len(x), 8)]
        )

    def evaluate(self) -> dict[str, float]:
        """mIoU, per-class IoU, pixel and boundary accuracy over the held-out composites (counts
        summed over the ranks), and the checkerboard measures of the logits and the network.
        The trainer calls it under ``torch.no_grad()``."""
        k = len(TEXTURES)
        logits = self._predict(self.eval_x)
        pred = logits.argmax(1)
        cm = torch.bincount(self.eval_y.flatten() * k + pred.flatten(), minlength=k * k)
        near = boundary_mask(self.eval_y, 2)
        counts = torch.cat(
            [
                cm.double(),
                torch.tensor([float((pred == self.eval_y)[near].sum()), float(near.sum())]),
            ]
        )
        energy = torch.tensor(
            [stride_energy(logits, 2) if len(logits) else 0.0], dtype=torch.float64
        )
        if self.ctx.distributed:
            counts = counts.to(self.ctx.device)
            torch.distributed.all_reduce(counts)
            counts = counts.cpu()
        out = segmentation_metrics(
            counts[: k * k].reshape(k, k), (float(counts[-2]), float(counts[-1]))
        )
        out["logit_checkerboard"] = self.ctx.mean({"e": float(energy)})["e"]
        model = self.module("unet")
        shape = (1, 1, 64, 64)
        out["checkerboard_score"] = artifacts.checkerboard_score(model, shape, stride=2)
        out["checkerboard_spectrum"] = artifacts.checkerboard_spectrum(model, shape, stride=2)
        return out

    def provenance(self) -> dict[str, Any]:
        """The textures and the columns of the training / held-out split, for the checkpoint."""
        return {
            "textures": list(TEXTURES),
            "train_columns": list(TEXTURE_COLUMNS["train"]),
            "held_out_columns": list(TEXTURE_COLUMNS["held_out"]),
            "source": "skimage.data (bundled)",
        }

    def report(self, out_dir: Path, result: dict[str, Any]) -> None:
        """Write ``report.md`` (the metrics), ``examples.npz`` and ``examples.png`` (four
        held-out composites: image, truth, prediction) into ``out_dir``."""
        model = self.module("unet")
        c = self.config
        x, y = composites(4, (c.eval_height, c.eval_width), "held_out", c.seed + 10_000)
        with torch.no_grad():
            model.eval()
            logits = model(x.to(self.ctx.device)).cpu()
        np.savez_compressed(
            out_dir / "examples.npz",
            image=x[:, 0].numpy(),
            label=y.numpy(),
            pred=logits.argmax(1).numpy(),
            logit=(logits[:, 0] - logits[:, 1:].amax(1)).numpy(),
        )
        segmentation_examples(
            out_dir / "examples.png", {c.upsampler: out_dir / "examples.npz"}, len(TEXTURES)
        )
        held_out = TEXTURE_COLUMNS["held_out"]
        write_report(
            out_dir,
            f"seg: {c.upsampler} ({upsamplers.get(c.upsampler).description})",
            [
                f"Held-out: {c.eval_count} composites of {c.eval_height}x{c.eval_width} "
                f"(textures {', '.join(TEXTURES)}, columns {held_out}).",
                metrics_table(result["metrics"]),
                f"Training: {result['epochs']} epochs, {result['train_seconds']:.0f} s, "
                f"{result.get('world_size', 1)} process(es).",
            ],
            ("examples", "examples.png"),
        )

    @classmethod
    def compare(cls, out_dir: Path, results: dict[str, dict[str, Any]]) -> None:
        """Write ``comparison.md``, ``.json`` and ``.png`` (the held-out examples per decoder)."""
        segmentation_examples(
            out_dir / "comparison.png",
            {v: Path(r["out_dir"]) / "examples.npz" for v, r in results.items()},
            len(TEXTURES),
        )
        write_comparison(
            out_dir,
            cls.name,
            results,
            cls.COLUMNS,
            notes=[config_note(results)],
            figure=("held-out examples per decoder", "comparison.png"),
        )
