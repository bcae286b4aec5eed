"""Initialisers for upsampling layers: ICNR, exact bilinear, and Kaiming for the transposed layout.

- :func:`icnr_` -- ICNR (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution",
  arXiv:1707.02937) for the weight of a sub-pixel convolution (conv + pixel shuffle), and its
  equivalent for a transposed convolution (``transposed=True``). Either way the layer starts
  out as nearest-neighbour upsampling followed by an ordinary convolution, so its response to
  a constant input is constant away from the borders (no checkerboard at initialisation).
- :func:`bilinear_` -- transposed-convolution weights that perform exact linear, bilinear or
  trilinear upsampling per channel (FCN style, Long et al. 2015); with the padding of
  :func:`bilinear_padding` they equal ``torch.nn.functional.interpolate(...,
  align_corners=False)`` away from the border.
- :func:`kaiming_` -- He initialisation with the fans of the transposed layout
  ``(C_in, C_out // groups, *K)``; torch's ``kaiming_*_`` read the fan from the wrong axis for
  transposed convolutions (pytorch issue 7865).

All functions work in place under ``torch.no_grad()`` and return the weight.

Example:
    >>> import torch
    >>> w = torch.empty(1, 1, 4)
    >>> bilinear_(w, 2).tolist()
    [[[0.25, 0.75, 0.75, 0.25]]]
    >>> bilinear_kernel_size(2), bilinear_padding(2)
    (4, 1)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Literal, get_args

import torch
from torch import Tensor

from .shapes import Geometry, IntOrTuple, ShapeError, as_tuple, spatial_index

__all__ = [
    "bilinear_",
    "bilinear_kernel_size",
    "bilinear_padding",
    "icnr_",
    "kaiming_",
    "transposed_fans",
]


Initializer = Callable[[Tensor], object]
FanMode = Literal["fan_in", "fan_out"]
FAN_MODES: tuple[str, ...] = get_args(FanMode)
Distribution = Literal["normal", "uniform"]
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)


# ---------------------------------------------------------------------------------------------
# Kaiming for the transposed layout


def transposed_fans(weight: Tensor, groups: int = 1, stride: IntOrTuple = 1) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a transposed-convolution weight ``(C_in, C_out // groups, *K)``.

    ``fan_in``: kernel taps that reach one output element, ``C_in / groups * prod(K) /
    prod(stride)`` (on average over the output phases; with ``stride=1`` every tap, as in the
    ordinary convolution of the same shape). ``fan_out``: output elements one input element
    feeds, ``C_out / groups * prod(K) = weight.shape[1] * prod(K)``.

    torch's ``_calculate_fan_in_and_fan_out`` reads ``fan_in`` from ``weight.shape[1]``, which
    for this layout is the *output* channel count (pytorch issue 7865).

    Args:
        weight: the transposed-convolution weight (only its shape is read).
        groups: the layer's channel groups.
        stride: the layer's stride, an int or one per spatial dimension.

    Returns:
        ``(fan_in, fan_out)`` as floats.

    Shape:
        - weight: ``(C_in, C_out // groups, *K)``, at least one spatial dimension

    Raises:
        ShapeError: for a weight without a spatial dimension, ``C_in`` not divisible by
            ``groups``, or a stride below 1.

    Example:
        >>> transposed_fans(torch.empty(64, 32, 4, 4))
        (1024.0, 512.0)
        >>> transposed_fans(torch.empty(64, 8, 4, 4), groups=4, stride=2)
        (64.0, 128.0)
    """
    if weight.dim() < 3:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected (C_in, C_out // groups, "
            "*kernel_size) with at least one spatial dimension"
        )
    if groups < 1 or weight.shape[0] % groups:
        raise ShapeError(
            f"groups={groups} is invalid for a weight of shape {tuple(weight.shape)}: "
            "weight.shape[0] (in_channels) must be divisible by groups >= 1"
        )
    rank = weight.dim() - 2
    taps = math.prod(weight.shape[2:])
    s = as_tuple(stride, rank, "stride")
    if any(v < 1 for v in s):
        raise ShapeError(f"stride={s} is invalid: each stride must be >= 1")
    fan_in = weight.shape[0] / groups * taps / math.prod(s)
    fan_out = float(weight.shape[1] * taps)
    return float(fan_in), fan_out


def kaiming_(
    weight: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    groups: int = 1,
    stride: IntOrTuple = 1,
    distribution: str = "normal",
    generator: torch.Generator | None = None,
) -> Tensor:
    """He (Kaiming) initialisation of a transposed-convolution weight, fans from its layout.

    ``std = gain / sqrt(fan)`` with ``gain = torch.nn.init.calculate_gain(nonlinearity, a)``
    and ``fan`` from :func:`transposed_fans` (``mode="fan_in"`` preserves the forward variance,
    ``"fan_out"`` the backward one). Pass the layer's ``stride`` to count only the taps that
    reach an output on average (then a linear layer keeps unit variance exactly when the kernel
    size is a multiple of the stride); ``stride=1`` counts all taps, like the ordinary
    convolution of the same shape.

    Args:
        weight: ``(C_in, C_out // groups, *K)``, filled in place.
        a: negative slope of a leaky ReLU (passed to ``calculate_gain``).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: the activation after the layer, a name ``calculate_gain`` knows
            (``"relu"``, ``"leaky_relu"``, ``"linear"``, ...).
        groups: the layer's channel groups.
        stride: the layer's stride (see above).
        distribution: ``"normal"`` (``N(0, std^2)``) or ``"uniform"``
            (``U(-sqrt(3) std, sqrt(3) std)``).
        generator: random number generator to draw from (torch's default when None).

    Returns:
        ``weight``, filled.

    Shape:
        - weight: ``(C_in, C_out // groups, *K)``

    Raises:
        ValueError: for an unknown ``mode``, ``distribution`` or ``nonlinearity``.
        ShapeError: for a weight whose shape does not fit ``groups`` or ``stride`` (see
            :func:`transposed_fans`).

    Example:
        >>> w = kaiming_(torch.empty(256, 128, 4, 4), nonlinearity="relu")
        >>> round(w.std().item() * 64, 1)  # gain sqrt(2), fan_in 256 * 16 -> std sqrt(2) / 64
        1.4
    """
    if mode not in FAN_MODES:
        raise ValueError(f"mode={mode!r} is invalid: valid modes are {FAN_MODES}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution={distribution!r} is invalid: valid values are {DISTRIBUTIONS}"
        )
    fan_in, fan_out = transposed_fans(weight, groups, stride)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = torch.nn.init.calculate_gain(nonlinearity, a)  # type: ignore[arg-type]
    std = gain / math.sqrt(fan)
    with torch.no_grad():
        if distribution == "normal":
            return weight.normal_(0.0, std, generator=generator)
        bound = math.sqrt(3.0) * std
        return weight.uniform_(-bound, bound, generator=generator)


# ---------------------------------------------------------------------------------------------
# ICNR


def icnr_(
    weight: Tensor,
    scale: IntOrTuple,
    initializer: Initializer | None = None,
    *,
    transposed: bool = False,
    groups: int = 1,
) -> Tensor:
    """ICNR: start a sub-pixel or transposed convolution as nearest upsampling + a convolution.

    Sub-pixel convolution (``transposed=False``; Aitken et al. 2017): ``weight`` is the
    ``(C_out * prod(scale), C_in // groups, *K)`` weight of the convolution that a pixel
    shuffle by ``scale`` follows. A sub-kernel ``(C_out, C_in // groups, *K)`` is drawn with
    ``initializer`` (default ``torch.nn.init.kaiming_normal_``, right for this ordinary
    layout) and copied to all ``prod(scale)`` phases of each output channel (channel
    ``c * prod(scale) + phase``, the order of :func:`tconv.functional.pixel_shuffle` and
    ``torch.nn.PixelShuffle``). With a bias that is the same for the phases of a channel, the
    block then equals nearest upsampling after the convolution.

    Transposed convolution (``transposed=True``): ``weight`` is ``(C_in, C_out // groups, *K)``
    with stride ``scale`` and ``K >= scale``. A kernel ``h`` of size ``K - scale + 1`` is drawn
    (default :func:`kaiming_` with ``groups``) and the weight becomes ``h`` convolved with a
    box of ones of size ``scale``; the layer then equals nearest upsampling by ``scale``
    followed by an ordinary convolution with ``h``, so a constant input gives a constant
    output away from the borders (whatever the padding).

    ICNR is also described in US patent 11,308,361 (see docs/artifacts.md).

    Args:
        weight: the weight to fill in place (layout below).
        scale: the upsampling factor (the pixel shuffle's, or the transposed convolution's
            stride), an int or one per spatial dimension.
        initializer: fills the sub-kernel in place (see above for the defaults).
        transposed: ``weight`` is a transposed convolution's instead of a sub-pixel one's.
        groups: the layer's channel groups (used by the default initializer).

    Returns:
        ``weight``, filled.

    Raises:
        ShapeError: for a weight without a spatial dimension, a scale below 1, a sub-pixel
            weight whose first dimension is not a multiple of ``prod(scale)``, or a transposed
            kernel smaller than ``scale``.

    Shape:
        - weight: ``(C_out * prod(scale), C_in // groups, *K)`` or, with ``transposed=True``,
          ``(C_in, C_out // groups, *K)`` with ``K >= scale`` per dimension

    Example:
        >>> w = icnr_(torch.empty(8, 3, 3, 3), 2)          # C_out = 2, four phases each
        >>> bool((w[0] == w[3]).all()), bool((w[3] == w[4]).all())
        (True, False)
        >>> wt = icnr_(torch.empty(1, 1, 4), 2, torch.nn.init.ones_, transposed=True)
        >>> wt.tolist()    # box(2) * ones(3)
        [[[1.0, 2.0, 2.0, 1.0]]]
    """
    rank = weight.dim() - 2
    if rank < 1:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected at least one spatial "
            "dimension"
        )
    s = as_tuple(scale, rank, "scale")
    if any(v < 1 for v in s):
        raise ShapeError(f"scale={s} is invalid: each scale must be >= 1")
    k = tuple(weight.shape[2:])
    with torch.no_grad():
        if not transposed:
            phases = math.prod(s)
            if weight.shape[0] % phases:
                raise ShapeError(
                    f"weight of shape {tuple(weight.shape)} is invalid for scale={s}: "
                    f"weight.shape[0] must be out_channels * prod(scale) = a multiple of {phases}"
                )
            sub = weight.new_empty((weight.shape[0] // phases, *weight.shape[1:]))
            (initializer or torch.nn.init.kaiming_normal_)(sub)
            return weight.copy_(sub.repeat_interleave(phases, dim=0))
        if any(kk < ss for kk, ss in zip(k, s, strict=True)):
            raise ShapeError(
                f"kernel_size={k} is invalid for ICNR of a transposed convolution with "
                f"stride={s}: each kernel size must be >= the stride (a smaller kernel leaves "
                "output phases that no tap reaches)"
            )
        m = tuple(kk - ss + 1 for kk, ss in zip(k, s, strict=True))
        h = weight.new_empty((*weight.shape[:2], *m))
        if initializer is None:
            kaiming_(h, groups=groups)
        else:
            initializer(h)
        out = torch.zeros_like(weight)
        for offset in itertools.product(*(range(v) for v in s)):
            region = tuple(slice(o, o + mm) for o, mm in zip(offset, m, strict=True))
            out[spatial_index(region)] += h
        return weight.copy_(out)


# ---------------------------------------------------------------------------------------------
# bilinear


def bilinear_kernel_size(scale: IntOrTuple) -> int | tuple[int, ...]:
    """Kernel size of exact linear interpolation by an integer ``scale``: ``2 * scale - scale % 2``.

    Args:
        scale: the upsampling factor, an int or one per spatial dimension.

    Returns:
        An int for an int ``scale``, else a tuple (as torch's module arguments take them).

    Raises:
        ShapeError: for a scale below 1.

    Example:
        >>> bilinear_kernel_size(2), bilinear_kernel_size(3), bilinear_kernel_size((2, 4))
        (4, 5, (4, 8))
    """
    if isinstance(scale, int):
        return _kernel_for(scale)
    items = tuple(scale)
    return tuple(_kernel_for(v) for v in as_tuple(items, len(items), "scale"))


def _kernel_for(scale: int) -> int:
    if scale < 1:
        raise ShapeError(f"scale={scale} is invalid: the scale must be an int >= 1")
    return 2 * scale - scale % 2


def bilinear_padding(scale: IntOrTuple) -> int | tuple[int, ...]:
    """torch ``padding`` that makes :func:`bilinear_` weights upsample exactly (output_padding 0).

    It is the ``"same"`` crop of :class:`tconv.shapes.Geometry` for kernel
    :func:`bilinear_kernel_size` and stride ``scale``, so the output is ``input * scale`` and
    aligned as ``interpolate(..., align_corners=False)``.

    Args:
        scale: the upsampling factor, an int or one per spatial dimension.

    Returns:
        An int for an int ``scale``, else a tuple.

    Raises:
        ShapeError: for a scale below 1.

    Example:
        >>> bilinear_padding(2), bilinear_padding(3), bilinear_padding((4, 1))
        (1, 1, (2, 0))
    """
    single = isinstance(scale, int) and not isinstance(scale, bool)
    s = (int(scale),) if single else tuple(scale)  # type: ignore[arg-type]
    kernel = bilinear_kernel_size(s)
    geom = Geometry.create(kernel, s, "same", rank=len(s))
    torch_padding = geom.torch_padding()
    assert torch_padding is not None and not any(torch_padding[1])  # lo == hi for these kernels
    pad = torch_padding[0]
    return pad[0] if single else pad


def _triangle(size: int, scale: float) -> Tensor:
    t = torch.arange(size, dtype=torch.float64)
    return (1 - (t - (size - 1) / 2).abs() / scale).clamp(min=0)


def bilinear_(weight: Tensor, scale: IntOrTuple | None = None) -> Tensor:
    """Transposed-convolution weights for linear/bilinear/trilinear upsampling per channel.

    Each channel is mapped to itself (``in_channels == out_channels``, any ``groups``: the
    entry ``weight[i, i % weight.shape[1]]``) with the separable triangle
    ``f(t) = max(0, 1 - |t - (K - 1) / 2| / scale)`` per dimension, and every other entry 0.

    ``scale`` defaults to ``(K + 1) // 2`` per dimension (FCN's rule). With
    ``K = bilinear_kernel_size(scale)``, ``stride=scale`` and ``padding=bilinear_padding(scale)``
    the layer is exact linear interpolation by ``scale``: it equals
    ``torch.nn.functional.interpolate(x, scale_factor=scale, mode="linear"/"bilinear"/
    "trilinear", align_corners=False)`` except within ``scale`` samples of the border (where
    interpolate replicates the edge and the convolution sees zeros). Other kernel sizes get
    FCN's centred triangle (e.g. ``K = 3``, ``scale = 2``: ``[0.5, 1, 0.5]``, interpolation at
    the input samples and the midpoints).

    Args:
        weight: the weight to fill in place.
        scale: the upsampling factor, an int or one per spatial dimension; None for FCN's
            ``(K + 1) // 2``.

    Returns:
        ``weight``, filled.

    Raises:
        ShapeError: for a weight without a spatial dimension, one whose ``C_in`` is not a
            multiple of ``weight.shape[1]`` (not per-channel), or a scale below 1.

    Shape:
        - weight: ``(C, C // groups, *K)``

    Example:
        >>> import torch.nn.functional as F
        >>> w = bilinear_(torch.empty(1, 1, 5))[0, 0]    # scale 3 from K = 5
        >>> [round(v, 4) for v in w.tolist()]
        [0.3333, 0.6667, 1.0, 0.6667, 0.3333]
        >>> bilinear_(torch.empty(2, 1, 3, 3))[1, 0]    # depthwise (groups=2), scale 2 from K = 3
        tensor([[0.2500, 0.5000, 0.2500],
                [0.5000, 1.0000, 0.5000],
                [0.2500, 0.5000, 0.2500]])
        >>> x = torch.arange(6.0).reshape(1, 1, 6)
        >>> F.conv_transpose1d(x, bilinear_(torch.empty(1, 1, 4)), stride=2, padding=1)[0, 0, 1:-1]
        tensor([0.2500, 0.7500, 1.2500, 1.7500, 2.2500, 2.7500, 3.2500, 3.7500, 4.2500, 4.7500])
    """
    rank = weight.dim() - 2
    if rank < 1:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected (C, C // groups, "
            "*kernel_size) with at least one spatial dimension"
        )
    cin, cout_g = weight.shape[0], weight.shape[1]
    if cout_g < 1 or cin % cout_g:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid for per-channel upsampling: "
            "in_channels must equal out_channels, so weight.shape[0] must be a multiple of "
            "weight.shape[1] (= channels // groups)"
        )
    k = tuple(weight.shape[2:])
    s = tuple((kk + 1) // 2 for kk in k) if scale is None else as_tuple(scale, rank, "scale")
    if any(v < 1 for v in s):
        raise ShapeError(f"scale={s} is invalid: each scale must be >= 1")
    filt = _triangle(k[0], s[0])
    for kk, ss in zip(k[1:], s[1:], strict=True):
        filt = filt[..., None] * _triangle(kk, ss)
    idx = torch.arange(cin)
    with torch.no_grad():
        weight.zero_()
        weight[idx, idx % cout_g] = filt.to(weight.dtype)
    return weight
