"""The numbers behind every picture: computed by tconv's own functions, never re-derived.

Each view is a plain dict of lists (JSON-ready) built from the library:

- the **matrix view** from :func:`tconv.conv_matrix` (``C``, ``Cᵀ``, ``y = Cᵀ x``);
- the **zero-insertion view** from :func:`tconv.methods.dilate.steps` (the dilate method's own
  intermediate tensors);
- the **scatter view** from :func:`tconv.conv_transpose` on the full (uncropped) geometry, one
  input element at a time, and the tap-count (overlap) map;
- the sizes and the filled-in formula from :class:`tconv.shapes.Geometry`.

The example weight and input default to ``1, 2, 3, ...`` (row-major), so every number in a
picture can be checked by hand.

Example:
    >>> s = Settings.create(2, 3, stride=2)
    >>> matrix_data(s)["y"]
    [1.0, 2.0, 5.0, 4.0, 6.0]
    >>> scatter_data(s)["counts"]
    [1, 1, 2, 1, 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..artifacts import (
    checkerboard_score,
    checkerboard_spectrum,
    evaluating,
    overlap,
    smooth_input,
)
from ..functional import conv_transpose
from ..methods import dilate
from ..methods.matrix import conv_matrix
from ..modules import ConvTranspose2d
from ..shapes import Geometry, IntOrTuple, PaddingSpec, ShapeError, as_tuple
from ..upsamplers import build

__all__ = [
    "MAX_CELLS",
    "MAX_INPUT",
    "Settings",
    "checkerboard_data",
    "default_upsamplers",
    "explain_data",
    "matrix_data",
    "scatter_data",
    "with_layer",
    "zero_insertion_data",
]

#: largest number of input elements a picture draws (one footprint / matrix column each)
MAX_INPUT = 64
#: largest number of full-output cells a picture draws
MAX_CELLS = 4096


@dataclass(frozen=True)
class Settings:
    """One layer's settings for drawing: the input size and its resolved geometry.

    Build one with :meth:`create` (which validates); the fields are filled from it.

    Args:
        input_size: spatial input size, one int per dimension (1 or 2).
        geometry: the layer (:class:`~tconv.shapes.Geometry`).
        base: the same layer without ``output_padding`` / ``output_size`` (so the cells those
            add can be marked).
        padding: the padding as given (for labels).
        output_padding: per dimension, how many cells ``output_padding`` / ``output_size``
            added at the end.

    Example:
        >>> s = Settings.create(16, 3, stride=2, padding=1, output_padding=1)
        >>> s.output_size, s.full_size, s.geometry.crop
        ((32,), (33,), ((1, 0),))
    """

    input_size: tuple[int, ...]
    geometry: Geometry
    base: Geometry
    padding: Any
    output_padding: tuple[int, ...]

    @classmethod
    def create(
        cls,
        input_size: IntOrTuple,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: PaddingSpec = 0,
        output_padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        output_size: IntOrTuple | None = None,
    ) -> Settings:
        """Validate settings (through :class:`Geometry`) and the size limits of a picture.

        Args:
            input_size: spatial input size, an int (1-D) or 1 or 2 ints; its length is the rank.
            kernel_size: an int or one per dimension.
            stride: an int or one per dimension.
            padding: any padding form (int, tuple, ``"same"``, ``"valid"``, ``"same_lower"``,
                ``(lo, hi)`` pairs).
            output_padding: as for :func:`tconv.conv_transpose` (shortens the end crop).
            dilation: an int or one per dimension.
            output_size: a target output size instead of ``output_padding``.

        Raises:
            ShapeError: invalid settings (the geometry's message), rank other than 1 or 2, or
                sizes too large to draw (more than :data:`MAX_INPUT` inputs or
                :data:`MAX_CELLS` output cells).

        Example:
            >>> Settings.create((4, 4), 3, stride=2, padding=1, output_size=8).geometry.crop
            ((1, 0), (1, 0))
        """
        size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
        rank = len(size)
        if rank not in (1, 2):
            raise ShapeError(
                f"input_size={size} is invalid for a picture: give 1 or 2 spatial lengths"
            )
        i = as_tuple(size, rank, "input_size")
        if any(v < 1 for v in i):
            raise ShapeError(f"input_size={i} is invalid: every spatial length must be >= 1")
        if output_size is not None and any(as_tuple(output_padding, rank, "output_padding")):
            raise ShapeError("give output_padding or output_size, not both")
        base = Geometry.create(kernel_size, stride, padding, 0, dilation, rank=rank)
        if output_size is None:
            geom = Geometry.create(
                kernel_size, stride, padding, output_padding, dilation, rank=rank
            )
        else:
            geom = base.with_output_size(i, output_size)
        out = geom.output_size(i)
        full = geom.full_size(i)
        cells = math.prod(max(f, o) + 2 * max(0, -c) for f, o, c in zip(full, out, _neg(geom)))
        if math.prod(i) > MAX_INPUT or cells > MAX_CELLS:
            raise ShapeError(
                f"input_size={i} with full output {full} is too large to draw: at most "
                f"{MAX_INPUT} input elements and {MAX_CELLS} output cells (use a smaller input)"
            )
        op = tuple(hb - hg for (_, hb), (_, hg) in zip(base.crop, geom.crop))
        return cls(i, geom, base, padding, op)

    @property
    def rank(self) -> int:
        """Number of spatial dimensions (1 or 2)."""
        return self.geometry.rank

    @property
    def output_size(self) -> tuple[int, ...]:
        """The output size (from the geometry)."""
        return self.geometry.output_size(self.input_size)

    @property
    def full_size(self) -> tuple[int, ...]:
        """The full (uncropped) output size (from the geometry)."""
        return self.geometry.full_size(self.input_size)

    def describe(self) -> str:
        """Short label, e.g. ``input 5x5, k3 s2, padding 1, output_padding 1``.

        >>> Settings.create(16, 3, 2, 1, 1).describe()
        'input 16, kernel 3, stride 2, padding 1, output_padding 1 -> output 32'
        """
        g = self.geometry

        def j(v: Sequence[int]) -> str:
            return "x".join(map(str, v)) if len(set(v)) > 1 else str(v[0])

        parts = [f"input {'x'.join(map(str, self.input_size))}", f"kernel {j(g.kernel_size)}"]
        parts.append(f"stride {j(g.stride)}")
        pad = self.padding
        if isinstance(pad, str):
            parts.append(f"padding '{pad}'")
        elif not isinstance(pad, int) and any(not isinstance(v, int) for v in pad):
            parts.append("crop (lo, hi) " + ", ".join(str(tuple(c)) for c in pad))
        elif pad not in (0, (0,), (0, 0)) and pad:
            parts.append(f"padding {pad if isinstance(pad, int) else tuple(pad)}")
        if any(self.output_padding):
            parts.append(f"output_padding {j(self.output_padding)}")
        if any(v != 1 for v in g.dilation):
            parts.append(f"dilation {j(g.dilation)}")
        return ", ".join(parts) + f" -> output {'x'.join(map(str, self.output_size))}"

    def example(
        self, weight: Tensor | None = None, x: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """The weight ``(*K)`` and input ``(*I)`` drawn: given, or ``1, 2, 3, ...`` row-major.

        >>> w, x = Settings.create(3, 2).example()
        >>> w.tolist(), x.tolist()
        ([1.0, 2.0], [1.0, 2.0, 3.0])
        """
        k, i = self.geometry.kernel_size, self.input_size
        w = _arange(k) if weight is None else weight.detach().to(torch.float64).reshape(k)
        v = _arange(i) if x is None else x.detach().to(torch.float64).reshape(i)
        return w, v


def _neg(geom: Geometry) -> list[int]:
    return [min(lo, hi, 0) for lo, hi in geom.crop]


def _arange(shape: tuple[int, ...]) -> Tensor:
    return torch.arange(1, math.prod(shape) + 1, dtype=torch.float64).reshape(shape)


def _transposed(s: Settings, x: Tensor, w: Tensor, geom: Geometry | None = None) -> Tensor:
    """tconv.conv_transpose of a batch ``(N, *I)`` of single-channel inputs -> ``(N, *O)``."""
    g = s.geometry if geom is None else geom
    y = conv_transpose(
        x.unsqueeze(1), w[None, None], stride=g.stride, padding=g.crop, dilation=g.dilation
    )
    return y.squeeze(1)


def _one_hots(s: Settings) -> Tensor:
    n = math.prod(s.input_size)
    return torch.eye(n, dtype=torch.float64).reshape(n, *s.input_size)


def _ints(t: Tensor) -> list[Any]:
    return t.round().to(torch.int64).tolist()


def matrix_data(
    s: Settings, weight: Tensor | None = None, x: Tensor | None = None
) -> dict[str, Any]:
    """The matrix view: the convolution matrix ``C``, ``Cᵀ`` and ``y = Cᵀ x``.

    ``C`` is the matrix of the ordinary convolution that this transposed convolution
    transposes (it maps the output size back to the input size, padding = the crop), from
    :func:`tconv.conv_matrix`. A negative crop (zero extension) has no convolution padding
    form; its ``C`` is built column by column as the transposed convolution of one-hot inputs
    with ``method="matrix"`` (which runs :func:`tconv.conv_matrix` inside).

    Args:
        s: the settings (:meth:`Settings.create`).
        weight: the kernel drawn, shape ``K`` (default ``1, 2, 3, ...`` row-major).
        x: the input drawn, shape ``I`` (default ``1, 2, 3, ...`` row-major).

    Shape:
        - weight: ``(*K)``; x: ``(*I)`` (one channel, no batch)
        - the lists returned: flat or nested in the spatial shapes named below

    Returns:
        ``C`` (``prod(I)`` rows x ``prod(O)`` columns), ``CT``, ``taps`` (the flat kernel tap
        index of each entry of ``C``, -1 where none), ``x`` and ``y`` (flat, row-major),
        ``input_size``, ``output_size``.

    Example:
        >>> d = matrix_data(Settings.create(2, 3, stride=2))
        >>> d["C"]
        [[1.0, 2.0, 3.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0, 3.0]]
        >>> d["y"]   # x = [1, 2]
        [1.0, 2.0, 5.0, 4.0, 6.0]
    """
    g = s.geometry
    w, v = s.example(weight, x)
    out = s.output_size
    taps_w = _arange(g.kernel_size)
    if all(lo >= 0 and hi >= 0 for lo, hi in g.crop):
        C = conv_matrix(w[None, None], out, g.stride, g.crop, g.dilation).to_dense()
        T = conv_matrix(taps_w[None, None], out, g.stride, g.crop, g.dilation).to_dense()
    else:
        eye = _one_hots(s)
        C = _matrix_rows(s, eye, w)
        T = _matrix_rows(s, eye, taps_w)
    y = C.t() @ v.reshape(-1)
    return {
        "input_size": list(s.input_size),
        "output_size": list(out),
        "C": C.tolist(),
        "CT": C.t().tolist(),
        "taps": _ints(T - 1),
        "x": v.reshape(-1).tolist(),
        "y": y.tolist(),
    }


def _matrix_rows(s: Settings, eye: Tensor, w: Tensor) -> Tensor:
    g = s.geometry
    y = conv_transpose(
        eye.unsqueeze(1),
        w[None, None],
        stride=g.stride,
        padding=g.crop,
        dilation=g.dilation,
        method="matrix",
    )
    return y.reshape(eye.shape[0], -1)


def zero_insertion_data(
    s: Settings, weight: Tensor | None = None, x: Tensor | None = None
) -> dict[str, Any]:
    """The zero-insertion view, from the dilate method's own steps.

    Args:
        s: the settings (:meth:`Settings.create`).
        weight: the kernel drawn, shape ``K`` (default ``1, 2, 3, ...`` row-major).
        x: the input drawn, shape ``I`` (default ``1, 2, 3, ...`` row-major).

    Shape:
        - weight: ``(*K)``; x: ``(*I)`` (one channel, no batch)
        - the lists returned: flat or nested in the spatial shapes named below

    Returns:
        ``inserted`` (the input with ``stride - 1`` zeros between elements), ``padded`` (with
        the implicit border), ``kind`` (per padded cell: the input index it holds, -1 an
        inserted zero, -2 a border zero), ``flipped`` (the flipped kernel), ``border``
        (``(begin, end)`` zeros per dimension; negative = cropped), ``reads`` (per output
        position, the padded cell each flipped-kernel tap reads, taps row-major) and
        ``output``; nested lists in the spatial shape (flat for ``reads``' first level).

    Example:
        >>> d = zero_insertion_data(Settings.create(2, 3, stride=2, padding=1))
        >>> d["kind"], d["border"], d["output"]
        ([-2, 0, -1, 1, -2], [[1, 1]], [2.0, 5.0, 4.0])
        >>> d["reads"][0]
        [0, 1, 2]
    """
    g = s.geometry
    w, v = s.example(weight, x)
    st = dilate.steps(v[None, None], w[None, None], g)
    n = math.prod(s.input_size)
    index = torch.arange(1, n + 1, dtype=torch.float64).reshape(1, 1, *s.input_size)
    held = dilate.steps(index, w[None, None], g).padded[0, 0]
    region = dilate._pad_or_crop(torch.ones_like(st.inserted), dilate.border(g))[0, 0]
    kind = torch.where(held > 0, held - 1, torch.where(region > 0, -1.0, -2.0))
    # which padded cell each tap reads: convolve the cells' own positions with one-hot taps
    padded_shape = tuple(st.padded.shape[2:])
    positions = torch.arange(math.prod(padded_shape), dtype=torch.float64).reshape(
        1, 1, *padded_shape
    )
    K = math.prod(g.kernel_size)
    one_hot = torch.eye(K, dtype=torch.float64).reshape(K, 1, *g.kernel_size)
    conv = torch.nn.functional.conv1d if g.rank == 1 else torch.nn.functional.conv2d
    reads = conv(positions, one_hot, None, 1, 0, g.dilation)[0]  # (K, *O)
    reads = reads.reshape(K, -1).t()
    return {
        "x": v.reshape(-1).tolist(),
        "inserted": st.inserted[0, 0].tolist(),
        "padded": st.padded[0, 0].tolist(),
        "kind": _ints(kind),
        "flipped": st.flipped[0, 0].tolist(),
        "border": [list(p) for p in dilate.border(g)],
        "reads": _ints(reads),
        "output": st.output[0, 0].tolist(),
    }


def scatter_data(
    s: Settings, weight: Tensor | None = None, x: Tensor | None = None
) -> dict[str, Any]:
    """The scatter view: each input element paints ``x[j] * w`` into the full output.

    Args:
        s: the settings (:meth:`Settings.create`).
        weight: the kernel drawn, shape ``K`` (default ``1, 2, 3, ...`` row-major).
        x: the input drawn, shape ``I`` (default ``1, 2, 3, ...`` row-major).

    Shape:
        - weight: ``(*K)``; x: ``(*I)`` (one channel, no batch)
        - the lists returned: flat or nested in the spatial shapes named below

    Returns:
        ``full_size``; ``footprints`` (per input element, row-major, the full output it paints),
        ``taps`` (per input element, the kernel tap that lands on each full cell, -1 none),
        ``full`` (their sum), ``counts`` (how many taps reach each full cell: the overlap map),
        ``crop`` (``(lo, hi)`` per dimension: the output is ``full[lo : L - hi]``, a negative
        crop extends with zeros), ``extra`` (per dimension, how many cells at the end of the
        output ``output_padding`` / ``output_size`` added; they are marked), ``phase_overlap``
        (:func:`tconv.artifacts.overlap`) and ``output`` (:func:`tconv.conv_transpose`).

    Example:
        >>> d = scatter_data(Settings.create(2, 3, stride=2, padding=1, output_padding=1))
        >>> d["full"], d["crop"], d["extra"], d["output"]
        ([1.0, 2.0, 5.0, 4.0, 6.0], [[1, 0]], [1], [2.0, 5.0, 4.0, 6.0])
    """
    g = s.geometry
    w, v = s.example(weight, x)
    full_geom = g.with_crop(((0, 0),) * g.rank)
    eye = _one_hots(s)
    footprints = _transposed(s, eye * v.reshape(-1, *([1] * g.rank)), w, full_geom)
    taps = _transposed(s, eye, _arange(g.kernel_size), full_geom) - 1
    counts = _transposed(s, torch.ones_like(v)[None], torch.ones_like(w), full_geom)[0]
    output = _transposed(s, v[None], w)[0]
    base = s.base._raw_output_size(s.input_size)
    return {
        "full_size": list(s.full_size),
        "x": v.reshape(-1).tolist(),
        "footprints": footprints.reshape(len(eye), -1).tolist(),
        "taps": _ints(taps.reshape(len(eye), -1)),
        "full": footprints.sum(0).tolist(),
        "counts": _ints(counts),
        "crop": [list(c) for c in g.crop],
        "extra": [o - b for o, b in zip(s.output_size, base)],
        "phase_overlap": overlap(g.kernel_size, g.stride, g.dilation).tolist(),
        "output": output.tolist(),
    }


def explain_data(
    s: Settings, weight: Tensor | None = None, x: Tensor | None = None
) -> dict[str, Any]:
    """All views and the sizes, as one JSON-ready dict (``tconv explain --json``).

    Args:
        s: the settings (:meth:`Settings.create`).
        weight: the kernel drawn, shape ``K`` (default ``1, 2, 3, ...`` row-major).
        x: the input drawn, shape ``I`` (default ``1, 2, 3, ...`` row-major).

    Shape:
        - weight: ``(*K)``; x: ``(*I)`` (one channel, no batch)
        - the lists returned: flat or nested in the spatial shapes named below

    Returns:
        ``settings`` (a label), ``input_size``, ``kernel_size``, ``stride``, ``dilation``,
        ``crop``, ``full_size``, ``output_size``, ``formula`` (:meth:`Geometry.explain`),
        ``coverage`` (:meth:`Geometry.coverage`: ``full``, ``uncovered`` cells, ``cells``,
        ``warning``, None when every output cell receives input), ``weight``, ``input``, and
        the three views: ``matrix``, ``zero_insertion``, ``scatter``.

    Example:
        >>> d = explain_data(Settings.create(16, 3, stride=2, padding=1, output_padding=1))
        >>> d["formula"], d["output_size"]
        (['(16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32'], [32])
        >>> explain_data(Settings.create(4, 2, stride=2, output_padding=1))["coverage"]["uncovered"]
        1
    """
    g = s.geometry
    w, v = s.example(weight, x)
    coverage = g.coverage(s.input_size)
    return {
        "settings": s.describe(),
        "input_size": list(s.input_size),
        "kernel_size": list(g.kernel_size),
        "stride": list(g.stride),
        "dilation": list(g.dilation),
        "crop": [list(c) for c in g.crop],
        "full_size": list(s.full_size),
        "output_size": list(s.output_size),
        "formula": list(g.explain(s.input_size)),
        "coverage": {
            "full": coverage.full,
            "uncovered": coverage.uncovered,
            "cells": coverage.cells,
            "warning": coverage.describe() or None,
        },
        "weight": w.tolist(),
        "input": v.tolist(),
        "matrix": matrix_data(s, weight, x),
        "zero_insertion": zero_insertion_data(s, weight, x),
        "scatter": scatter_data(s, weight, x),
    }


# ---------------------------------------------------------------------------------------------
# checkerboards: the upsamplers of the picture and their measured responses


def default_upsamplers() -> dict[str, torch.nn.Module]:
    """The four 2x upsamplers of the checkerboard picture (:mod:`tconv.upsamplers`), single
    channel, seeded.

    ``k3 s2`` and ``k4 s2`` transposed convolutions (padding 1, output_padding 1 / 0), a
    resize-convolution (nearest 2x, then 3x3 conv) and a sub-pixel convolution (3x3 conv to the
    4 phases + pixel shuffle), each with every tap set to one constant so that only their
    structure differs: the overlap of the transposed ones, the same kernel for every phase of
    the sub-pixel one (what ICNR initialisation gives; a random sub-kernel would show its
    own blur and shift, not the upsampler's).
    """
    with torch.random.fork_rng():  # seeded, without touching the caller's generator
        torch.manual_seed(0)
        k3, k4, resize, subpixel = (
            build(name, 1, 1, 2, bias=False)
            for name in ("transposed_k3", "transposed_k4", "resize_conv", "subpixel")
        )
    with torch.no_grad():
        for layer, taps in ((k3, 9), (k4, 16)):  # average gain 1 per output (4 cells per input)
            assert isinstance(layer.weight, Tensor)
            layer.weight.fill_(4 / taps)
        for block in (resize, subpixel):  # gain 1: a 3x3 mean (the sub-pixel's 4 phases alike)
            for conv in block.modules():
                if isinstance(conv, torch.nn.Conv2d):
                    conv.weight.fill_(1 / 9)
    return {
        "transposed k3 s2 (uneven overlap)": k3,
        "transposed k4 s2 (even overlap)": k4,
        "resize-conv (nearest + 3x3)": resize,
        "sub-pixel, ICNR init": subpixel,
    }


def with_layer(s: Settings) -> dict[str, torch.nn.Module]:
    """:func:`default_upsamplers` and the layer of ``s`` (2-D; a 1-D setting on both
    dimensions), every tap set to one constant so that only its overlap shows.

    Args:
        s: the settings of the layer to add.

    Returns:
        name -> module, for :func:`checkerboard_figure`.

    Example:
        >>> list(with_layer(Settings.create(4, 3, stride=2)))[0]
        'this layer: kernel 3, stride 2, crop (0, 0)'
    """
    g = s.geometry
    pick = (lambda t: t) if g.rank == 2 else (lambda t: (t[0], t[0]))
    k, st, d = pick(g.kernel_size), pick(g.stride), pick(g.dilation)
    crop = pick(g.crop)
    layer = ConvTranspose2d(1, 1, k, stride=st, padding=crop, dilation=d, bias=False)
    with torch.no_grad():
        layer.weight.fill_(math.prod(st) / math.prod(k))
    name = (
        f"this layer: kernel {_dims(g.kernel_size)}, stride {_dims(g.stride)}, "
        f"crop {', '.join(str(c) for c in g.crop)}"
    )
    if any(v != 1 for v in g.dilation):
        name += f", dilation {_dims(g.dilation)}"
    return {name: layer, **default_upsamplers()}


def _dims(v: Sequence[int]) -> str:
    return "x".join(map(str, v)) if len(set(v)) > 1 else str(v[0])


def checkerboard_data(
    modules: Mapping[str, torch.nn.Module | Callable[[Tensor], Tensor]] | None = None,
    size: int | Sequence[int] = 12,
) -> dict[str, Any]:
    """Each module's response to a constant input and to a smooth image, and its scores.

    Args:
        modules: name -> module or function of ``(N, 1, *S)`` (default
            :func:`default_upsamplers`).
        size: the input's spatial size (an int: square 2-D).

    Returns:
        per name: ``constant`` and ``smooth`` (the responses, 2-D lists), ``score``
        (:func:`tconv.artifacts.checkerboard_score`) and ``spectrum``
        (:func:`tconv.artifacts.checkerboard_spectrum`).
    """
    chosen: dict[str, Any] = dict(default_upsamplers() if modules is None else modules)
    spatial = (size, size) if isinstance(size, int) else tuple(size)
    shape = (1, 1, *spatial)
    result: dict[str, Any] = {"input_size": list(spatial), "layers": {}}
    smooth = smooth_input(shape, seed=0, dtype=torch.float32)
    for name, m in chosen.items():
        with evaluating(m):
            const = m(torch.ones(shape)) - m(torch.zeros(shape))
            smooth_y = m(smooth) - m(torch.zeros(shape))
        result["layers"][name] = {
            "constant": const[0, 0].double().tolist(),
            "smooth": smooth_y[0, 0].double().tolist(),
            "score": checkerboard_score(m, shape),
            "spectrum": checkerboard_spectrum(m, shape),
        }
    result["smooth_input"] = smooth[0, 0].double().tolist()
    return result
