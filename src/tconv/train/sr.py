"""Super-resolution (x2, x4) on real photographs: which upsampler works best?

The task (``tconv train sr``) trains one small network with the upsampler under test and
measures it on the full held-out photos (:mod:`tconv.train.data`).

The model (:func:`build_model`) and the upsamplers it compares (:data:`UPSAMPLERS`) are
described in ``tconv.sr.networks``, which inference shares.

Training: random LR patches (``patch`` pixels square) of the training photos with their HR
counterparts, each flipped/rotated by one of the 8 symmetries of the square; L1 loss; Adam
with a cosine learning-rate schedule over the epochs. Metrics on the full held-out photos:
PSNR on Y (BT.601) with ``scale`` pixels shaved at each border, SSIM on Y
(``skimage.metrics``, Gaussian window sigma 1.5, as Wang et al. 2004), the checkerboard
score and spectrum
(:mod:`tconv.artifacts`) of the trained model, parameters, multiply-adds per output
megapixel, training time and inference milliseconds per output megapixel.

Example:
    >>> import torch
    >>> model = build_model("subpixel", scale=2, width=8, depth=2)
    >>> model(torch.rand(1, 3, 10, 12)).shape
    torch.Size([1, 3, 20, 24])
    >>> [build_model(u, 4, 8, 2)(torch.rand(1, 3, 5, 6)).shape[-1] for u in UPSAMPLERS]
    [24, 24, 24, 24, 24, 24, 24]
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..loading import load_file
from ..sr.networks import (
    ARCHS,
    CLASSIC_ARCHS,
    SCALES,
    UPSAMPLERS,
    SRNet,
    build_model,
    model_from_config,
)
from . import register_task
from .data import (
    HELD_OUT_PHOTOS,
    TRAIN_PHOTOS,
    bicubic,
    check_train_photos,
    crop_to_multiple,
    degrade,
    load_photo,
    to_y,
)
from .patches import WEIGHTINGS, PatchSampler
from .report import Column, results_table, write_comparison, write_report
from .trainer import Task

__all__ = [
    "ARCHS",
    "SCALES",
    "UPSAMPLERS",
    "SRConfig",
    "SRNet",
    "SRTask",
    "build_model",
    "model_from_config",
    "psnr_ssim",
    "train_photos",
]


def train_photos(spec: str) -> tuple[str, ...]:
    """The training photos of a ``photos`` setting (:class:`SRConfig`).

    Args:
        spec: ``""`` for :data:`~tconv.train.data.TRAIN_PHOTOS`; comma-separated names;
            ``"+name,..."`` for those added to :data:`~tconv.train.data.TRAIN_PHOTOS`; or
            ``"none"`` (none of scikit-image's: the ``photos_dir`` photos only).

    Returns:
        The names, checked by :func:`~tconv.train.data.check_train_photos` (no held-out photo,
        no repeats); unknown names fail when the photos are loaded.

    Raises:
        ValueError: an empty name, a repeated or a held-out photo.

    Example:
        >>> train_photos("+motorcycle_left")[-2:], train_photos("astronaut, rocket")
        (('gravel', 'motorcycle_left'), ('astronaut', 'rocket'))
    """
    spec = spec.strip()
    if not spec:
        return TRAIN_PHOTOS
    if spec == "none":  # the --photos-dir photos only (checked in setup)
        return ()
    add = spec.startswith("+")
    names = [n.strip() for n in spec.lstrip("+").split(",")]
    if any(not n for n in names):
        raise ValueError(
            f"photos={spec!r} is invalid: an empty name (write names separated by commas, "
            "e.g. 'astronaut,rocket' or '+motorcycle_left')"
        )
    return check_train_photos((*TRAIN_PHOTOS, *names) if add else names)


def _load_init(model: nn.Module, config: SRConfig) -> None:
    """Load ``config.init``'s weights into ``model``; refuse another network or scale."""
    from .trainer import load_checkpoint

    ckpt = load_checkpoint(config.init, task="sr")
    saved = ckpt.get("config", {})
    mine = dataclasses.asdict(config)
    keys = ("arch", "scale", "upsampler", "width", "depth")
    differ = [
        f"{k}={saved.get(k, 'srnet' if k == 'arch' else None)!r} there, {mine[k]!r} here"
        for k in keys
        if saved.get(k, "srnet" if k == "arch" else None) != mine[k]
        and not (k in ("width", "depth") and mine["arch"] != "srnet")
    ]
    if differ or "model" not in ckpt.get("models", {}):
        raise ValueError(
            f"init={config.init!r} is invalid: its network is not this run's "
            f"({'; '.join(differ) or 'it holds no trained weights'}); pass the same --arch, "
            "--scale, --upsampler, --width and --depth as the run that wrote it"
        )
    model.load_state_dict(ckpt["models"]["model"])


def run_label(config: dict[str, Any]) -> str:
    """The name of a run in tables: its upsampler for ``srnet``, else the network's name."""
    arch = str(config.get("arch", "srnet"))
    return str(config["upsampler"]) if arch == "srnet" else arch


# ---------------------------------------------------------------------------------------------
# config and data


@dataclasses.dataclass
class SRConfig:
    """Settings of ``tconv train sr`` (each field is a flag).

    The values are checked when the task is set up (:meth:`SRTask.setup`), not here.

    Attributes:
        scale: upscaling factor, 2 or 4.
        upsampler: the upsampler under test (one of :data:`UPSAMPLERS`), or ``"all"`` to
            train each of them (``arch="srnet"`` only).
        width: channels of the body (``arch="srnet"`` only).
        depth: convolutions in the body (``arch="srnet"`` only).
        patch: side of the low-resolution training patches (pixels).
        patch_max: when above ``patch``, the patch side grows linearly over the epochs
            from ``patch`` to ``patch_max`` (in steps of 4 pixels); 0 keeps it fixed.
        batch_size: patches per optimizer step.
        patches_per_epoch: training patches drawn per epoch (the held-out photos are
            measured after each epoch: the learning curve).
        epochs: epochs (one cosine learning-rate schedule spans all their steps, after a
            linear warm-up over the first 2 %).
        lr: Adam's peak learning rate.
        seed: random seed (weights and patches).
        eval_size: held-out metrics on the centre crop of this high-resolution size; 0 for
            the full photos.
        arch: the network (one of :data:`ARCHS`): ``"srnet"`` is :class:`SRNet` (or the
            two models without a body, by ``upsampler``); the others are the classic networks
            of :mod:`tconv.sr.classic`.
        photos: the training photos, comma-separated names for
            :func:`~tconv.train.data.load_photo` (``""``: :data:`~tconv.train.data.TRAIN_PHOTOS`;
            a leading ``+`` adds to them, e.g. ``"+motorcycle_left"``); never a held-out one.
        weighting: how each patch's photo is drawn (``"area"`` or ``"photo"``, see
            :class:`~tconv.train.patches.PatchSampler`).
        photos_dir: folders of photographs to train on as well (recursive; JPEG, PNG, WebP,
            TIFF), split by image into training and validation photos by a fixed rule on the
            file name (:func:`tconv.train.photos.split`); the project's held-out photographs
            in them are never read (``--photos-dir`` is repeatable; with ``photos="none"``
            the folders' photos are the only training photos).
        init: start from the weights of this ``tconv train sr`` checkpoint (``model.pt`` or
            ``last.pt`` of the same network and scale): fine-tuning, with a fresh optimizer
            and learning-rate schedule; ``""`` starts from a fresh initialisation.

    Example:
        >>> config = SRConfig(scale=4, upsampler="transposed_k4")
        >>> config.scale, config.width, config.epochs
        (4, 32, 20)
    """

    scale: int = dataclasses.field(default=2, metadata={"help": "upscaling factor: 2 or 4"})
    upsampler: str = dataclasses.field(
        default="subpixel",
        metadata={
            "help": "the upsampler under test (srnet only), or 'all': " + ", ".join(UPSAMPLERS)
        },
    )
    width: int = dataclasses.field(
        default=32, metadata={"help": "channels of the body (srnet only)"}
    )
    depth: int = dataclasses.field(
        default=3, metadata={"help": "convolutions in the body (srnet only)"}
    )
    patch: int = dataclasses.field(default=32, metadata={"help": "LR training patch size"})
    patch_max: int = dataclasses.field(
        default=0,
        metadata={"help": "grow the patch linearly over the epochs up to this size (0 = fixed)"},
    )
    batch_size: int = dataclasses.field(default=16, metadata={"help": "patches per step"})
    patches_per_epoch: int = dataclasses.field(
        default=3200, metadata={"help": "training patches drawn per epoch"}
    )
    epochs: int = dataclasses.field(default=20, metadata={"help": "epochs"})
    lr: float = dataclasses.field(default=2e-3, metadata={"help": "Adam learning rate"})
    seed: int = dataclasses.field(default=0, metadata={"help": "random seed"})
    eval_size: int = dataclasses.field(
        default=0,
        metadata={"help": "held-out: centre crop of this HR size (0 = the full photos)"},
    )
    arch: str = dataclasses.field(
        default="srnet",
        metadata={
            "help": "the network: srnet (the body + --upsampler + bicubic skip) or a classic "
            "one with its paper's upsampler and sizes: " + ", ".join(CLASSIC_ARCHS)
        },
    )
    photos: str = dataclasses.field(
        default="",
        metadata={
            "help": "training photos of skimage.data, comma-separated ('' = the 14 of "
            "TRAIN_PHOTOS; a leading + adds to them, e.g. +motorcycle_left; 'none' with "
            "--photos-dir: the folders' photos only)"
        },
    )
    photos_dir: tuple[str, ...] = dataclasses.field(
        default=(),
        metadata={
            "help": "a folder of photographs to train on as well (repeatable; recursive; "
            "JPEG/PNG/WebP/TIFF; split by image into training and validation; held-out "
            "photos never read)",
            "repeat": True,
        },
    )
    weighting: str = dataclasses.field(
        default="area",
        metadata={"help": "draw each patch's photo by its area or each photo alike: area, photo"},
    )
    init: str = dataclasses.field(
        default="",
        metadata={
            "help": "fine-tune: start from the weights of this checkpoint (same network and "
            "scale), fresh optimizer and schedule"
        },
    )


# ---------------------------------------------------------------------------------------------
# metrics


def psnr_ssim(sr: Tensor, hr: Tensor, scale: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM on Y with ``scale`` pixels shaved at each border.

    Both images are rounded to 8-bit levels first; SSIM is ``skimage.metrics``'s with a
    Gaussian window (sigma 1.5) and population covariance (Wang et al. 2004).

    Args:
        sr: the upscaled image.
        hr: the ground truth, the same size.
        scale: pixels shaved at each border (the upscaling factor; 0 shaves nothing).

    Returns:
        ``(psnr, ssim)``: PSNR in dB on the 8-bit Y scale (``inf`` for equal images) and SSIM
        rounded to 6 decimals.

    Shape:
        - sr, hr: ``(3, H, W)`` in ``[0, 1]``

    Example:
        >>> import torch
        >>> x = torch.rand(3, 32, 32)
        >>> psnr_ssim(x, x, 2)
        (inf, 1.0)
        >>> psnr, ssim = psnr_ssim(torch.full((3, 32, 32), 0.5), x, 2)  # flat grey vs noise
        >>> 10 < psnr < 20 and 0 < ssim < 0.1
        True
    """
    from skimage.metrics import structural_similarity

    ys, yh = to_y(sr), to_y(hr)
    if scale:
        ys, yh = ys[scale:-scale, scale:-scale], yh[scale:-scale, scale:-scale]
    mse = float(((ys - yh) ** 2).mean())
    psnr = math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
    ssim = structural_similarity(
        ys.numpy(),
        yh.numpy(),
        data_range=255.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    return psnr, round(float(ssim), 6)


def macs_per_megapixel(model: nn.Module, scale: int) -> float:
    """Multiply-adds per output megapixel, counted by :func:`tconv.inspection.inspect_model`."""
    from ..inspection import inspect_model

    size = 64
    report = inspect_model(model, (1, 3, size, size))
    total = report.total_macs or 0
    return total / (size * scale) ** 2 * 1e6


def inference_ms_per_megapixel(model: nn.Module, lr: Tensor, repeat: int = 3) -> float:
    """Median milliseconds per output megapixel of ``model(lr)`` (no autograd), on the
    model's device (``lr`` is moved there; CUDA is synchronised around each call)."""
    times = []
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else lr.device
    lr = lr.to(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with torch.no_grad():
        model(lr[..., :32, :32])
        for _ in range(repeat):
            sync()
            t0 = time.perf_counter()
            out = model(lr)
            sync()
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3 / (out.shape[-1] * out.shape[-2] / 1e6)


# ---------------------------------------------------------------------------------------------
# the task


@register_task
class SRTask(Task):
    """Super-resolution: data + model + L1 loss + PSNR/SSIM/checkerboard metrics.

    ``tconv train sr`` runs it through :func:`tconv.train.fit`; see the module docstring for
    the data, the model and the metrics. ``"bicubic"`` has nothing to train: its run only
    evaluates.

    Args:
        config: the settings (:class:`SRConfig`).
        ctx: the :class:`tconv.train.Context` to run in (device, rank).

    Example:
        >>> import torch
        >>> from tconv.train import Context
        >>> task = SRTask(SRConfig(upsampler="bicubic", eval_size=48), Context(torch.device("cpu")))
        >>> task.setup()  # the held-out photos (bicubic trains nothing, so no training photos)
        >>> with torch.no_grad():
        ...     metrics = task.evaluate()
        >>> metrics["psnr_gain_db"], [name for name, _, _ in task.held_out]
        (0.0, ['chelsea', 'coffee', 'camera'])
    """

    name: ClassVar[str] = "sr"
    Config: ClassVar[type] = SRConfig
    QUICK: ClassVar[dict[str, Any]] = {
        "epochs": 2,
        "patches_per_epoch": 480,
        "width": 24,
        "eval_size": 192,
    }
    VARIANT_FIELD: ClassVar[str | None] = "upsampler"
    VARIANTS: ClassVar[tuple[str, ...]] = UPSAMPLERS
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("PSNR Y (dB)", ("psnr_y",), "{:.2f}"),
        Column("vs bicubic", ("psnr_gain_db",), "{:+.2f}"),
        Column("SSIM Y", ("ssim_y",), "{:.4f}"),
        Column(
            "checkerboard score: output (branch)",
            ("checkerboard_score", "checkerboard_score_branch"),
            "{:.2g} ({:.2g})",
        ),
        Column(
            "spectrum: output (branch)",
            ("checkerboard_spectrum", "checkerboard_spectrum_branch"),
            "{:.2g} ({:.2g})",
        ),
        Column("params", ("parameters",), "{:,}"),
        Column("GMAC/out MP", ("macs_per_output_mp",), "{:.2f}", divide_by=1e9),
        Column("train s", ("train_seconds",), "{:.0f}"),
        Column("ms/out MP", ("inference_ms_per_output_mp",), "{:.0f}"),
    )
    REQUIRES: ClassVar[tuple[str, ...]] = (
        "skimage",
        "matplotlib",
    )  # photos/textures, report figure
    DESCRIPTION: ClassVar[str] = (
        "Super-resolution x2/x4 on scikit-image's bundled photos (split by image). Trains a "
        "small network with the upsampler under test and measures PSNR/SSIM on Y of the full "
        "held-out photos, the checkerboard score/spectrum of the trained model, parameters, "
        "multiply-adds, training time and inference speed."
    )
    EXAMPLES: ClassVar[str] = """\
examples:
  tconv train sr --scale 2 --upsampler subpixel --out runs/sr-x2
  tconv train sr --upsampler all --quick --out runs/sr-compare     # the comparison, minutes
  tconv train sr --scale 4 --upsampler transposed_k3 --epochs 5 --out runs/k3-x4
  tconv train sr --arch fsrcnn --patch 24 --patch-max 48 --batch-size 32 --lr 0.001 \\
      --epochs 40 --patches-per-epoch 2944 --device cuda --out runs/fsrcnn-x2   # a classic net
  tconv train sr --out runs/sr-x2 --resume                          # continue an interrupted run

Each run writes DIR/last.pt (every epoch), DIR/model.pt, DIR/metrics.json, DIR/report.md and
DIR/crops.png; --upsampler all writes DIR/<upsampler>/... and DIR/comparison.md + .json + .png.
"""

    config: SRConfig

    def setup(self) -> None:
        """Check the config; build the model, its Adam optimizer, the training patches of
        :data:`~tconv.train.data.TRAIN_PHOTOS` and the held-out (HR, LR) photos.

        Raises:
            ValueError: a scale other than 2 and 4, an unknown upsampler, or a size below 1.
        """
        c = self.config
        if c.scale not in SCALES:
            raise ValueError(f"scale={c.scale!r} is invalid: valid scales are {SCALES}")
        if c.upsampler not in UPSAMPLERS:
            raise ValueError(
                f"upsampler={c.upsampler!r} is invalid: valid upsamplers are {UPSAMPLERS} "
                "(or 'all')"
            )
        if c.arch not in ARCHS:
            raise ValueError(f"arch={c.arch!r} is invalid: valid networks are {ARCHS}")
        if c.arch != "srnet" and c.upsampler != "subpixel":
            raise ValueError(
                f"upsampler={c.upsampler!r} is invalid with arch={c.arch!r}: the classic "
                "networks have their papers' upsamplers (fsrcnn: a 9x9 transposed "
                "convolution, espcn and edsr: sub-pixel); leave --upsampler at 'subpixel'"
            )
        for name in ("patch", "batch_size", "patches_per_epoch", "width", "depth"):
            if getattr(c, name) < 1:
                raise ValueError(f"{name}={getattr(c, name)} is invalid: it must be >= 1")
        if c.patch_max < 0:
            raise ValueError(f"patch_max={c.patch_max} is invalid: it must be >= 0")
        if c.weighting not in WEIGHTINGS:
            raise ValueError(
                f"weighting={c.weighting!r} is invalid: valid weightings are {WEIGHTINGS}"
            )
        self.train_photos = train_photos(c.photos)
        folder_train, self.validation = self._folder_photos()
        if not self.train_photos and not folder_train:
            raise ValueError(
                "photos='none' is invalid without --photos-dir: name a folder of photographs "
                "or leave --photos out"
            )
        model = build_model(c.upsampler, c.scale, c.width, c.depth, c.arch)
        if c.init and not self.resuming:  # a resumed run loads its own last.pt
            _load_init(model, c)
        self.model = self.ctx.wrap(model)
        self.trainable = any(p.requires_grad for p in self.model.parameters())
        if self.trainable:
            self.models = {"model": self.model}
            opt = torch.optim.Adam(self.model.parameters(), lr=c.lr)
            self.optimizers = {"model": opt}
            hr = [crop_to_multiple(load_photo(n), c.scale) for n in self.train_photos]
            hr += [crop_to_multiple(x, c.scale) for _, x in folder_train]
            lr = [degrade(x, c.scale) for x in hr]
            self.patches = PatchSampler(hr, lr, c.scale, c.seed, self.ctx.device, c.weighting)
            # each rank draws its own patches: patches_per_epoch in all per epoch
            self.steps_per_epoch = max(
                1, c.patches_per_epoch // (c.batch_size * self.ctx.world_size)
            )
            # the largest patch must fit a training photo: say so now, not epochs later
            next(self.patches.batches(0, 1, 1, self.patch_size(max(c.epochs - 1, 0))))
        self._bicubic: list[tuple[float, float]] | None = None
        self._val_bicubic: list[float] | None = None
        self.held_out: list[tuple[str, Tensor, Tensor]] = []
        for n in HELD_OUT_PHOTOS:
            truth = self._eval_crop(crop_to_multiple(load_photo(n), c.scale))
            self.held_out.append((n, truth, degrade(truth, c.scale)))

    def _folder_photos(self) -> tuple[list[tuple[str, Tensor]], list[tuple[str, Tensor, Tensor]]]:
        """The ``photos_dir`` photos: training ``(name, image)`` and validation
        ``(name, HR, LR)`` (centre crops of ``eval_size`` when set); each bad or tiny file
        skipped with one line on stderr and the count said.

        Raises:
            ValueError: a folder without any usable photo.
        """
        from .photos import find_photos, load_photos, split

        c = self.config
        self.photo_files: dict[str, list[str]] = {"train": [], "validation": []}
        if not c.photos_dir:
            return [], []
        # tiny = smaller than one training patch of the largest size at high resolution
        min_side = max(c.patch, c.patch_max) * c.scale
        loaded: list[tuple[str, Tensor]] = []
        for folder in c.photos_dir:
            files, _ = find_photos([folder])
            photos, skipped = load_photos(files, min_side) if files else ([], 0)
            if skipped:
                print(f"{folder}: {skipped} file(s) skipped", file=sys.stderr)
            if not photos:
                raise ValueError(
                    f"--photos-dir {folder!r} has no usable photo: it needs JPEG, PNG, WebP or "
                    f"TIFF photographs of at least {min_side} pixels a side (held-out ones "
                    "excepted)"
                )
            loaded += photos
        names = [n for n, _ in loaded]
        if len(set(names)) < len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(
                f"photo file name(s) {twice} appear twice under --photos-dir: the split is by "
                "file name, so give each photo its own name"
            )
        train_names, val_names = split(names)
        self.photo_files = {"train": train_names, "validation": val_names}
        train = [(n, x) for n, x in loaded if n in train_names]
        val = []
        for n, x in loaded:
            if n in val_names:
                truth = self._eval_crop(crop_to_multiple(x, c.scale))
                val.append((n, truth, degrade(truth, c.scale)))
        return train, val

    def _eval_crop(self, truth: Tensor) -> Tensor:
        c = self.config
        if not c.eval_size:
            return truth
        h, w = truth.shape[-2:]
        e = min(c.eval_size, h, w) // c.scale * c.scale
        top, left = (h - e) // 2 // c.scale * c.scale, (w - e) // 2 // c.scale * c.scale
        return truth[:, top : top + e, left : left + e]

    def patch_size(self, epoch: int) -> int:
        """The LR patch side in ``epoch`` (0-based): ``patch``, growing linearly to
        ``patch_max`` at the last epoch in steps of 4 pixels when ``patch_max > patch``."""
        c = self.config
        if c.patch_max <= c.patch or c.epochs <= 1:
            return c.patch
        grown = round((c.patch_max - c.patch) * epoch / (c.epochs - 1) / 4) * 4
        return min(c.patch + grown, c.patch_max)

    def learning_rate(self, step: int) -> float:
        """Adam's learning rate at global ``step`` (0-based): a linear warm-up over the first
        2 % of the steps, then one cosine decay to 0 over all of them. A function of the step
        alone, so ``--resume`` repeats it."""
        c = self.config
        total = max(c.epochs * self.steps_per_epoch, 1)
        warm = max(total // 50, 1)
        return c.lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / total))

    def train_batches(self, epoch: int) -> Any:
        """``epoch``'s (LR, HR) patch batches (:class:`~tconv.train.patches.PatchSampler`),
        each after setting its step's learning rate; nothing for bicubic."""
        if not self.trainable:
            return []
        return _Batches(self, epoch)

    def train_step(self, batch: Any) -> dict[str, float]:
        """One Adam step on the L1 loss of an ``(lr, hr)`` patch batch; ``{"l1": loss}``."""
        lr, hr = (t.to(self.ctx.device, non_blocking=True) for t in batch)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss = F.l1_loss(self.model(lr), hr)
        loss.backward()
        opt.step()
        return {"l1": loss.item()}

    def upscale(self, lr: Tensor) -> Tensor:
        """The model's output for one LR image, clamped to [0, 1]."""
        model = self.module("model") if self.trainable else self.model
        with torch.no_grad():
            return model(lr[None].to(self.ctx.device))[0].clamp(0, 1).cpu()

    def evaluate(self) -> dict[str, float]:
        """PSNR and SSIM on Y over the held-out photos (mean and per photo), bicubic's, and the
        gains over bicubic. The trainer calls it under ``torch.no_grad()``."""
        s = self.config.scale
        if self._bicubic is None:  # the baseline does not change: measured once
            self._bicubic = [
                psnr_ssim(bicubic(lr[None], s)[0], hr, s) for _, hr, lr in self.held_out
            ]
        psnrs, ssims = [], []
        for _, hr, lr in self.held_out:
            p, q = psnr_ssim(self.upscale(lr), hr, s)
            psnrs.append(p)
            ssims.append(q)
        base_p = [p for p, _ in self._bicubic]
        base_s = [q for _, q in self._bicubic]
        out = {
            "psnr_y": statistics.fmean(psnrs),
            "ssim_y": statistics.fmean(ssims),
            "bicubic_psnr_y": statistics.fmean(base_p),
            "bicubic_ssim_y": statistics.fmean(base_s),
        }
        out["psnr_gain_db"] = out["psnr_y"] - out["bicubic_psnr_y"]
        out["ssim_gain"] = out["ssim_y"] - out["bicubic_ssim_y"]
        for (name, _, _), p, q in zip(self.held_out, psnrs, ssims):
            out[f"psnr_y/{name}"] = p
            out[f"ssim_y/{name}"] = q
        if self.validation:  # the --photos-dir validation photos, apart from the held-out
            if self._val_bicubic is None:
                self._val_bicubic = [
                    psnr_ssim(bicubic(lr[None], s)[0], hr, s)[0] for _, hr, lr in self.validation
                ]
            vals = [psnr_ssim(self.upscale(lr), hr, s)[0] for _, hr, lr in self.validation]
            out["val_psnr_y"] = statistics.fmean(vals)
            out["val_psnr_gain_db"] = out["val_psnr_y"] - statistics.fmean(self._val_bicubic)
            for (name, _, _), p in zip(self.validation, vals):
                out[f"val_psnr_y/{name}"] = p
        return out

    def provenance(self) -> dict[str, Any]:
        """The photos (training and held out) and the degradation, for the checkpoint."""
        return {
            "source": "scikit-image bundled photos (skimage.data)"
            + (", and the photo folders (photos_dir)" if self.config.photos_dir else ""),
            "train": list(self.train_photos) + self.photo_files["train"],
            "validation": self.photo_files["validation"],
            "held_out": list(HELD_OUT_PHOTOS),
            "weighting": self.config.weighting,
            "degradation": "crop to a multiple of scale, then torch interpolate bicubic "
            "antialias=True by 1/scale, clamp [0, 1]",
        }

    def report(self, out_dir: Path, result: dict[str, Any]) -> None:
        """Add the checkerboard measures, parameters, multiply-adds, training time and
        inference speed to ``result["metrics"]``; write ``report.md`` and ``crops.png``."""
        from ..artifacts import checkerboard_score, checkerboard_spectrum

        c = self.config
        # the measures run on a CPU copy, whatever the training device: the same numbers
        # from a GPU run, and CPU inference speed
        model = copy.deepcopy(self.module("model") if self.trainable else self.model).cpu()
        model.eval()
        shape = (1, 3, 48, 48)
        m = result["metrics"]
        m["checkerboard_score"] = float(checkerboard_score(model, shape, stride=c.scale))
        m["checkerboard_spectrum"] = float(checkerboard_spectrum(model, shape, stride=c.scale))
        # the learned branch alone (without the bicubic skip, whose large smooth response
        # dilutes the output's relative scores); the whole model where there is no skip
        branch: Any = (lambda x: model.head(model.body(x))) if isinstance(model, SRNet) else model
        m["checkerboard_score_branch"] = float(checkerboard_score(branch, shape, stride=c.scale))
        m["checkerboard_spectrum_branch"] = float(
            checkerboard_spectrum(branch, shape, stride=c.scale)
        )
        m["parameters"] = int(sum(p.numel() for p in model.parameters()))
        m["macs_per_output_mp"] = float(macs_per_megapixel(model, c.scale))
        m["train_seconds"] = float(result["train_seconds"])
        lr = max((x for _, _, x in self.held_out), key=lambda t: t.numel())
        m["inference_ms_per_output_mp"] = float(inference_ms_per_megapixel(model, lr[None]))
        m["threads"] = torch.get_num_threads()
        label = run_label(dataclasses.asdict(c))
        crops = {label: [self.upscale(lr) for _, _, lr in self.held_out]}
        figure = crop_figure(self.held_out, crops, c.scale, out_dir / "crops.png")
        command = f"Command: `{result['command']}`\n" if result.get("command") else ""
        write_report(
            out_dir,
            f"SR x{c.scale}: {label}",
            [
                f"{command}Config: `{json.dumps(result['config'])}`",
                results_table({label: result}, self.COLUMNS),
            ],
            ("crops", figure.name),
        )

    @classmethod
    def compare(cls, out_dir: Path, results: dict[str, dict[str, Any]]) -> None:
        """Write ``comparison.md``, ``.json`` and ``.png`` (the same held-out crops for every
        upsampler, from each run's ``model.pt``)."""
        any_result = next(iter(results.values()))
        scale = int(any_result["config"]["scale"])
        rows = {k: r["metrics"] for k, r in results.items()}
        # one figure: the same crops for every upsampler
        task = cls(
            SRConfig(**{**any_result["config"], "upsampler": "bicubic"}),
            _cpu_context(),
        )
        task.setup()
        crops: dict[str, list[Tensor]] = {}
        for name in results:
            ckpt = load_file(out_dir / name / "model.pt")
            cfg = ckpt["config"]
            model = model_from_config(cfg)
            if "model" in ckpt["models"]:
                model.load_state_dict(ckpt["models"]["model"])
            model.eval()
            with torch.no_grad():
                crops[name] = [model(lr[None])[0].clamp(0, 1) for _, _, lr in task.held_out]
        figure = crop_figure(task.held_out, crops, scale, out_dir / "comparison.png")
        best = max(
            (k for k in rows if k != "bicubic"), key=lambda k: rows[k]["psnr_y"], default=None
        )
        best_line = f"\nBest PSNR(Y): **{best}**." if best else ""
        write_comparison(
            out_dir,
            cls.name,
            results,
            cls.COLUMNS,
            title=f"SR x{scale}: upsampler comparison",
            intro=[
                f"Held-out photos: {', '.join(HELD_OUT_PHOTOS)}; training photos: "
                f"{', '.join(train_photos(str(any_result['config'].get('photos', ''))))} "
                f"(scikit-image).{best_line}"
            ],
            figure=("comparison", figure.name),
        )


class _Batches:
    """One epoch of training batches; sets each step's learning rate before yielding it."""

    def __init__(self, task: SRTask, epoch: int) -> None:
        self.task, self.epoch = task, epoch

    def __len__(self) -> int:
        return self.task.steps_per_epoch

    def __iter__(self) -> Any:
        task, c = self.task, self.task.config
        n = task.steps_per_epoch
        patch = task.patch_size(self.epoch)
        groups = task.optimizers["model"].param_groups
        batches = task.patches.batches(self.epoch, n, c.batch_size, patch, task.ctx.rank)
        for i, batch in enumerate(batches):
            for group in groups:
                group["lr"] = task.learning_rate(self.epoch * n + i)
            yield batch


def _cpu_context() -> Any:
    from .trainer import Context

    return Context(torch.device("cpu"))


def _crop_box(hr: Tensor, size: int) -> tuple[int, int]:
    """Top-left of the ``size`` square with the most detail (largest gradient energy)."""
    y = to_y(hr)
    g = (y[1:, :-1] - y[:-1, :-1]).abs() + (y[:-1, 1:] - y[:-1, :-1]).abs()
    size = min(size, g.shape[-1], g.shape[-2])
    pooled = F.avg_pool2d(g[None, None].float(), size, stride=max(1, size // 4))[0, 0]
    i = int(pooled.argmax())
    r, c = divmod(i, pooled.shape[-1])
    return r * max(1, size // 4), c * max(1, size // 4)


def crop_figure(
    held_out: list[tuple[str, Tensor, Tensor]],
    outputs: dict[str, list[Tensor]],
    scale: int,
    path: Path,
    crop: int = 96,
) -> Path:
    """Crops side by side per held-out photo: LR (nearest), bicubic, each output, truth.

    Each crop is the ``crop`` (HR pixels) square of most detail; a zoomed inset of its centre
    quarter (nearest, x2) sits in the lower right corner so checkerboards show.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ["LR (nearest)", "bicubic", *[k for k in outputs if k != "bicubic"], "ground truth"]
    fig, axes = plt.subplots(
        len(held_out), len(cols), figsize=(1.9 * len(cols), 2.1 * len(held_out)), squeeze=False
    )
    for row, (name, hr, lr) in enumerate(held_out):
        size = min(crop, hr.shape[-1], hr.shape[-2])
        top, left = _crop_box(hr, size)
        images = {
            "LR (nearest)": F.interpolate(lr[None], scale_factor=scale, mode="nearest")[0],
            "bicubic": bicubic(lr[None], scale)[0],
            "ground truth": hr,
        }
        for k, v in outputs.items():
            if k != "bicubic":
                images[k] = v[row]
        for col, label in enumerate(cols):
            img = images[label][:, top : top + size, left : left + size].clamp(0, 1)
            ax = axes[row][col]
            ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
            q = size // 4
            inset = img[:, size // 2 - q // 2 : size // 2 + q // 2, size // 2 - q // 2 :]
            inset = inset[:, :, :q]
            sub = ax.inset_axes((0.55, 0.0, 0.45, 0.45))
            sub.imshow(inset.permute(1, 2, 0).numpy(), interpolation="nearest")
            sub.set_xticks([])
            sub.set_yticks([])
            for spine in sub.spines.values():
                spine.set_edgecolor("yellow")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(label, fontsize=8)
            if col == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle(f"x{scale} on held-out photos (inset: centre, zoomed)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
