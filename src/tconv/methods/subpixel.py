"""The phase (sub-pixel) decomposition: ``prod(stride)`` small convolutions, interleaved.

Per spatial dimension, write a full-output index as ``o = q * s + r`` with phase
``0 <= r < s``. Input element ``i`` reaches ``o = i * s + t * d`` through kernel tap ``t``, so
only the taps with ``t * d ≡ r (mod s)`` feed phase ``r``, and they read input element
``q - (t * d) // s``. Those taps are ``d / gcd(s, d)``-spaced in ``(t * d) // s``: phase ``r``
is an ordinary correlation of the UN-upsampled input with the reversed sub-kernel
``w[taps]``, dilated by ``d / gcd(s, d)``. A phase with no taps (``stride > kernel``, or a
stride sharing a factor with the dilation) is zero.

:func:`forward_phases` runs one such convolution per phase combination (``prod(stride)`` of
them, the crop folded into each one's padding, no multiplication by inserted zeros), stacks
them and interleaves them with :func:`tconv.shuffle.pixel_shuffle`. :func:`forward_packed`
runs them all as ONE convolution (every sub-kernel zero-padded to a common size, see
:func:`subpixel_weight`) and one pixel shuffle: far fewer, bigger kernel calls, which is what
CPU and GPU libraries run fast. :func:`forward` uses the packed form unless its zero padding
costs more than :data:`PACKED_MAX_OVERHEAD` times the true multiply-adds.

:func:`subpixel_weight` packs every phase's sub-kernel into ONE ordinary convolution whose
output, pixel-shuffled and cropped, is the transposed convolution: the exact rewrite behind
``tconv.convert.to_subpixel``. The weight is packed on every call (one gather, no copy at all
where every tap is already in place, as for k2 s2), in inference too: nothing computed from a
weight is kept between calls, since a weight can change without any trace a cache could read
(writes through ``.data`` keep its storage, its data pointer and its version counter).
``tconv.convert.to_subpixel`` packs once, into a layer of its own, for a model that is done
changing; ``python benchmarks/subpixel_repack.py`` measures the difference.

Example:
    >>> import torch
    >>> from tconv.shapes import Geometry
    >>> x, w = torch.tensor([[[1.0, 10.0]]]), torch.tensor([[[1.0, 2.0, 3.0]]])
    >>> forward(x, w, None, Geometry.create(3, stride=2, padding=1, output_padding=1)).tolist()
    [[[2.0, 13.0, 20.0, 30.0]]]
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..cache_keys import lru_cache
from ..shapes import Geometry, ShapeError, kernel_span
from ..shuffle import pixel_shuffle
from .dilate import flip_weight
from .spec import MethodSpec

__all__ = [
    "PACKED_MAX_OVERHEAD",
    "forward",
    "forward_packed",
    "forward_phases",
    "packed_overhead",
    "subpixel_weight",
]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@dataclass(frozen=True)
class _Phase:
    """One output phase of one dimension: its kernel taps, padding and dilation."""

    taps: tuple[int, ...]  # ascending kernel indices t that feed this phase
    pad: tuple[int, int]  # (begin, end) zeros around the input; negative crops
    dilation: int  # d / gcd(s, d): spacing of the taps' input offsets


def _phases(i: int, k: int, s: int, d: int, lo: int, n: int) -> list[_Phase | None]:
    """Per output phase ``r'`` (output index ``q' * s + r'``, ``0 <= q' < n``), its convolution.

    Output index ``q' * s + r'`` is full index ``o = q' * s + r' + lo``: full phase
    ``r = (r' + lo) % s`` at ``q = q' + (r' + lo) // s``, so the crop is folded into the padding.
    """
    step = d // math.gcd(s, d)
    out: list[_Phase | None] = []
    for rp in range(s):
        shift, r = divmod(rp + lo, s)
        taps = tuple(t for t in range(k) if (t * d - r) % s == 0)
        if not taps:
            out.append(None)
            continue
        # phase value at q: sum_j x[q - m0 - j * step] * w[taps[j]], m0 = (taps[0] * d) // s;
        # as a correlation with the reversed taps, it reads x[q - last + u * step]
        last = (taps[0] * d) // s + (len(taps) - 1) * step
        begin = last - shift
        span = (len(taps) - 1) * step + 1
        end = n - 1 + span - i - begin  # so the correlation gives exactly n outputs
        out.append(_Phase(taps, (begin, end), step))
    return out


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Transposed convolution by ``prod(stride)`` ordinary convolutions on the input.

    Contract as in :mod:`tconv.methods`: batched ``x``, non-negative crops, zeros mode.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
        - output: ``(N, C_out, *O)`` with ``O = geom.output_size(I)``

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((4, 4), stride=2, padding=1)
        >>> x, w = torch.randn(1, 8, 5, 7), torch.randn(8, 3, 4, 4)
        >>> y = forward(x, w, None, g)
        >>> y.shape
        torch.Size([1, 3, 10, 14])
        >>> torch.allclose(y, torch.nn.functional.conv_transpose2d(x, w, None, 2, 1), atol=1e-5)
        True
    """
    if packed_overhead(geom) <= PACKED_MAX_OVERHEAD and all(
        o > 0 for o in geom.cropped_size(tuple(x.shape[2:]))
    ):
        return forward_packed(x, weight, bias, geom)
    return forward_phases(x, weight, bias, geom)


def forward_phases(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """One ordinary convolution per phase combination with taps, stacked and interleaved.

    Exact multiply-adds only (no zero taps, no inserted zeros); any geometry. Contract and
    shapes as in :func:`forward`.

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> x, w = torch.tensor([[[1.0, 10.0]]]), torch.tensor([[[1.0, 2.0, 3.0]]])
        >>> forward_phases(x, w, None, Geometry.create(3, stride=2)).tolist()
        [[[1.0, 2.0, 13.0, 20.0, 30.0]]]
    """
    size = tuple(x.shape[2:])
    out = geom.cropped_size(size)  # may be 0 in a dimension (see tconv.functional.apply)
    # q' count per phase: ceil(out / s), at least 1 so every convolution is valid
    count = [max(-(-o // s), 1) for o, s in zip(out, geom.stride, strict=True)]
    per_dim = [
        _phases(i, k, s, d, lo, n)
        for i, k, s, d, (lo, _), n in zip(
            size, geom.kernel_size, geom.stride, geom.dilation, geom.crop, count, strict=True
        )
    ]
    # pad once with the largest padding any phase needs; each phase takes a view of it
    most = [
        (max([p.pad[0] for p in ph if p] + [0]), max([p.pad[1] for p in ph if p] + [0]))
        for ph in per_dim
    ]
    grow = [v for a, b in reversed(most) for v in (a, b)]
    xp = F.pad(x, grow) if any(grow) else x
    batch, groups = x.shape[0], geom.groups
    c_out = weight.shape[1] * groups
    conv = _CONV[geom.rank]
    results = []
    for combo in itertools.product(*per_dim):
        if any(p is None for p in combo):
            results.append(x.new_zeros((batch, c_out, *count)))
            continue
        phases = [p for p in combo if p is not None]
        w = weight
        for j, p in enumerate(phases):
            if len(p.taps) < geom.kernel_size[j]:
                w = w.index_select(2 + j, torch.tensor(p.taps, device=weight.device))
        window = [
            slice(a - p.pad[0], a + i + p.pad[1])
            for (a, _), i, p in zip(most, size, phases, strict=True)
        ]
        index = (slice(None), slice(None), *window)
        view = xp[index]
        dil = tuple(p.dilation for p in phases)
        results.append(conv(view, flip_weight(w, groups), None, 1, 0, dil, groups))
    y = torch.stack(results, 2).reshape(batch, c_out * len(results), *count)
    y = pixel_shuffle(y, geom.stride)
    if tuple(y.shape[2:]) != out:
        trim = (slice(None), slice(None), *(slice(0, o) for o in out))
        y = y[trim]
    if bias is not None:
        y = y + bias.reshape((1, -1) + (1,) * geom.rank)
    return y


#: :func:`forward` runs the phases as ONE convolution (:func:`subpixel_weight`) when its
#: zero-padded common kernel costs at most this many times the true multiply-adds (k4 s2,
#: k2 s2, k16 s8: 1x; k3 s2 in 2-D: 16/9); otherwise one convolution per phase.
PACKED_MAX_OVERHEAD = 2.5


def packed_overhead(geom: Geometry) -> float:
    """Multiply-adds of the packed convolution over the true ones: ``prod(s * KK) / prod(K)``.

    ``KK`` is :func:`subpixel_weight`'s common per-phase kernel size; the packed convolution
    multiplies ``prod(stride * KK)`` taps per input element and output channel where the
    transposed convolution multiplies ``prod(K)``.

    >>> from tconv.shapes import Geometry
    >>> packed_overhead(Geometry.create((4, 4), stride=2, padding=1))   # 2x2 per phase
    1.0
    >>> round(packed_overhead(Geometry.create((3, 3), stride=2, padding=1, output_padding=1)), 3)
    1.778
    """
    return _packed_overhead(geom.kernel_size, geom.stride, geom.dilation, geom.crop)


@lru_cache(maxsize=1024)
def _packed_overhead(
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    crop: tuple[tuple[int, int], ...],
) -> float:
    packed = 1  # a loop, not math.prod(generator): torch.compile traces it without a break
    for k, s, d, (lo, hi) in zip(kernel, stride, dilation, crop, strict=True):
        packed *= s * _layout(k, s, d, lo, hi)[1]
    return packed / math.prod(kernel)


def forward_packed(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """The phases as ONE convolution with :func:`subpixel_weight`, then one pixel shuffle.

    Every phase's sub-kernel is zero-padded to a common size (see :func:`packed_overhead` for
    the cost); the bias rides in the convolution, repeated once per phase. Contract as in
    :func:`forward`, and every output dimension must be non-empty.

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((2, 2), stride=2)                  # U-Net k2 s2: a 1x1 conv
        >>> x, w = torch.randn(1, 8, 5, 7), torch.randn(8, 3, 2, 2)
        >>> y = forward_packed(x, w, None, g)
        >>> torch.allclose(y, torch.nn.functional.conv_transpose2d(x, w, None, 2), atol=1e-5)
        True
    """
    conv_weight, padding, crop = subpixel_weight(weight, geom)
    grow = [v for b, e in reversed(padding) for v in (b, e)]
    xp = F.pad(x, grow) if any(grow) else x
    phases = math.prod(geom.stride)
    b = None if bias is None else bias.repeat_interleave(phases)
    y = _CONV[geom.rank](xp, conv_weight, b, 1, 0, 1, geom.groups)
    y = pixel_shuffle(y, geom.stride)
    if any(lo or hi for lo, hi in crop):
        cut = [slice(lo, y.shape[2 + j] - hi) for j, (lo, hi) in enumerate(crop)]
        index = (slice(None), slice(None), *cut)
        y = y[index]
    return y


@lru_cache(maxsize=4096)
def _layout(
    k: int, s: int, d: int, lo: int, hi: int
) -> tuple[tuple[int, ...], int, int, int, int, int]:
    """One dimension of :func:`subpixel_weight`.

    Returns (position of each tap t in the ``s * KK`` phase-major kernel axis, KK, conv padding
    begin, conv padding end, crop lo', crop hi'). Shuffled index ``j`` is full index
    ``j + c`` with ``c = lo - lo'``; shuffled phase ``r'`` holds full phase ``(r' + c) % s`` at
    ``q = q' + (r' + c) // s``; tap ``t`` (full phase ``(t d) % s``, input offset
    ``(t d) // s``) sits at kernel offset ``pad_begin + (r' + c) // s - (t d) // s``.
    """

    def offsets(c: int) -> list[tuple[int, int]]:  # (r', shift - m_t) per tap
        res = []
        for t in range(k):
            m, r = divmod(t * d, s)
            rp = (r - c) % s
            res.append((rp, (rp + c) // s - m))
        return res

    # fold as much of the start crop into the convolution as keeps its padding >= 0
    c = lo
    first = min(e for _, e in offsets(c))
    if first > 0:
        c -= first * s  # every offset drops by 1 per s
        while min(e for _, e in offsets(c + 1)) <= 0 and c + 1 <= lo:
            c += 1

    # folding less of the crop (c - 1, ..., c - s + 1) shifts which phase each tap lands in;
    # keep the alignment with the smallest common kernel (k4 s2 p1: 2x2 per phase, not 3x3),
    # at the price of a crop after the shuffle
    def width(c: int) -> int:
        es = [e for _, e in offsets(c)]
        return max(es) - min(es) + 1

    c = min(range(c - s + 1, c + 1), key=lambda v: (width(v), -v))
    offs = offsets(c)
    e_min, e_max = min(e for _, e in offs), max(e for _, e in offs)
    kk = e_max - e_min + 1
    begin = -e_min
    span = kernel_span(k, d)[0]
    # the shuffled output covers full indices c .. c + s * (I + begin + end - kk + 1) - 1;
    # it must reach L - hi = (I - 1) s + span - hi, i.e. s * (begin + end - kk + 2) + c >=
    # span - hi
    need = -(-(span - hi - c) // s) - (begin - kk + 2)
    end = max(need, 0)
    hi_crop = c + s * (begin + end - kk + 2) - span + hi
    positions = tuple(rp * kk + begin + e for rp, e in offs)  # a tuple: the result is shared
    return positions, kk, begin, end, lo - c, hi_crop


def subpixel_weight(
    weight: Tensor, geom: Geometry
) -> tuple[Tensor, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """One ordinary convolution + pixel shuffle + crop that equals the transposed convolution.

    Returns ``(conv_weight, conv_padding, crop)`` such that for every input ``x`` of shape
    ``(N, C_in, *I)``::

        pads = [v for b, e in reversed(conv_padding) for v in (b, e)]     # F.pad order
        y = pixel_shuffle(F.conv{r}d(F.pad(x, pads), conv_weight, groups=geom.groups),
                          geom.stride)
        y = y[:, :, lo'_1 : y.shape[2] - hi'_1, ...]     # crop = ((lo'_1, hi'_1), ...)

    is the transposed convolution of ``x`` with ``weight`` and ``geom`` (zeros mode; stride 1,
    no dilation and no bias in the ordinary convolution: add the bias after the crop). Every
    crop of ``geom`` works, negative (zero extension) included; the padding and crops do not
    depend on ``I``.

    ``conv_weight[c_out * P + p, i, *v]`` (``P = prod(stride)``, ``p`` the row-major index of
    the output phase ``(r_1, ..., r_n)`` as :func:`tconv.shuffle.pixel_shuffle` reads it)
    holds, per dimension ``j``, tap ``t_j`` of ``weight[g * C_in/g + i, c_out % (C_out/g)]``
    (group ``g = c_out // (C_out/g)``) at offset ``v_j = b_j + (r_j + c_j) // s_j -
    (t_j d_j) // s_j`` when ``(t_j d_j) % s_j == (r_j + c_j) % s_j`` (``b_j`` = padding begin,
    ``c_j = lo_j - lo'_j`` the part of the start crop folded into the convolution), and 0
    elsewhere: every phase's sub-kernel (dilation built in) zero-padded to one common size
    ``KK``. Each group's output channels stay contiguous, so ``groups`` carries over.
    ``conv_padding`` holds ``(begin, end) >= 0`` per spatial dimension, first dimension first;
    ``crop`` holds ``(lo', hi') >= 0`` per dimension. Of the alignments of the output phases
    with the convolution (``lo'`` below ``stride`` more than the start crop's foldable part),
    the one with the smallest common kernel ``KK`` is used: k4 s2 p1 becomes 2x2 per phase
    and a crop of 1, not the classic 3x3 (16 instead of 36 multiply-adds per input pixel).

    Shape:
        - weight: ``(C_in, C_out // groups, *K)``
        - conv_weight: ``(C_out * prod(stride), C_in // groups, *KK)``

    Raises:
        ShapeError: if ``weight`` does not match ``geom``'s kernel size or groups.

    Example:
        >>> import torch
        >>> from tconv.shuffle import pixel_shuffle
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((4, 4), stride=2, padding=1)       # k4 s2 p1
        >>> cw, pad, crop = subpixel_weight(torch.randn(8, 3, 4, 4), g)
        >>> cw.shape, pad, crop         # 2x2 per phase (not the classic 3x3), then crop 1
        (torch.Size([12, 8, 2, 2]), ((1, 1), (1, 1)), ((1, 1), (1, 1)))
        >>> g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1)
        >>> w = torch.randn(8, 3, 3, 3, dtype=torch.float64)
        >>> cw, pad, crop = subpixel_weight(w, g)
        >>> pad, crop
        (((0, 1), (0, 1)), ((0, 0), (0, 0)))
        >>> x = torch.randn(1, 8, 5, 6, dtype=torch.float64)
        >>> y = pixel_shuffle(F.conv2d(F.pad(x, (0, 1, 0, 1)), cw), 2)
        >>> ref = F.conv_transpose2d(x, w, None, 2, 1, 1)
        >>> y.shape, torch.allclose(y, ref, atol=1e-12)
        (torch.Size([1, 3, 10, 12]), True)
    """
    rank = geom.rank
    if weight.dim() != rank + 2 or tuple(weight.shape[2:]) != geom.kernel_size:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} does not match the geometry: expected "
            f"(C_in, C_out // groups, *{geom.kernel_size})"
        )
    groups = geom.groups
    if weight.shape[0] % groups:
        raise ShapeError(
            f"in_channels={weight.shape[0]} (weight.shape[0]) is not divisible by groups={groups}"
        )
    plan = _plan(geom.kernel_size, geom.stride, geom.dilation, geom.crop)
    index, zero, in_place, kks, padding, crop = plan
    c_in, c_out_g = weight.shape[:2]
    phases, taps, kk = math.prod(geom.stride), math.prod(geom.kernel_size), math.prod(kks)
    if in_place:  # every tap already where the packed kernel wants it (k2 s2): no copy
        w = weight.reshape(groups, c_in // groups, c_out_g, phases, kk).permute(0, 2, 3, 1, 4)
        return w.reshape(groups * c_out_g * phases, c_in // groups, *kks), padding, crop
    # one gather: slot (phase p, tap position v) of output channel o and input channel i
    # takes weight[i, o, index[p, v]], or the zero appended after the last tap
    w = weight.reshape(groups, c_in // groups, c_out_g, taps)
    if zero:
        w = F.pad(w, (0, 1))
    w = w.permute(0, 2, 1, 3).unsqueeze(2)
    w = w.expand(groups, c_out_g, phases, c_in // groups, w.shape[4])
    at = torch.tensor(index, device=weight.device).reshape(1, 1, phases, 1, kk)
    at = at.expand(groups, c_out_g, phases, c_in // groups, kk)
    conv_weight = torch.gather(w, 4, at).reshape(groups * c_out_g * phases, c_in // groups, *kks)
    return conv_weight, padding, crop


_Plan = tuple[
    tuple[int, ...],
    bool,
    bool,
    tuple[int, ...],
    tuple[tuple[int, int], ...],
    tuple[tuple[int, int], ...],
]


@lru_cache(maxsize=1024)
def _plan(
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    crop: tuple[tuple[int, int], ...],
) -> _Plan:
    """:func:`subpixel_weight`'s layout, from the settings alone: for each slot of the packed
    kernel (phases first, row-major, then the common kernel ``KK``, row-major) the flat index
    of the weight's tap it holds, ``prod(kernel)`` for a zero; whether any slot is zero;
    whether every tap is in place (the index is ``0, 1, 2, ...``); ``KK``; the convolution's
    padding and the crop after the shuffle."""
    dims = [_layout(k, s, d, lo, hi) for k, s, d, (lo, hi) in zip(kernel, stride, dilation, crop)]
    sources = []  # per dimension, slot r * kk + u -> tap t, or -1 (no tap)
    for (positions, kk, *_), s in zip(dims, stride):
        source = [-1] * (s * kk)
        for t, v in enumerate(positions):
            source[v] = t
        sources.append(source)
    kks = tuple(d[1] for d in dims)
    zero_at = math.prod(kernel)
    index = []
    for rs in itertools.product(*(range(s) for s in stride)):
        for us in itertools.product(*(range(kk) for kk in kks)):
            flat = 0
            for source, k, r, u, kk in zip(sources, kernel, rs, us, kks):
                t = source[r * kk + u]
                if t < 0:
                    flat = zero_at
                    break
                flat = flat * k + t
            index.append(flat)
    padding = tuple((d[2], d[3]) for d in dims)
    in_place = len(index) == zero_at and index == list(range(zero_at))
    crop = tuple((d[4], d[5]) for d in dims)
    return tuple(index), zero_at in index, in_place, kks, padding, crop


#: The registry's entry (:mod:`tconv.methods`).
METHOD = MethodSpec("subpixel", forward, "phase decomposition", candidate=True, color="#1f77b4")
