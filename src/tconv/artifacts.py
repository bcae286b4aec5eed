"""Checkerboard diagnostics: tap overlap per output phase, and two measured scores.

A layer that upsamples by a stride ``s`` produces outputs in ``prod(s)`` *phases* (the output
index modulo the stride). A checkerboard is a difference between the phases that the input
does not explain. Three views (definitions in full in docs/artifacts.md):

- :func:`overlap` -- geometry only: how many kernel taps reach each phase. Uneven counts
  (e.g. kernel 3, stride 2: 2 and 1) make a checkerboard for almost any weights; even counts
  (kernel a multiple of the stride) allow, but do not guarantee, an artifact-free layer.
- :func:`checkerboard_score` -- the layer itself: the relative spread across phases of its
  response to a constant input, away from the borders. 0 when artifact-free.
- :func:`checkerboard_spectrum` -- the share of output energy at the stride frequencies for a
  smooth random input.

Example:
    >>> overlap(3, 2).tolist()
    [2, 1]
    >>> overlap((4, 3), 2).tolist()
    [[4, 2], [4, 2]]
    >>> import torch
    >>> layer = torch.nn.ConvTranspose1d(1, 1, 3, stride=2, bias=False)
    >>> _ = torch.nn.init.ones_(layer.weight)
    >>> round(checkerboard_score(layer, (1, 1, 32)), 4)   # phases 2 and 1: (2 - 1) / 1.5
    0.6667
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeAlias

import torch
from torch import Tensor

from .shapes import IntOrTuple, ShapeError, as_tuple, rank_of, spatial_index

__all__ = [
    "checkerboard_score",
    "checkerboard_spectrum",
    "evaluating",
    "overlap",
    "stride_share",
]


ModuleOrFn: TypeAlias = torch.nn.Module | Callable[[Tensor], Tensor]

#: width (std, in input samples) of the Gaussian low-pass that makes the spectrum's input smooth
SMOOTH_SIGMA = 2.0
#: mean and standard deviation of the smooth random input of :func:`checkerboard_spectrum`
SMOOTH_MEAN, SMOOTH_STD = 1.0, 0.5


def overlap(kernel_size: IntOrTuple, stride: IntOrTuple, dilation: IntOrTuple = 1) -> Tensor:
    """Number of kernel taps that reach each output phase of a transposed convolution.

    Output element ``n`` of the full output receives tap ``t`` of input ``i`` when
    ``n = stride * i + dilation * t``; its phase is ``n mod stride`` (per dimension), so

        ``overlap[p] = #{t in [0, K) : (dilation * t) mod stride == p}``  per dimension,

    and the N-d count is the product of the per-dimension counts. Any rank. A uniform result
    means even overlap (no geometric checkerboard); a 0 means phases that no tap reaches.
    Crops only relabel the phases.

    Args:
        kernel_size: kernel length, an int or one per spatial dimension.
        stride: stride, an int or one per dimension.
        dilation: dilation, an int or one per dimension.

    Returns:
        an int64 tensor of shape ``stride`` (a tuple per dimension).

    Shape:
        - output: ``(*stride)``, one count per output phase

    Raises:
        ShapeError: for a kernel size, stride or dilation below 1, or arguments that disagree
            on the number of dimensions.

    Example:
        >>> overlap(4, 2).tolist()
        [2, 2]
        >>> overlap(3, 2, dilation=2).tolist()     # every tap lands on phase 0
        [3, 0]
        >>> overlap((3, 3), (2, 2)).tolist()
        [[4, 2], [2, 1]]
    """
    rank = rank_of(kernel_size, stride, dilation)
    k = as_tuple(kernel_size, rank, "kernel_size")
    s = as_tuple(stride, rank, "stride")
    d = as_tuple(dilation, rank, "dilation")
    for name, value in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if any(v < 1 for v in value):
            raise ShapeError(f"{name}={value} is invalid: each {name} must be >= 1")
    counts = torch.ones((), dtype=torch.int64)
    for kk, ss, dd in zip(k, s, d, strict=True):
        per_dim = torch.bincount(torch.arange(kk) * dd % ss, minlength=ss)
        counts = counts[..., None] * per_dim
    return counts


# ---------------------------------------------------------------------------------------------
# probing a module or function


@contextmanager
def evaluating(fn: ModuleOrFn) -> Iterator[None]:
    """Run ``fn`` as a measurement does: no autograd, a module in eval mode (its training
    flags restored afterwards).

    Args:
        fn: a module or a plain function (which only loses autograd).

    Returns:
        A context manager.

    Example:
        >>> m = torch.nn.Dropout(0.5)
        >>> with evaluating(m):
        ...     print(m.training, torch.is_grad_enabled())
        False False
        >>> m.training
        True
    """
    modes = None
    if isinstance(fn, torch.nn.Module):
        modes = [(m, m.training) for m in fn.modules()]
        fn.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in modes or ():
            m.training = training


def _dtype_device(fn: ModuleOrFn, dtype: torch.dtype | None) -> tuple[torch.dtype, torch.device]:
    device = torch.device("cpu")
    if isinstance(fn, torch.nn.Module):
        for t in itertools.chain(fn.parameters(), fn.buffers()):
            device = t.device
            if t.is_floating_point():
                return dtype or t.dtype, device
    return dtype or torch.get_default_dtype(), device


def _check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) < 3 or any(v < 1 for v in shape):
        raise ShapeError(
            f"input_shape={tuple(input_shape)} is invalid: expected (N, C, *spatial) with 1 to 3 "
            "spatial dimensions and every entry >= 1"
        )
    return shape


def _response(fn: ModuleOrFn, x: Tensor, input_shape: tuple[int, ...]) -> Tensor:
    """``fn(x) - fn(0)`` (so a bias or any other constant output does not count)."""
    y = fn(x) - fn(torch.zeros_like(x))
    rank = len(input_shape) - 2
    if not isinstance(y, Tensor) or y.dim() != rank + 2:
        raise ShapeError(
            f"the output for input_shape={input_shape} has shape "
            f"{tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__}: expected a tensor "
            f"(N, C, *spatial) with {rank} spatial dimensions"
        )
    return y


def _period(
    stride: IntOrTuple | None, input_size: tuple[int, ...], output_size: tuple[int, ...]
) -> tuple[int, ...]:
    if stride is not None:
        s = as_tuple(stride, len(input_size), "stride")
        if any(v < 1 for v in s):
            raise ShapeError(f"stride={s} is invalid: each stride must be >= 1")
        return s
    return tuple(max(1, round(o / i)) for o, i in zip(output_size, input_size, strict=True))


def _interior(
    output_size: tuple[int, ...], margin: IntOrTuple | None
) -> tuple[tuple[int, int], ...]:
    """``(start, stop)`` per dimension: ``margin`` (default ``O // 4``) off each end."""
    m = (
        tuple(o // 4 for o in output_size)
        if margin is None
        else as_tuple(margin, len(output_size), "margin")
    )
    return tuple((mm, o - mm) for mm, o in zip(m, output_size, strict=True))


# ---------------------------------------------------------------------------------------------
# the score


def checkerboard_score(
    module_or_fn: ModuleOrFn,
    input_shape: Sequence[int],
    *,
    stride: IntOrTuple | None = None,
    margin: IntOrTuple | None = None,
    dtype: torch.dtype | None = None,
) -> float:
    """Relative spread across output phases of the response to a constant input.

    With ``r = f(ones(input_shape)) - f(zeros(input_shape))`` (so a bias does not count),
    restricted to the interior ``margin <= n < O - margin`` per dimension (default margin
    ``O // 4``, the central half), let ``m[c, p]`` be the mean of ``r`` over the batch and the
    interior positions of channel ``c`` whose index ``n`` has ``n mod stride == p``. Then

        ``score = sum_c (max_p m[c, p] - min_p m[c, p]) / sum_c mean_p |m[c, p]|``

    (0 if the denominator is 0): 0 when the response is the same in every phase, i.e. no
    checkerboard. For one channel with all-ones kernel 3, stride 2 the phases get 2 and 1 taps
    and the score is ``(2 - 1) / 1.5 = 2/3``.

    Args:
        module_or_fn: a module (run in eval mode without autograd, then restored) or a
            function of one tensor ``(N, C, *spatial)``.
        input_shape: ``(N, C, *spatial)``; choose the spatial size large compared with the
            receptive field so the interior is free of border effects.
        stride: the period of the phases; default ``round(output / input)`` per dimension.
        margin: samples dropped at each end of every output dimension (default ``O // 4``).
        dtype: input dtype; default the module's first floating parameter's, else torch's
            default dtype.

    Returns:
        The score, a float >= 0 (0: no checkerboard).

    Raises:
        ShapeError: for an ``input_shape`` without a spatial dimension, or an interior shorter
            than one period.

    Example:
        >>> layer = torch.nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1)
        >>> _ = torch.nn.init.ones_(layer.weight)
        >>> checkerboard_score(layer, (1, 4, 16, 16))
        0.0
    """
    shape = _check_input_shape(input_shape)
    dt, device = _dtype_device(module_or_fn, dtype)
    with evaluating(module_or_fn):
        r = _response(module_or_fn, torch.ones(shape, dtype=dt, device=device), shape)
    r = r.double()
    out = tuple(r.shape[2:])
    s = _period(stride, shape[2:], out)
    box = _interior(out, margin)
    for (a, b), ss in zip(box, s, strict=True):
        if b - a < ss:
            raise ShapeError(
                f"the interior of the output {out} (margin {a} at each end) is shorter than one "
                f"period {s}: use a larger input_shape or a smaller margin"
            )
    r = r[spatial_index(slice(a, b) for a, b in box)]
    # phase of interior element j in dimension d: (a + j) mod s
    means = []
    for phase in _phases(s):
        sl = tuple(
            slice((p - a) % ss, None, ss) for p, (a, _), ss in zip(phase, box, s, strict=True)
        )
        means.append(r[spatial_index(sl)].mean(dim=tuple(range(2, r.dim()))).mean(0))
    m = torch.stack(means, dim=1)  # (C, phases)
    level = m.abs().mean(dim=1).sum()
    spread = (m.amax(dim=1) - m.amin(dim=1)).sum()
    return 0.0 if level == 0 else float(spread / level)


def _phases(stride: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(v) for v in stride)))


# ---------------------------------------------------------------------------------------------
# the spectrum


def smooth_input(
    input_shape: Sequence[int], seed: int = 0, dtype: torch.dtype = torch.float64
) -> Tensor:
    """The seeded smooth random input of :func:`checkerboard_spectrum`.

    White Gaussian noise ``N(0, 1)`` of ``input_shape`` from ``torch.Generator().manual_seed(
    seed)`` (float64, CPU), low-passed per spatial dimension by a circular Gaussian of standard
    deviation :data:`SMOOTH_SIGMA` = 2 samples (its DFT multiplied by
    ``exp(-2 pi^2 sigma^2 f^2)``, ``f`` in cycles per sample), rescaled to standard deviation
    :data:`SMOOTH_STD` = 0.5 and shifted to mean :data:`SMOOTH_MEAN` = 1 (an image-like,
    mostly positive signal whose energy lies below about 0.2 cycles per sample).

    >>> x = smooth_input((2, 1, 64))
    >>> round(x.mean().item(), 6), round(x.std().item(), 6)
    (1.0, 0.5)
    """
    shape = _check_input_shape(input_shape)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(shape, generator=gen, dtype=torch.float64)
    dims = tuple(range(2, len(shape)))
    spec = torch.fft.fftn(noise, dim=dims)
    for d in dims:
        f = torch.fft.fftfreq(shape[d], dtype=torch.float64)
        gain = torch.exp(-2 * math.pi**2 * SMOOTH_SIGMA**2 * f**2)
        spec = spec * gain.reshape((-1,) + (1,) * (len(shape) - 1 - d))
    g = torch.fft.ifftn(spec, dim=dims).real
    g = (g - g.mean()) / g.std()
    return (SMOOTH_MEAN + SMOOTH_STD * g).to(dtype)


def _hann(n: int) -> Tensor:
    """Periodic Hann window ``sin^2(pi j / n)``: a tone on a DFT bin spreads to exactly 3 bins."""
    return torch.sin(math.pi * torch.arange(n, dtype=torch.float64) / n) ** 2


def checkerboard_spectrum(
    module_or_fn: ModuleOrFn,
    input_shape: Sequence[int],
    *,
    stride: IntOrTuple | None = None,
    margin: IntOrTuple | None = None,
    seed: int = 0,
    dtype: torch.dtype | None = None,
) -> float:
    """Share of output energy at the stride frequencies for a smooth random input.

    1. ``x = smooth_input(input_shape, seed)`` (seeded low-pass Gaussian noise, mean 1, std
       0.5; see :func:`smooth_input`) and ``y = f(x) - f(0)``.
    2. Keep the interior: ``margin`` (default ``O // 4``) off the start of each dimension, then
       the largest length ``M`` that is a multiple of the period ``s`` and fits before
       ``O - margin``; multiply by a periodic Hann window per dimension; take the DFT ``Y``.
    3. The stride frequencies are ``j / s`` cycles per sample (``j = 0 .. s - 1`` per
       dimension), i.e. bins ``j * M / s``; each counts with its Hann main lobe (bins within 1
       of it, per dimension). With ``S`` the lobes of every stride frequency except 0 (all
       ``j = 0``):

        ``spectrum = sum_{b in S} |Y[b]|^2 / sum_b |Y[b]|^2``   (over batch and channels; 0 if
        the output is 0).

    A linear layer whose kernel vanishes at the stride frequencies (nearest, exact bilinear,
    ICNR) scores about 0 (only the small imaging of the smooth input remains); all-ones
    kernel 3, stride 2 scores about 0.09 (0.1 for a constant input).

    Args:
        module_or_fn: as in :func:`checkerboard_score`.
        input_shape: ``(N, C, *spatial)``; ``M / s >= 3`` per dimension is required.
        stride: as in :func:`checkerboard_score`.
        margin: as in :func:`checkerboard_score`.
        seed: seed of the random input.
        dtype: as in :func:`checkerboard_score`.

    Returns:
        The share, a float in ``[0, 1]``.

    Raises:
        ShapeError: for an ``input_shape`` without a spatial dimension, or an interior that
            holds fewer than 3 periods per dimension.

    Example:
        >>> layer = torch.nn.ConvTranspose1d(1, 1, 3, stride=2, bias=False)
        >>> _ = torch.nn.init.ones_(layer.weight)
        >>> round(checkerboard_spectrum(layer, (1, 1, 64)), 2)
        0.09
        >>> layer = torch.nn.ConvTranspose1d(1, 1, 2, stride=2, bias=False)  # nearest
        >>> _ = torch.nn.init.ones_(layer.weight)
        >>> checkerboard_spectrum(layer, (1, 1, 64)) < 1e-3
        True
    """
    shape = _check_input_shape(input_shape)
    dt, device = _dtype_device(module_or_fn, dtype)
    x = smooth_input(shape, seed).to(dtype=dt, device=device)
    with evaluating(module_or_fn):
        y = _response(module_or_fn, x, shape)
    y = y.double().cpu()
    out = tuple(y.shape[2:])
    s = _period(stride, shape[2:], out)
    box = _interior(out, margin)
    lengths = tuple((b - a) // ss * ss for (a, b), ss in zip(box, s, strict=True))
    if any(mm // ss < 3 for mm, ss in zip(lengths, s, strict=True)):
        raise ShapeError(
            f"the interior of the output {out} holds "
            f"{tuple(m // p for m, p in zip(lengths, s, strict=True))} "
            f"periods {s}: at least 3 per dimension are needed; use a larger input_shape or a "
            "smaller margin"
        )
    y = y[spatial_index(slice(a, a + mm) for (a, _), mm in zip(box, lengths, strict=True))]
    return stride_share(y, s)


def stride_share(y: Tensor, stride: IntOrTuple) -> float:
    """Share of the energy of ``y`` at the frequencies of ``stride``: steps 2-3 of
    :func:`checkerboard_spectrum` on a tensor already cut to whole periods.

    Each spatial dimension is multiplied by a periodic Hann window and Fourier transformed;
    the stride frequencies ``j / s`` (``j = 0 .. s - 1`` per dimension) count with their main
    lobes (bins within 1), all but the one at 0; the result is their energy over the total,
    summed over the batch and channels (0 when ``y`` is 0).

    Args:
        y: real tensor, each spatial length a multiple of its stride.
        stride: the period, an int or one per spatial dimension.

    Shape:
        - y: ``(N, C, *M)``

    Returns:
        A float in ``[0, 1]``.

    Example:
        >>> checker = (-1.0) ** torch.arange(16).double().view(1, 1, 16)
        >>> stride_share(checker, 2), stride_share(torch.ones(1, 1, 16), 2) < 1e-20
        (1.0, True)
    """
    lengths = tuple(y.shape[2:])
    rank = len(lengths)
    s = as_tuple(stride, rank, "stride")
    for j, mm in enumerate(lengths):
        y = y * _hann(mm).reshape((-1,) + (1,) * (rank - 1 - j))
    energy = torch.fft.fftn(y, dim=tuple(range(2, 2 + rank))).abs().square().sum(dim=(0, 1))
    total = energy.sum()
    if total == 0:
        return 0.0
    # per dimension: which lobe (multiple j of M / s) each bin belongs to, or -1 for none
    lobes = []
    for mm, ss in zip(lengths, s, strict=True):
        b = torch.arange(mm)
        step = mm // ss
        nearest = torch.round(b / step).long() % ss
        dist = (b - nearest * step).abs()
        dist = torch.minimum(dist, mm - dist)
        lobes.append(torch.where(dist <= 1, nearest, -1))
    in_lobe = torch.ones(lengths, dtype=torch.bool)
    at_dc = torch.ones(lengths, dtype=torch.bool)
    for d, lobe in enumerate(lobes):
        view = (-1,) + (1,) * (rank - 1 - d)
        in_lobe = in_lobe & (lobe >= 0).reshape(view)
        at_dc = at_dc & (lobe == 0).reshape(view)
    return float(energy[in_lobe & ~at_dc].sum() / total)
