"""Batches of aligned (low-, high-resolution) training patches, cut on the training device.

:class:`PatchSampler` keeps the training photos on the device (a GPU holds them all) and
cuts each batch there: one random position per patch (photos drawn, among those at least one
patch large, with probability proportional to their area, or each alike), stacked, then each patch
under one of the 8 flips/rotations of the square. Nothing goes through a per-item
``DataLoader``, so a small network on a GPU is not starved by the CPU.

The random numbers come from a CPU generator seeded by ``(seed, epoch, rank)``: the patches
of an epoch are the same on every device, and ``--resume`` repeats them exactly.

Example:
    >>> import torch
    >>> hr = [torch.rand(3, 40, 48), torch.rand(3, 64, 32)]
    >>> sampler = PatchSampler(hr, [h[:, ::2, ::2] for h in hr], scale=2, seed=0)
    >>> lr, hr_patch = next(iter(sampler.batches(epoch=0, steps=1, batch_size=4, patch=8)))
    >>> lr.shape, hr_patch.shape
    (torch.Size([4, 3, 8, 8]), torch.Size([4, 3, 16, 16]))
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

__all__ = ["WEIGHTINGS", "PatchSampler", "dihedral"]

#: How :class:`PatchSampler` draws each patch's photo.
WEIGHTINGS: tuple[str, ...] = ("area", "photo")


def dihedral(x: Tensor, t: Tensor) -> Tensor:
    """Each square image ``x[i]`` under symmetry ``t[i]`` of the square (0..7).

    Bit 2 of ``t`` flips left-right first; bits 0-1 then rotate by ``t & 3`` quarter turns
    (``torch.rot90`` on the last two dimensions). 0 is the identity.

    Args:
        x: a batch of square images.
        t: one symmetry per image, integers 0..7 on ``x``'s device.

    Returns:
        The transformed batch (a new tensor).

    Shape:
        - x: ``(N, C, P, P)``; t: ``(N,)``

    Example:
        >>> import torch
        >>> x = torch.arange(4.0).reshape(1, 1, 2, 2)
        >>> dihedral(x, torch.tensor([4]))[0, 0].tolist(), dihedral(x, torch.tensor([1]))[0, 0]
        ([[1.0, 0.0], [3.0, 2.0]], tensor([[1., 3.],
                [0., 2.]]))
    """
    view = (-1, 1, 1, 1)
    x = torch.where((t & 4).bool().view(view), x.flip(-1), x)
    k = (t & 3).view(view)
    out = x
    for r in (1, 2, 3):
        out = torch.where(k == r, x.rot90(r, (-2, -1)), out)
    return out


class PatchSampler:
    """Random aligned (LR, HR) patch batches of photos kept on ``device``.

    Args:
        hr: the high-resolution photos, ``(3, H, W)`` each, sizes multiples of ``scale``.
        lr: their low-resolution versions, ``(3, H / scale, W / scale)`` each.
        scale: the factor between them.
        seed: the seed of the positions and symmetries.
        device: where the photos live and the batches are cut.
        weighting: how each patch's photo is drawn: ``"area"`` (proportional to its size, so
            every pixel is alike) or ``"photo"`` (each photo alike, so a large photo does not
            dominate).

    Raises:
        ValueError: an unknown ``weighting``.

    Example:
        >>> import torch
        >>> hr = [torch.rand(3, 32, 32)]
        >>> s = PatchSampler(hr, [hr[0][:, ::4, ::4]], scale=4, seed=1)
        >>> a = [b[0] for b in s.batches(0, 2, 3, 4)]
        >>> [x.shape for x in a], torch.equal(a[0], next(iter(s.batches(0, 1, 3, 4)))[0])
        ([torch.Size([3, 3, 4, 4]), torch.Size([3, 3, 4, 4])], True)
    """

    def __init__(
        self,
        hr: list[Tensor],
        lr: list[Tensor],
        scale: int,
        seed: int,
        device: torch.device | str = "cpu",
        weighting: str = "area",
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(
                f"weighting={weighting!r} is invalid: valid weightings are {WEIGHTINGS}"
            )
        self.weighting = weighting
        self.hr = [x.to(device) for x in hr]
        self.lr = [x.to(device) for x in lr]
        self.scale, self.seed, self.device = scale, seed, torch.device(device)

    def batches(
        self, epoch: int, steps: int, batch_size: int, patch: int, rank: int = 0
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """``steps`` batches of ``batch_size`` (LR ``patch``-square, HR) pairs for ``epoch``.

        Raises:
            ValueError: no photo holds a ``patch``-square LR patch.
        """
        sizes = [x.shape[-2:] for x in self.lr]
        fits = [k for k, (h, w) in enumerate(sizes) if h >= patch and w >= patch]
        if not fits:
            raise ValueError(
                f"patch={patch} is invalid: no training photo is that large at low resolution "
                f"(the largest is {max(min(h, w) for h, w in sizes)} pixels)"
            )
        areas = torch.tensor(
            [float(sizes[k][0] * sizes[k][1]) if self.weighting == "area" else 1.0 for k in fits],
            dtype=torch.float64,
        )
        state = np.random.SeedSequence([self.seed, epoch, rank]).generate_state(1)
        gen = torch.Generator().manual_seed(int(state[0]))
        s, p = self.scale, patch
        for _ in range(steps):
            picks = torch.multinomial(areas, batch_size, replacement=True, generator=gen)
            u = torch.rand(batch_size, 2, generator=gen, dtype=torch.float64)
            t = torch.randint(0, 8, (batch_size,), generator=gen)
            low, high = [], []
            for j, i in enumerate(picks.tolist()):
                k = fits[i]
                h, w = sizes[k]
                y = int(u[j, 0] * (h - p + 1))
                x = int(u[j, 1] * (w - p + 1))
                low.append(self.lr[k][:, y : y + p, x : x + p])
                high.append(self.hr[k][:, y * s : (y + p) * s, x * s : (x + p) * s])
            t = t.to(self.device)
            yield dihedral(torch.stack(low), t), dihedral(torch.stack(high), t)
