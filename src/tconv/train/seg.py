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
input size (99x101 included) without padding: the transposed decoders are
:func:`tconv.inverse_of` of their level's downsampling convolution (same kernel, stride and
padding; the output size of the skip is passed as ``output_size``), the other decoders are
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
import functools
import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import artifacts
from ..blocks import Upsample
from ..planning import inverse_of
from . import register_task
from .quality import stride_energy
from .trainer import Task

__all__ = [
    "TEXTURES",
    "UPSAMPLERS",
    "SegConfig",
    "SegTask",
    "UNet",
    "boundary_mask",
    "composites",
    "load_texture",
    "region_labels",
    "segmentation_metrics",
]

#: The texture images of scikit-image that load offline (``skimage.data.<name>()``).
TEXTURES: tuple[str, ...] = ("brick", "grass", "gravel")
#: Columns of each (512-wide) texture image for training and held-out crops.
TRAIN_COLUMNS, HELD_OUT_COLUMNS = (0, 320), (336, 512)

#: The decoder upsamplers: name -> (description, down kernel, down padding, how to upsample).
UPSAMPLERS: dict[str, tuple[str, int, int, str]] = {
    "transposed_k2": ("transposed k2 s2 (no overlap)", 2, 0, "transposed"),
    "transposed_k3": ("transposed k3 s2 p1 op1 (uneven overlap)", 3, 1, "transposed"),
    "transposed_k4": ("transposed k4 s2 p1 (even overlap)", 4, 1, "transposed"),
    "subpixel": ("sub-pixel conv + ICNR", 3, 1, "subpixel"),
    "resize_conv": ("nearest resize + 3x3 conv", 3, 1, "resize_conv"),
    "bilinear": ("1x1 conv + bilinear interpolation", 3, 1, "interpolate"),
}


# ---------------------------------------------------------------------------------------------
# data


@functools.lru_cache(maxsize=8)
def load_texture(name: str) -> Tensor:
    """``skimage.data.<name>()`` as float32 ``(H, W)``, standardised to mean 0, std 1.

    Shape:
        - Output: ``(H, W)``

    Raises:
        ValueError: ``name`` is not a texture in :data:`TEXTURES`.

    Example:
        >>> t = load_texture("grass")
        >>> t.shape, abs(round(t.mean().item(), 4)), round(t.std().item(), 4)
        (torch.Size([512, 512]), 0.0, 1.0)
    """
    if name not in TEXTURES:
        raise ValueError(f"texture={name!r} is invalid: valid textures are {TEXTURES}")
    import skimage.data

    x = torch.from_numpy(np.asarray(getattr(skimage.data, name)(), dtype=np.float32))
    return (x - x.mean()) / x.std()


def region_labels(
    n: int, size: tuple[int, int], classes: int, generator: torch.Generator, scale: float = 0.1
) -> Tensor:
    """Random region masks: the argmax over ``classes`` smooth random fields.

    Each field is white Gaussian noise low-passed (circularly, by FFT) with a Gaussian of
    standard deviation ``scale * min(size)`` pixels, so regions are blobs about that wide.

    Args:
        n: number of masks.
        size: ``(H, W)``.
        classes: number of regions kinds (labels ``0 .. classes - 1``).
        generator: the seeded generator.
        scale: blob width as a fraction of the shorter side.

    Shape:
        - Output: ``(n, H, W)`` int64

    Example:
        >>> y = region_labels(2, (99, 101), 3, torch.Generator().manual_seed(0))
        >>> y.shape, sorted(y.unique().tolist())
        (torch.Size([2, 99, 101]), [0, 1, 2])
    """
    h, w = size
    noise = torch.randn(n, classes, h, w, generator=generator, dtype=torch.float64)
    sigma = scale * min(h, w)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    gain = torch.exp(-2 * math.pi**2 * sigma**2 * (fy**2 + fx**2))
    fields = torch.fft.ifft2(torch.fft.fft2(noise) * gain).real
    return fields.argmax(dim=1)


def composites(
    n: int,
    size: tuple[int, int],
    part: str,
    seed: int,
    textures: tuple[str, ...] = TEXTURES,
) -> tuple[Tensor, Tensor]:
    """``n`` texture composites with exact per-pixel labels.

    Label ``c`` pixels show texture ``textures[c]``; each composite takes one random crop
    (random flips and transposition when square) of every texture from its ``part``.

    Args:
        n: number of composites.
        size: ``(H, W)`` of each.
        part: ``"train"`` (columns ``TRAIN_COLUMNS``) or ``"held_out"`` (``HELD_OUT_COLUMNS``).
        seed: the seed (same seed, same composites).
        textures: the texture names, one class each.

    Shape:
        - images: ``(n, 1, H, W)`` float32; labels: ``(n, H, W)`` int64

    Raises:
        ValueError: an unknown ``part`` or texture.
        ShapeError: ``size`` larger than the part.

    Example:
        >>> x, y = composites(2, (99, 101), "held_out", seed=0)
        >>> x.shape, y.shape, y.dtype
        (torch.Size([2, 1, 99, 101]), torch.Size([2, 99, 101]), torch.int64)
    """
    from ..shapes import ShapeError

    columns = {"train": TRAIN_COLUMNS, "held_out": HELD_OUT_COLUMNS}
    if part not in columns:
        raise ValueError(f"part={part!r} is invalid: valid parts are {tuple(columns)}")
    lo, hi = columns[part]
    h, w = size
    images = [load_texture(t)[:, lo:hi] for t in textures]
    for name, img in zip(textures, images):
        if h > img.shape[0] or w > img.shape[1] or h < 8 or w < 8:
            raise ShapeError(
                f"size={size} is invalid for the {part} part of {name!r}: each side must be "
                f"from 8 to {tuple(img.shape)}"
            )
    gen = torch.Generator().manual_seed(seed)
    labels = region_labels(n, size, len(textures), gen)
    out = torch.empty(n, 1, h, w)
    for i in range(n):
        crops = []
        for img in images:
            top = int(torch.randint(img.shape[0] - h + 1, (1,), generator=gen))
            left = int(torch.randint(img.shape[1] - w + 1, (1,), generator=gen))
            crop = img[top : top + h, left : left + w]
            flips = torch.randint(2, (2,), generator=gen).tolist()
            if flips[0]:
                crop = crop.flip(0)
            if flips[1]:
                crop = crop.flip(1)
            crops.append(crop)
        stack = torch.stack(crops)  # (K, H, W)
        out[i, 0] = torch.gather(stack, 0, labels[i][None]).squeeze(0)
    return out, labels


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

    def __init__(self, name: str, down: nn.Conv2d, size_hint: int) -> None:
        super().__init__()
        kind = UPSAMPLERS[name][3]
        cin, cout = down.out_channels, down.in_channels
        self.layer: nn.Module
        if kind == "transposed":
            # the exact adjoint geometry of the downsampling conv (tconv.inverse_of): its
            # output_size range always contains the skip's size
            self.layer = inverse_of(down, (size_hint, size_hint)).to_module(cin, cout)
        elif kind == "interpolate":
            self.layer = Upsample(cin, cout, 2, "interpolate", interpolation="linear")
        else:
            self.layer = Upsample(cin, cout, 2, kind)

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
        >>> UNet("bilinear", width=4, depth=1)(torch.randn(2, 1, 9, 8)).shape
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
        if upsampler not in UPSAMPLERS:
            raise ValueError(
                f"upsampler={upsampler!r} is invalid: valid upsamplers are {tuple(UPSAMPLERS)}"
            )
        self.upsampler = upsampler
        _, k, p, _ = UPSAMPLERS[upsampler]
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
            self.ups.append(_Up(upsampler, down, 64 // 2**i))
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
# metrics


def boundary_mask(labels: Tensor, radius: int = 2) -> Tensor:
    """Pixels within ``radius`` (Chebyshev distance) of a pixel of another label.

    Args:
        labels: integer label maps (labels ``0 .. K - 1``).
        radius: the distance, in pixels.

    Returns:
        ``True`` where a different label lies within the ``(2 * radius + 1)`` square around.

    Shape:
        - labels: ``(N, H, W)`` int64; output ``(N, H, W)`` bool

    Example:
        >>> y = torch.zeros(1, 1, 8, dtype=torch.long); y[..., 4:] = 1
        >>> boundary_mask(y, 1)[0, 0].int().tolist()
        [0, 0, 0, 1, 1, 0, 0, 0]
    """
    k = int(labels.max()) + 1
    onehot = F.one_hot(labels, k).permute(0, 3, 1, 2).float()
    present = F.max_pool2d(onehot, 2 * radius + 1, stride=1, padding=radius)
    return present.sum(dim=1) > 1


def segmentation_metrics(confusion: Tensor, boundary: tuple[float, float]) -> dict[str, float]:
    """mIoU, per-class IoU, pixel and boundary accuracy from counts.

    Args:
        confusion: ``(K, K)`` counts, ``confusion[true, predicted]``.
        boundary: ``(correct, total)`` pixel counts near boundaries.

    Shape:
        - confusion: ``(K, K)``

    Returns:
        ``{"miou", "iou_<k>", "pixel_accuracy", "boundary_accuracy"}``; a class absent from
        both truth and prediction has IoU NaN and is left out of the mean.

    Example:
        >>> m = segmentation_metrics(torch.tensor([[3, 1], [0, 4]]), (1, 2))
        >>> m["iou_0"], m["iou_1"], m["miou"], m["boundary_accuracy"]
        (0.75, 0.8, 0.775, 0.5)
    """
    cm = confusion.double()
    tp = cm.diag()
    union = cm.sum(0) + cm.sum(1) - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.nan)
    out = {f"iou_{k}": float(v) for k, v in enumerate(iou)}
    out["miou"] = float(iou[~iou.isnan()].mean())
    out["pixel_accuracy"] = float(tp.sum() / cm.sum())
    out["boundary_accuracy"] = float(boundary[0] / max(boundary[1], 1))
    return out


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


def _per_rank_batch(batch_size: int, world_size: int) -> int:
    if batch_size % world_size:
        raise ValueError(
            f"batch_size={batch_size} is invalid for {world_size} processes: the global batch "
            "must be a multiple of the number of processes"
        )
    return batch_size // world_size


def _ordered_sampler(task: Task, dataset: Any, seed: int) -> Any:
    """The DistributedSampler of the run (a one-replica one alone: the same order as DDP)."""
    sampler = task.ctx.sampler(dataset, shuffle=True, seed=seed)
    if sampler is None:
        sampler = torch.utils.data.DistributedSampler(
            dataset, num_replicas=1, rank=0, shuffle=True, seed=seed
        )
    task.samplers.append(sampler)
    return sampler


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
        self.per_rank = _per_rank_batch(c.batch_size, self.ctx.world_size)
        x, y = composites(c.train_count, (c.train_size, c.train_size), "train", c.seed)
        self.train_set = torch.utils.data.TensorDataset(x, y)
        hx, hy = composites(
            c.eval_count, (c.eval_height, c.eval_width), "held_out", c.seed + 10_000
        )
        # each rank evaluates its share; the counts are summed over the ranks
        self.eval_x = hx[self.ctx.rank :: self.ctx.world_size]
        self.eval_y = hy[self.ctx.rank :: self.ctx.world_size]
        # in setup, so the trainer's set_epoch reaches the sampler before every epoch
        sampler = _ordered_sampler(self, self.train_set, c.seed)
        self._loader = torch.utils.data.DataLoader(
            self.train_set, batch_size=self.per_rank, sampler=sampler, drop_last=True
        )
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
            "train_columns": list(TRAIN_COLUMNS),
            "held_out_columns": list(HELD_OUT_COLUMNS),
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
        _examples_figure(out_dir / "examples.png", {c.upsampler: out_dir / "examples.npz"})
        m = result["metrics"]
        lines = [
            f"# seg: {c.upsampler} ({UPSAMPLERS[c.upsampler][0]})",
            "",
            f"Held-out: {c.eval_count} composites of {c.eval_height}x{c.eval_width} "
            f"(textures {', '.join(TEXTURES)}, columns {HELD_OUT_COLUMNS}).",
            "",
            "| metric | value |",
            "|---|---|",
            *(f"| {k} | {v:.4f} |" for k, v in m.items() if isinstance(v, float)),
            "",
            f"Training: {result['epochs']} epochs, {result['train_seconds']:.0f} s, "
            f"{result.get('world_size', 1)} process(es).",
            "",
            "![examples](examples.png)",
            "",
        ]
        (out_dir / "report.md").write_text("\n".join(lines))

    @classmethod
    def compare(cls, out_dir: Path, results: dict[str, dict[str, Any]]) -> None:
        """Write ``comparison.md``, ``.json`` and ``.png`` (the held-out examples per decoder)."""
        _compare(out_dir, results, "seg", _SEG_COLUMNS)
        _examples_figure(
            out_dir / "comparison.png",
            {v: Path(r["out_dir"]) / "examples.npz" for v, r in results.items()},
        )
        with open(out_dir / "comparison.md", "a") as f:
            f.write("\n![held-out examples per decoder](comparison.png)\n")


_SEG_COLUMNS = (
    ("miou", "mIoU"),
    ("iou_0", "IoU brick"),
    ("iou_1", "IoU grass"),
    ("iou_2", "IoU gravel"),
    ("boundary_accuracy", "boundary acc."),
    ("logit_checkerboard", "logit checkerboard"),
    ("checkerboard_score", "ckb. score"),
    ("checkerboard_spectrum", "ckb. spectrum"),
)


def _compare(
    out_dir: Path,
    results: dict[str, dict[str, Any]],
    task: str,
    columns: tuple[tuple[str, str], ...],
) -> None:
    """Write comparison.md (the table) and comparison.json of an ``--upsampler all`` run."""
    header = "| upsampler | " + " | ".join(t for _, t in columns) + " | train s |"
    lines = [
        f"# {task}: upsampler comparison",
        "",
        header,
        "|" + "---|" * (len(columns) + 2),
    ]
    for variant, r in results.items():
        m = r["metrics"]
        cells = [f"{m[k]:.4g}" if isinstance(m.get(k), float) else "-" for k, _ in columns]
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {r['train_seconds']:.0f} |")
    first = next(iter(results.values()))
    config = {k: v for k, v in first["config"].items() if k != "upsampler"}
    lines += [
        "",
        f"Config (besides the upsampler): `{json.dumps(config)}`, "
        f"{first.get('world_size', 1)} process(es).",
        "",
    ]
    (out_dir / "comparison.md").write_text("\n".join(lines))
    summary = {
        "task": task,
        "variants": {
            v: {"metrics": r["metrics"], "train_seconds": r["train_seconds"]}
            for v, r in results.items()
        },
        "config": config,
    }
    with open(out_dir / "comparison.json", "w") as f:
        json.dump(summary, f, indent=1)


def _examples_figure(path: Path, runs: dict[str, Path]) -> None:
    """Held-out examples: image, truth, then each run's prediction (one row per example)."""
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
            kw = {"vmin": 0, "vmax": len(TEXTURES) - 1} if cmap == "viridis" else {}
            ax.imshow(img, cmap=cmap, interpolation="nearest", **kw)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
