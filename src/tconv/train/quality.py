"""Measures of the segmentation and generator tasks: image spectra, sample quality, mIoU.

- :func:`stride_energy` -- the share of an image batch's energy at the frequencies of a stride
  (the checkerboard frequencies), the data-side twin of
  :func:`tconv.artifacts.checkerboard_spectrum` (same window, same lobes, but measured on given
  images instead of a layer's response to a smooth input).
- :func:`sliced_wasserstein` -- the sliced Wasserstein distance between two sets of
  Laplacian-pyramid patch descriptors (Karras et al. 2018, "Progressive Growing of GANs",
  appendix D), a sample-quality distance on fixed, untrained features.
- :func:`segmentation_metrics` -- mIoU, per-class IoU, pixel and boundary accuracy from a
  confusion matrix; :func:`boundary_mask` -- the pixels near a region boundary.

Example:
    >>> import torch
    >>> flat = torch.ones(4, 1, 32, 32)
    >>> checker = flat + 0.5 * (-1.0) ** (torch.arange(32)[:, None] + torch.arange(32))
    >>> stride_energy(flat, 2), round(stride_energy(checker, 2), 2)
    (0.0, 1.0)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..artifacts import stride_share
from ..shapes import ShapeError

__all__ = [
    "boundary_mask",
    "laplacian_descriptors",
    "segmentation_metrics",
    "sliced_wasserstein",
    "stride_energy",
    "swd",
]


def stride_energy(images: Tensor, stride: int = 2) -> float:
    """Share of the images' energy at the stride frequencies (the checkerboard share).

    Each image (per channel) has its mean removed, is cut to the largest multiple ``M`` of
    ``stride`` per dimension, windowed by a periodic Hann window and Fourier transformed; the
    result is the energy in the main lobes (bins within 1) of the frequencies ``j / stride``
    (``j = 0 .. stride - 1`` per dimension) other than 0, divided by the total energy, summed
    over the batch and channels. This is step 2-3 of
    :func:`tconv.artifacts.checkerboard_spectrum` applied to given images. White noise scores
    about ``(3 * stride) ** 2 / M ** 2`` (the lobes' share of the bins); a pure
    ``(-1) ** (i + j)`` pattern scores about 1.

    Args:
        images: ``(N, C, H, W)`` real tensor.
        stride: the period (2 for the last layer of a stride-2 upsampler).

    Shape:
        - images: ``(N, C, H, W)`` with ``H, W >= 3 * stride``

    Returns:
        A float in ``[0, 1]`` (0 for constant images).

    Raises:
        ShapeError: if ``images`` is not 4-D or smaller than three periods.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> round(stride_energy(torch.randn(200, 1, 64, 64, generator=g), 2) * 64 * 64 / 27, 1)
        1.0
    """
    if images.dim() != 4:
        raise ShapeError(
            f"images of shape {tuple(images.shape)} are invalid: expected (N, C, H, W)"
        )
    h, w = images.shape[-2:]
    mh, mw = h // stride * stride, w // stride * stride
    if mh // stride < 3 or mw // stride < 3:
        raise ShapeError(
            f"images of size {(h, w)} are invalid: at least 3 periods of {stride} per dimension "
            "are needed"
        )
    y = images[..., :mh, :mw].double().cpu()
    y = y - y.mean(dim=(-2, -1), keepdim=True)
    return stride_share(y, stride)


_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _blur(x: Tensor) -> Tensor:
    k = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)
    c = x.shape[1]
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k.expand(c, 1, 5, 5), groups=c)


def laplacian_descriptors(
    images: Tensor, levels: int = 3, per_image: int = 32, size: int = 7, seed: int = 0
) -> list[Tensor]:
    """Random ``size x size`` neighbourhoods from each level of a Laplacian pyramid.

    The pyramid uses the 5-tap binomial filter; the coarsest level is the Gaussian residual.
    Each level's descriptors are normalised by their own per-channel mean and standard
    deviation (as in Karras et al. 2018), flattened to ``C * size * size`` numbers.

    Args:
        images: ``(N, C, H, W)`` with ``H, W >= size * 2 ** (levels - 1)``.
        levels: pyramid levels (finest first).
        per_image: neighbourhoods drawn per image and level (seeded).
        size: neighbourhood side.
        seed: seed of the positions.

    Shape:
        - images: ``(N, C, H, W)``
        - each result: ``(N * per_image, C * size * size)``

    Returns:
        One descriptor matrix per level, finest first.

    Raises:
        ShapeError: if the images are too small for the pyramid.

    Example:
        >>> [d.shape for d in laplacian_descriptors(torch.rand(2, 1, 32, 32), per_image=4)]
        [torch.Size([8, 49]), torch.Size([8, 49]), torch.Size([8, 49])]
    """
    h, w = images.shape[-2:]
    if images.dim() != 4 or min(h, w) < size * 2 ** (levels - 1):
        raise ShapeError(
            f"images of shape {tuple(images.shape)} are invalid: need (N, C, H, W) with H, W "
            f">= {size * 2 ** (levels - 1)} for {levels} levels of {size}x{size} neighbourhoods"
        )
    gen = torch.Generator().manual_seed(seed)
    x = images.double().cpu()
    out = []
    for level in range(levels):
        if level < levels - 1:
            low = _blur(x)[..., ::2, ::2]
            up = F.interpolate(low, size=x.shape[-2:], mode="nearest")
            band = x - _blur(up)
        else:
            band, low = x, x
        n, c = band.shape[:2]
        patches = F.unfold(band, size)  # (N, C * size * size, L)
        idx = torch.randint(patches.shape[-1], (n, per_image), generator=gen)
        chosen = torch.gather(patches, 2, idx[:, None, :].expand(n, patches.shape[1], per_image))
        desc = chosen.permute(0, 2, 1).reshape(n * per_image, c, size * size)
        desc = (desc - desc.mean(dim=(0, 2), keepdim=True)) / (
            desc.std(dim=(0, 2), keepdim=True) + 1e-8
        )
        out.append(desc.reshape(n * per_image, -1))
        x = low
    return out


def sliced_wasserstein(
    a: Tensor, b: Tensor, directions: int = 128, repeats: int = 4, seed: int = 0
) -> float:
    """Sliced Wasserstein-1 distance between two point sets of the same size.

    Both sets are projected on ``directions`` random unit vectors (seeded); per direction the
    sorted projections are matched and their mean absolute difference taken; the result is the
    mean over directions and ``repeats`` draws of directions.

    Args:
        a: a ``(P, D)`` point set.
        b: a ``(Q, D)`` point set (the larger set is subsampled to the smaller's size).
        directions: projections per repeat.
        repeats: independent draws of directions.
        seed: seed of the directions and subsampling.

    Shape:
        - a: ``(P, D)``; b: ``(Q, D)``

    Returns:
        The distance (0 for identical sets).

    Raises:
        ShapeError: if the sets are not 2-D with the same ``D``.

    Example:
        >>> x = torch.randn(500, 3, generator=torch.Generator().manual_seed(1))
        >>> sliced_wasserstein(x, x)
        0.0
        >>> round(sliced_wasserstein(x, x + 1.0), 1) > 0.3
        True
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ShapeError(
            f"point sets of shapes {tuple(a.shape)} and {tuple(b.shape)} are invalid: expected "
            "(P, D) and (Q, D)"
        )
    gen = torch.Generator().manual_seed(seed)
    a, b = a.double().cpu(), b.double().cpu()
    p = min(a.shape[0], b.shape[0])
    if a.shape[0] > p:
        a = a[torch.randperm(a.shape[0], generator=gen)[:p]]
    if b.shape[0] > p:
        b = b[torch.randperm(b.shape[0], generator=gen)[:p]]
    total = 0.0
    for _ in range(repeats):
        d = torch.randn(a.shape[1], directions, generator=gen, dtype=torch.float64)
        d = d / d.norm(dim=0, keepdim=True)
        # numpy's sort: several times faster than torch's on the CPU for this shape
        pa = np.sort((a @ d).numpy(), axis=0)
        pb = np.sort((b @ d).numpy(), axis=0)
        total += float(np.abs(pa - pb).mean())
    return total / repeats


def swd(real: Tensor, fake: Tensor, levels: int = 3, per_image: int = 32, seed: int = 0) -> float:
    """Mean over pyramid levels of the sliced Wasserstein distance, times 1000.

    Args:
        real: the reference images, ``(N, C, H, W)``.
        fake: the images compared with them, values on the same scale.
        levels: pyramid levels, as in :func:`laplacian_descriptors`.
        per_image: neighbourhoods per image and level, as in :func:`laplacian_descriptors`.
        seed: seed of the neighbourhoods and the projection directions.

    Shape:
        - real, fake: ``(N, C, H, W)``

    Descriptors are normalised per set (mean and standard deviation), so a change of
    brightness or contrast alone does not count; the fine-scale structure does.

    Returns:
        ``1000 * mean_l SW(descriptors_l(real), descriptors_l(fake))`` (the SWD x 1e3 of
        Karras et al.).

    Raises:
        ShapeError: as :func:`laplacian_descriptors`.

    Example:
        >>> x = torch.rand(64, 1, 32, 32, generator=torch.Generator().manual_seed(2))
        >>> swd(x, x) < swd(x, F.avg_pool2d(x, 3, 1, 1))
        True
    """
    da = laplacian_descriptors(real, levels, per_image, seed=seed)
    db = laplacian_descriptors(fake, levels, per_image, seed=seed + 1)
    return 1000 * sum(sliced_wasserstein(x, y, seed=seed) for x, y in zip(da, db)) / levels


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
