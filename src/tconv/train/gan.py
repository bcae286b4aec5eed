"""``tconv train gan``: a DCGAN-style generator whose upsamplings are the upsampler under test.

Data (:func:`texture_patches`): 32x32 patches of the textures bundled with scikit-image
(brick, grass, gravel), downscaled by 2 (antialiased area average) so a patch holds a few
stones or bricks, scaled to ``[-1, 1]``. Training patches come from the left part of each
(256-wide) downscaled image (columns ``[0, 160)``), held-out patches from the right part
(columns ``[168, 256)``): no pixel is shared.

Generator (:class:`Generator`): ``z`` (64 numbers) -> linear -> ``4c x 4 x 4`` -> three x2
upsamplings (8, 16, 32), each the upsampler under test (the same six as ``tconv train seg``:
transposed k2 s2, k3 s2 p1 op1, k4 s2 p1 -- DCGAN's own --, sub-pixel + ICNR, resize-conv,
bilinear interpolation), BatchNorm (batch statistics) + ReLU between them, tanh at the end.
Discriminator: DCGAN's (k4 s2 p1 convolutions, LeakyReLU 0.2) with spectral normalisation (it
keeps the small GAN from collapsing in a few hundred steps), the same for every upsampler.
Loss: the non-saturating GAN loss; Adam(2e-4, betas 0.5, 0.999) for both.

Metrics, on ``eval_count`` samples from fixed latent vectors against as many held-out real
patches:

- ``swd``: the sliced Wasserstein distance x 1e3 between Laplacian-pyramid 7x7 patch
  descriptors (Karras et al. 2018; :func:`tconv.train.quality.swd`), mean over 3 levels (32,
  16, 8). Lower is better; ``swd_real`` is the same distance between training and held-out
  real patches (the floor that sampling noise and the split leave).
- ``checkerboard_ratio``: :func:`tconv.train.quality.stride_energy` of the samples at period 2
  (the last upsampling's checkerboard frequencies) divided by that of the held-out real
  patches: 1 means as much energy at those frequencies as real images have; above 1, a
  checkerboard. ``checkerboard_ratio_4`` is the same at period 4 (all three layers' periods
  reach it).

Example:
    >>> g = Generator("transposed_k3", width=8)
    >>> g(torch.randn(2, LATENT)).shape
    torch.Size([2, 1, 32, 32])
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import upsamplers
from . import register_task
from .data import PATCH_COLUMNS, TEXTURES, texture_patches
from .figures import samples_and_spectra
from .quality import stride_energy, swd
from .report import Column, config_note, metrics_table, write_comparison, write_report
from .trainer import Task

__all__ = ["LATENT", "UPSAMPLERS", "Discriminator", "GanConfig", "GanTask", "Generator"]

#: The generator upsamplers compared: the entries of :mod:`tconv.upsamplers` marked ``compared``.
UPSAMPLERS: tuple[str, ...] = upsamplers.compared()

#: Size of the latent vector.
LATENT = 64


class _Up(nn.Module):
    """One x2 upsampling by the upsampler under test (exactly 2n for input n)."""

    def __init__(self, name: str, cin: int, cout: int) -> None:
        super().__init__()
        self.layer = upsamplers.build(name, cin, cout, 2)

    def forward(self, x: Tensor) -> Tensor:
        size = tuple(2 * v for v in x.shape[-2:])
        return self.layer(x, output_size=size)


class Generator(nn.Module):
    """DCGAN-style generator of 32x32 one-channel images with the upsampler under test.

    Args:
        upsampler: one of :data:`UPSAMPLERS`.
        width: channels before the last upsampling (``4 * width`` at 4x4).

    Shape:
        - Input: ``(N, LATENT)``
        - Output: ``(N, 1, 32, 32)`` in ``[-1, 1]``

    Raises:
        ValueError: an unknown upsampler.

    Example:
        >>> Generator("subpixel", width=4)(torch.randn(3, LATENT)).shape
        torch.Size([3, 1, 32, 32])
    """

    def __init__(self, upsampler: str, width: int = 32) -> None:
        super().__init__()
        upsampler = upsamplers.canonical(upsampler)
        if upsampler not in UPSAMPLERS:
            raise ValueError(
                f"upsampler={upsampler!r} is invalid: valid upsamplers are {tuple(UPSAMPLERS)}"
            )
        c = width
        self.width = c

        def bn(ch: int) -> nn.BatchNorm2d:  # batch statistics always: no buffers to keep
            return nn.BatchNorm2d(ch, track_running_stats=False)

        self.project = nn.Linear(LATENT, 4 * c * 16)
        self.body = nn.Sequential(
            bn(4 * c),
            nn.ReLU(True),
            _Up(upsampler, 4 * c, 2 * c),
            bn(2 * c),
            nn.ReLU(True),
            _Up(upsampler, 2 * c, c),
            bn(c),
            nn.ReLU(True),
            _Up(upsampler, c, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.project(z).reshape(len(z), 4 * self.width, 4, 4))


class Discriminator(nn.Module):
    """DCGAN's discriminator for 32x32 images, spectrally normalised (Miyato et al. 2018).

    Three k4 s2 p1 convolutions (``width``, ``2 * width``, ``4 * width`` channels, LeakyReLU
    0.2) and a linear layer to one logit, every layer spectrally normalised.

    Args:
        width: channels of the first convolution.

    Shape:
        - Input: ``(N, 1, 32, 32)``; output ``(N,)``

    Example:
        >>> Discriminator(4)(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        c = width
        sn = nn.utils.parametrizations.spectral_norm
        self.body = nn.Sequential(
            sn(nn.Conv2d(1, c, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(c, 2 * c, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(2 * c, 4 * c, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            sn(nn.Linear(4 * c * 16, 1)),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)[:, 0]


@dataclasses.dataclass
class GanConfig:
    """Settings of ``tconv train gan`` (each field is a flag), checked on creation.

    Attributes:
        upsampler: the generator's upsampler (one of :data:`UPSAMPLERS`),
            or ``"all"`` to train each of them.
        epochs: training epochs.
        seed: seed of the patches, the initial weights and the evaluation latents.
        batch_size: the global batch (split evenly over the torchrun processes).
        lr: Adam's learning rate, for the generator and the discriminator.
        width: channels of the generator and the discriminator.
        train_count: training patches.
        eval_count: generated samples and held-out patches for the metrics (at least 16).

    Raises:
        ValueError: an unknown upsampler, a count below its minimum, or ``lr`` not above 0.

    Example:
        >>> GanConfig(upsampler="subpixel").batch_size
        64
        >>> GanConfig(eval_count=8)
        Traceback (most recent call last):
        ...
        ValueError: eval_count=8 is invalid: it must be >= 16
    """

    upsampler: str = dataclasses.field(
        default="transposed_k4",
        metadata={"help": f"generator upsampler: {', '.join(UPSAMPLERS)} or all"},
    )
    epochs: int = dataclasses.field(default=12, metadata={"help": "training epochs"})
    seed: int = dataclasses.field(default=0, metadata={"help": "seed of data, weights, latents"})
    batch_size: int = dataclasses.field(
        default=64, metadata={"help": "global batch (split over the torchrun processes)"}
    )
    lr: float = dataclasses.field(default=2e-4, metadata={"help": "Adam learning rate (G and D)"})
    width: int = dataclasses.field(default=32, metadata={"help": "channels of G and D"})
    train_count: int = dataclasses.field(default=6144, metadata={"help": "training patches"})
    eval_count: int = dataclasses.field(
        default=512, metadata={"help": "samples and held-out patches for the metrics"}
    )

    def __post_init__(self) -> None:
        self.upsampler = upsamplers.canonical(self.upsampler)  # an old spelling too
        if self.upsampler != "all" and self.upsampler not in UPSAMPLERS:
            raise ValueError(
                f"upsampler={self.upsampler!r} is invalid: valid upsamplers are "
                f"{(*UPSAMPLERS, 'all')}"
            )
        for name in ("epochs", "batch_size", "width", "train_count"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} is invalid: it must be >= 1")
        if self.eval_count < 16:
            raise ValueError(f"eval_count={self.eval_count!r} is invalid: it must be >= 16")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is invalid: it must be > 0")


@register_task
class GanTask(Task):
    """DCGAN-style texture generator; see the module docstring.

    ``tconv train gan`` runs it through :func:`tconv.train.fit`: the non-saturating GAN loss,
    one discriminator and one generator Adam step per batch, and the sample-quality metrics
    (sliced Wasserstein distance, checkerboard ratios) on the fixed evaluation latents.

    Args:
        config: the settings (:class:`GanConfig`).
        ctx: the :class:`tconv.train.Context` to run in (device, rank, world size).

    Example:
        >>> import torch
        >>> from tconv.train import Context
        >>> config = GanConfig(width=4, batch_size=16, train_count=16, eval_count=16)
        >>> task = GanTask(config, Context(torch.device("cpu")))
        >>> task.setup()
        >>> sorted(task.models), task.held_out.shape
        (['discriminator', 'generator'], torch.Size([16, 1, 32, 32]))
        >>> with torch.no_grad():
        ...     task.samples(torch.randn(2, LATENT)).shape
        torch.Size([2, 1, 32, 32])
    """

    name = "gan"
    Config = GanConfig
    QUICK: ClassVar[dict[str, Any]] = {
        "epochs": 8,
        "train_count": 2048,
        "eval_count": 256,
        "width": 16,
    }
    VARIANT_FIELD = "upsampler"
    VARIANTS = tuple(UPSAMPLERS)
    COLUMNS = (
        Column("SWD x1e3", ("swd",)),
        Column("SWD real-real", ("swd_real",)),
        Column("ckb. energy / real (p2)", ("checkerboard_ratio",)),
        Column("ckb. energy / real (p4)", ("checkerboard_ratio_4",)),
        Column("train s", ("train_seconds",), "{:.0f}"),
    )
    REQUIRES = ("skimage", "matplotlib")  # photos/textures, report figure
    DESCRIPTION = (
        "DCGAN-style generator of 32x32 texture patches (scikit-image brick / grass / gravel) "
        "whose three upsamplings are the upsampler under test; sliced Wasserstein distance to "
        "held-out patches and the checkerboard energy of samples relative to real ones."
    )
    EXAMPLES = """examples:
  tconv train gan --upsampler all --quick --out out/gan    # six upsamplers, a few minutes
  tconv train gan --upsampler transposed_k4 --out out/dcgan  # DCGAN's own layer, full
  tconv train gan --upsampler transposed_k4 --out out/dcgan --resume --epochs 20
  torchrun --standalone --nproc-per-node 2 -m tconv train gan --quick --out out/gan2"""

    def setup(self) -> None:
        """Cut the training and held-out patches, measure the real patches' reference values
        (stride energies, ``swd_real``), draw the evaluation latents, and build the loader,
        both models (the same initial weights on every rank) and their Adam optimizers.

        Raises:
            ValueError: ``batch_size`` is not a multiple of the number of processes.
        """
        c = self.config
        self.train_set = torch.utils.data.TensorDataset(
            texture_patches(c.train_count, "train", c.seed)
        )
        self.held_out = texture_patches(c.eval_count, "held_out", c.seed + 10_000)
        self.real_ref = stride_energy(self.held_out, 2), stride_energy(self.held_out, 4)
        train_sample = self.train_set.tensors[0][: c.eval_count]
        self.swd_real = (
            swd(self.held_out, train_sample) if len(train_sample) >= 16 else float("nan")
        )
        self.z_eval = torch.randn(
            c.eval_count, LATENT, generator=torch.Generator().manual_seed(c.seed + 20_000)
        )
        self._loader = self.train_loader(self.train_set, c.batch_size, c.seed)
        torch.manual_seed(c.seed)  # the same initial weights whatever the rank
        g, d = Generator(c.upsampler, c.width), Discriminator(c.width)
        self.models = {"generator": self.ctx.wrap(g), "discriminator": self.ctx.wrap(d)}
        betas = (0.5, 0.999)
        self.optimizers = {
            "generator": torch.optim.Adam(self.models["generator"].parameters(), c.lr, betas=betas),
            "discriminator": torch.optim.Adam(
                self.models["discriminator"].parameters(), c.lr, betas=betas
            ),
        }
        torch.manual_seed(c.seed + self.ctx.rank)  # back to the trainer's stream per rank

    def train_batches(self, epoch: int) -> Any:
        """The loader of the training patches (its sampler reshuffles per epoch)."""
        return self._loader

    def train_step(self, batch: Any) -> dict[str, float]:
        """One discriminator step, then one generator step (non-saturating loss) on a batch of
        real patches; ``{"loss_d": ..., "loss_g": ...}``."""
        real = batch[0].to(self.ctx.device)
        n = len(real)
        # torch's global generator: seeded per rank by the trainer, saved in the checkpoint
        z = torch.randn(n, LATENT).to(self.ctx.device)
        g, d = self.models["generator"], self.models["discriminator"]
        opt_g, opt_d = self.optimizers["generator"], self.optimizers["discriminator"]
        fake = g(z)
        # discriminator: real -> 1, fake -> 0 (one forward over both halves)
        logits = d(torch.cat([real, fake.detach()]))
        target = torch.cat([torch.ones(n), torch.zeros(n)]).to(logits)
        loss_d = F.binary_cross_entropy_with_logits(logits, target)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # generator: non-saturating loss, fake -> 1
        loss_g = F.binary_cross_entropy_with_logits(d(fake), torch.ones(n).to(logits))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def samples(self, z: Tensor | None = None) -> Tensor:
        """Generator samples for ``z`` (default: the fixed evaluation latents), on the CPU."""
        g = self.module("generator")
        z = self.z_eval if z is None else z
        return torch.cat(
            [g(z[i : i + 128].to(self.ctx.device)).cpu() for i in range(0, len(z), 128)]
        )

    def evaluate(self) -> dict[str, float]:
        """``swd`` (and ``swd_real``), the checkerboard ratios at periods 2 and 4, and the
        samples' mean and standard deviation, on the fixed evaluation latents. The trainer
        calls it under ``torch.no_grad()``."""
        fake = self.samples()
        e2, e4 = stride_energy(fake, 2), stride_energy(fake, 4)
        return {
            "swd": swd(self.held_out, fake),
            "swd_real": self.swd_real,
            "checkerboard_ratio": e2 / self.real_ref[0],
            "checkerboard_ratio_4": e4 / self.real_ref[1],
            "sample_mean": float(fake.mean()),
            "sample_std": float(fake.std()),
        }

    def provenance(self) -> dict[str, Any]:
        """The textures, their downscaling and the columns of the split, for the checkpoint."""
        return {
            "textures": list(TEXTURES),
            "downscale": 2,
            "train_columns": list(PATCH_COLUMNS["train"]),
            "held_out_columns": list(PATCH_COLUMNS["held_out"]),
            "source": "skimage.data (bundled)",
        }

    def report(self, out_dir: Path, result: dict[str, Any]) -> None:
        """Write ``report.md`` (the metrics), ``samples.npy`` (64 samples) and ``samples.png``
        into ``out_dir``."""
        c = self.config
        with torch.no_grad():
            self.module("generator").eval()
            fake = self.samples()[:64]
        np.save(out_dir / "samples.npy", fake[:, 0].numpy())
        samples_and_spectra(
            out_dir / "samples.png", {c.upsampler: fake[:, 0].numpy()}, self.held_out
        )
        write_report(
            out_dir,
            f"gan: {c.upsampler} ({upsamplers.get(c.upsampler).description})",
            [
                metrics_table(result["metrics"]),
                f"Training: {result['epochs']} epochs, {result['train_seconds']:.0f} s, "
                f"{result.get('world_size', 1)} process(es).",
            ],
            ("samples", "samples.png"),
        )

    @classmethod
    def compare(cls, out_dir: Path, results: dict[str, dict[str, Any]]) -> None:
        """Write ``comparison.md``, ``.json`` and ``.png`` (samples per upsampler and their
        spectrum relative to real held-out patches)."""
        runs = {}
        for v, r in results.items():
            p = Path(r["out_dir"]) / "samples.npy"
            if p.is_file():
                runs[v] = np.load(p)
        seed = int(next(iter(results.values()))["config"]["seed"])
        samples_and_spectra(
            out_dir / "comparison.png", runs, texture_patches(64, "held_out", seed + 10_000)
        )
        write_comparison(
            out_dir,
            cls.name,
            results,
            cls.COLUMNS,
            notes=[config_note(results)],
            figure=(
                "samples per upsampler, and the log power spectrum of the samples relative "
                "to real held-out patches",
                "comparison.png",
            ),
        )
