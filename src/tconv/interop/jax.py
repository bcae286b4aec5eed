"""``jax.lax.conv_transpose`` and ``flax.linen.ConvTranspose`` <-> tconv, exactly.

JAX's conventions (checked against jax and flax in ``tests/conformance/test_jax.py``; the
padding rule is ``jax._src.lax.convolution._conv_transpose_padding``):

- ``lax.conv_transpose`` is a stride-1 correlation of the input dilated by ``strides`` with
  ``rhs``, padded by ``padding`` pairs (``(a, b)`` per dimension; negative values crop). With the
  dilated kernel span ``K = d * (k - 1) + 1``, that is the full transposed convolution cropped by
  ``(K - 1 - a, K - 1 - b)``; a negative crop extends with zeros.
- ``"SAME"``: output ``i * s``, the odd extra crop at the end, zero extension at the end when
  ``K < s`` (tconv ``"same"``). ``"VALID"``: the full output, zero-extended at the end to
  ``(i - 1) * s + s`` when ``K < s`` (tconv ``"valid"``). Lower-case names are refused by JAX.
- With ``use_consistent_padding=True`` (newer JAX), pairs are PyTorch-style crops ``(a, b)``.
- ``transpose_kernel=False`` (the default, and Flax's): the kernel is applied as a correlation,
  so the tconv/PyTorch weight is ``rhs`` with O/I swapped and **every spatial axis flipped**.
  ``transpose_kernel=True``: JAX flips and swaps itself, so the weight is ``rhs`` with its
  "O" axis as ``in_channels`` and its "I" axis as ``out_channels``, **no flip** (Keras layout).
- There is no ``feature_group_count``: groups must be 1; no bias.
- ``dimension_numbers`` default to channels-last (``NHC/HIO``, ``NHWC/HWIO``,
  ``NHWDC/HWDIO``). Spatial dimension ``j`` is the ``j``-th spatial letter of the spec; the
  module takes ``lhs.transpose(lhs_spec)`` (channels-first) and returns
  ``out.transpose(out_spec)``.

Flax's ``nn.ConvTranspose`` is ``lax.conv_transpose`` on channels-last input with the kernel
``(*kernel_size, in, features)`` (``(*kernel_size, features, in)`` with
``transpose_kernel=True``), plus a bias, an optional ``mask`` multiplied into the kernel, and a
``"CIRCULAR"`` padding that wraps the ``"VALID"`` output around a period of ``i * s``: tconv
``padding="same"`` (``"same_lower"`` with ``transpose_kernel=True``) with
``padding_mode="circular"``.

JAX and Flax are imported only inside the functions that need them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..modules import geometry_of
from ..shapes import Geometry, ShapeError
from . import _build, _parameters

__all__ = ["from_flax", "from_lax", "lax_crop", "to_flax", "to_lax"]

#: ``lax.conv_transpose``'s default ``dimension_numbers`` per spatial rank (channels-last).
DEFAULT_DIMENSION_NUMBERS = {
    1: ("NHC", "HIO", "NHC"),
    2: ("NHWC", "HWIO", "NHWC"),
    3: ("NHWDC", "HWDIO", "NHWDC"),
}
_SPATIAL = {1: "H", 2: "HW", 3: "DHW"}


def _import_jax() -> Any:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    return jax


def lax_crop(
    padding: Any,
    kernel_size: int,
    stride: int,
    dilation: int = 1,
    *,
    use_consistent_padding: bool = False,
) -> tuple[int, int]:
    """The crop ``(lo, hi)`` of the full output that ``lax.conv_transpose`` applies in one
    dimension, for ``padding`` ``"SAME"``, ``"VALID"`` or one ``(a, b)`` pair.

    Args:
        padding: ``"SAME"``, ``"VALID"`` (upper case, as lax) or one ``(low, high)`` pair.
        kernel_size: kernel length.
        stride: stride.
        dilation: the kernel (``rhs``) dilation.
        use_consistent_padding: lax's flag: the pair is the crop itself instead of the pads
            of the dilated input.

    Returns:
        ``(lo, hi)``; a negative value extends the output with zeros.

    Raises:
        ShapeError: for an unknown padding name, a pair that is not two ints, or invalid
            settings.

    Example:
        >>> lax_crop("SAME", 3, 2)
        (0, 1)
        >>> lax_crop("VALID", 1, 3)
        (0, -2)
        >>> lax_crop((1, 2), 3, 2)        # pads of the dilated input: crop (K - 1 - a, K - 1 - b)
        (1, 0)
        >>> lax_crop((1, 2), 3, 2, use_consistent_padding=True)
        (1, 2)
    """
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ShapeError(
                f"padding={padding!r} is invalid: lax.conv_transpose accepts 'SAME', 'VALID' "
                "(upper case) or (low, high) pairs"
            )
        return Geometry.create(kernel_size, stride, padding.lower(), 0, dilation, rank=1).crop[0]
    pair = tuple(padding)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ShapeError(f"padding pair {padding!r} is invalid: expected (low, high) ints")
    a, b = int(pair[0]), int(pair[1])
    if use_consistent_padding:
        return (a, b)
    span = Geometry.create(kernel_size, stride, 0, 0, dilation, rank=1).span[0]
    return (span - 1 - a, span - 1 - b)


def _dimension_numbers(rank: int, dimension_numbers: Any) -> Any:
    jax = _import_jax()
    dn = dimension_numbers if dimension_numbers is not None else DEFAULT_DIMENSION_NUMBERS[rank]
    shape = (1,) * (rank + 2)
    return jax.lax.conv_dimension_numbers(shape, shape, dn)


def _per_dim(value: Any, rank: int, name: str) -> tuple[int, ...]:
    if value is None:
        return (1,) * rank
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    items = tuple(int(v) for v in value)
    if len(items) != rank:
        raise ShapeError(f"{name}={value!r} is invalid: expected {rank} ints")
    return items


def from_lax(
    rhs: Any,
    strides: Sequence[int],
    padding: Any,
    *,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    transpose_kernel: bool = False,
    use_consistent_padding: bool = False,
) -> torch.nn.Module:
    """A tconv module equal to ``jax.lax.conv_transpose(lhs, rhs, strides, padding, ...)``.

    Args:
        rhs: the kernel (a jax or numpy array) laid out as ``dimension_numbers`` say.
        strides: one stride per spatial dimension, as in ``lax.conv_transpose``.
        padding: ``"SAME"``, ``"VALID"`` or one ``(low, high)`` pair per spatial dimension.
        rhs_dilation: kernel dilation per dimension (None: 1).
        dimension_numbers: as in ``lax.conv_transpose`` (None: channels last, ``NHWC``,
            ``HWIO``).
        transpose_kernel: as in ``lax.conv_transpose``.
        use_consistent_padding: as in ``lax.conv_transpose`` (see :func:`lax_crop`).

    Returns:
        A bias-free :class:`tconv.nn.ConvTranspose1d`/``2d``/``3d`` (float dtype of ``rhs``)
        that takes channels-first input: ``module(x)`` with ``x = lhs.transpose(lhs_spec)``
        equals ``lax.conv_transpose(lhs, ...).transpose(out_spec)``; for the default
        channels-last numbers, ``module(x.movedim(-1, 1)).movedim(1, -1)``.

    Shape:
        - rhs: ``(*kernel_size, in, out)`` for the default numbers (``transpose_kernel=True``:
          ``(*kernel_size, out, in)``)
        - module weight: ``(in, out, *kernel_size)``

    Raises:
        ShapeError: for an ``rhs`` without 1 to 3 spatial dimensions, a padding that is not a
            name or one pair per dimension, or invalid settings.

    Example:
        >>> rhs = np.random.default_rng(0).standard_normal((3, 3, 2, 4)).astype("float32")
        >>> m = from_lax(rhs, (2, 2), "SAME")    # rhs (3, 3, cin, cout), HWIO
        >>> m
        ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=same, bias=False)
        >>> import jax
        >>> x = np.random.default_rng(1).standard_normal((1, 5, 5, 2)).astype("float32")
        >>> y = np.asarray(jax.lax.conv_transpose(x, rhs, (2, 2), "SAME"))
        >>> ours = m(torch.from_numpy(x).movedim(-1, 1)).movedim(1, -1)
        >>> y.shape, bool(np.allclose(y, ours.detach().numpy(), atol=1e-5))
        ((1, 10, 10, 4), True)
    """
    kernel = np.asarray(rhs)
    rank = kernel.ndim - 2
    if rank not in (1, 2, 3):
        raise ShapeError(
            f"rhs of shape {kernel.shape} is invalid: tconv supports 1, 2 or 3 spatial dimensions"
        )
    dn = _dimension_numbers(rank, dimension_numbers)
    oi = np.transpose(kernel, dn.rhs_spec)  # (O, I, *k), spatial in the spec's order
    if transpose_kernel:
        weight = oi  # JAX flips and swaps itself: O is tconv's in, I is tconv's out
    else:
        weight = np.flip(np.swapaxes(oi, 0, 1), axis=tuple(range(2, rank + 2)))
    kernel_size = tuple(int(v) for v in weight.shape[2:])
    stride = _per_dim(strides, rank, "strides")
    dilation = _per_dim(rhs_dilation, rank, "rhs_dilation")
    name: str | None = None
    if isinstance(padding, str):
        crop = tuple(
            lax_crop(padding, k, s, d)
            for k, s, d in zip(kernel_size, stride, dilation, strict=True)
        )
        name = padding.lower()
    else:
        pairs = list(padding)
        if len(pairs) != rank:
            raise ShapeError(
                f"padding={padding!r} is invalid: expected 'SAME', 'VALID' or {rank} (low, high) "
                "pairs"
            )
        crop = tuple(
            lax_crop(p, k, s, d, use_consistent_padding=use_consistent_padding)
            for p, k, s, d in zip(pairs, kernel_size, stride, dilation, strict=True)
        )
    geometry = Geometry.create(kernel_size, stride, crop, 0, dilation, rank=rank)
    tensor = torch.from_numpy(weight.copy())
    return _build(geometry, tensor, None, padding=name)


def _lax_padding(geometry: Geometry) -> Any:
    for name in ("same", "valid"):
        named = Geometry.create(
            geometry.kernel_size, geometry.stride, name, 0, geometry.dilation, rank=geometry.rank
        )
        if named.crop == geometry.crop:
            return name.upper()
    return tuple(
        (k - 1 - lo, k - 1 - hi) for k, (lo, hi) in zip(geometry.span, geometry.crop, strict=True)
    )


def _check_for_jax(geometry: Geometry, what: str) -> None:
    if geometry.groups != 1:
        raise ShapeError(
            f"groups={geometry.groups} cannot be expressed by {what}: it has no "
            "feature_group_count (only groups=1)"
        )
    if geometry.padding_mode != "zeros":
        raise ShapeError(
            f"padding_mode={geometry.padding_mode!r} cannot be expressed by {what}: it only pads "
            "with zeros"
        )


def _jax_kernel(weight: torch.Tensor, transpose_kernel: bool) -> np.ndarray:
    """The ``(O, I, *k)`` kernel (spec order) that lax applies as ``weight``."""
    w = weight.numpy()
    rank = w.ndim - 2
    if transpose_kernel:
        return w
    return np.flip(np.swapaxes(w, 0, 1), axis=tuple(range(2, rank + 2))).copy()


def to_lax(
    module: torch.nn.Module,
    *,
    channels_last: bool = False,
    transpose_kernel: bool = False,
    with_bias: bool = False,
) -> dict[str, Any]:
    """The ``jax.lax.conv_transpose`` keyword arguments (``rhs`` included) of ``module``.

    ``lax.conv_transpose(lhs, **to_lax(module))`` equals ``module(lhs)`` for channels-first
    ``lhs`` (``channels_last=True``: ``module(lhs.movedim(-1, 1)).movedim(1, -1)``).

    Args:
        module: a tconv or torch ``ConvTranspose{1,2,3}d`` with groups=1 and zeros padding.
        channels_last: ``dimension_numbers`` channels-last (``NHWC``/``HWIO``, JAX's default
            layout) instead of channels-first (``NCHW``/``OIHW``).
        transpose_kernel: pass ``transpose_kernel=True`` (then ``rhs`` is the module's weight,
            unflipped, with its ``in`` axis labelled "O").
        with_bias: ``lax.conv_transpose`` has no bias; a module with a bias raises unless this
            is True, and then the bias (a numpy array) comes under the key ``"bias"``, to be
            added on the channel axis by the caller (pop it before calling lax).

    Raises:
        ShapeError: for groups > 1 or a non-zeros ``padding_mode``; ValueError for a bias
            without ``with_bias=True``.

    Shape:
        - rhs: ``(out, in, *kernel_size)`` (channels-first), ``(*kernel_size, in, out)``
          (channels-last); the spatial axes are flipped unless ``transpose_kernel=True``.

    Example:
        >>> from tconv.nn import ConvTranspose2d
        >>> kw = to_lax(ConvTranspose2d(3, 8, 3, stride=2, padding=1, bias=False))
        >>> kw["rhs"].shape, kw["strides"], kw["padding"], kw["dimension_numbers"]
        ((8, 3, 3, 3), (2, 2), ((1, 1), (1, 1)), ('NCHW', 'OIHW', 'NCHW'))
    """
    geometry = geometry_of(module)
    _check_for_jax(geometry, "jax.lax.conv_transpose")
    rank = geometry.rank
    weight, bias = _parameters(module)
    if bias is not None and not with_bias:
        raise ValueError(
            "the module has a bias, which lax.conv_transpose has no argument for: pass "
            "with_bias=True to get it under the key 'bias' and add it to the output yourself"
        )
    oi = _jax_kernel(weight, transpose_kernel)
    sp = _SPATIAL[rank]
    if channels_last:
        rhs = np.transpose(oi, (*range(2, rank + 2), 1, 0))
        dn = (f"N{sp}C", f"{sp}IO", f"N{sp}C")
    else:
        rhs = oi
        dn = (f"NC{sp}", f"OI{sp}", f"NC{sp}")
    result: dict[str, Any] = {
        "rhs": np.ascontiguousarray(rhs),
        "strides": geometry.stride,
        "padding": _lax_padding(geometry),
        "rhs_dilation": geometry.dilation,
        "dimension_numbers": dn,
        "transpose_kernel": transpose_kernel,
    }
    if with_bias and bias is not None:
        result["bias"] = bias.numpy()
    return result


# ---------------------------------------------------------------------------------------------
# Flax


def _flax_padding(padding: Any, rank: int) -> Any:
    """Flax's ``canonicalize_padding``: a string, or ``rank`` (low, high) pairs."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, (int, np.integer)):
        return ((int(padding),) * 2,) * rank
    items = list(padding)
    if len(items) == rank:
        pairs = []
        for p in items:
            if isinstance(p, (int, np.integer)):
                pairs.append((int(p), int(p)))
            elif isinstance(p, Sequence) and len(p) == 2:
                pairs.append((int(p[0]), int(p[1])))
            else:
                break
        else:
            return tuple(pairs)
    raise ShapeError(
        f"padding={padding!r} is invalid: Flax takes a string, an int, or {rank} ints / "
        "(low, high) pairs"
    )


def from_flax(layer: Any, params: Any) -> torch.nn.Module:
    """A tconv module equal to ``flax.linen.ConvTranspose`` ``layer`` with ``params``.

    Args:
        layer: the ``flax.linen.ConvTranspose`` (its settings: ``kernel_size``, ``strides``,
            ``padding`` incl. ``"CIRCULAR"``, ``kernel_dilation``, ``use_bias``, ``mask``,
            ``transpose_kernel``).
        params: the variables ``{"params": {"kernel": ..., "bias": ...}}`` from ``layer.init``,
            the inner ``{"kernel": ..., "bias": ...}``, or the kernel array alone (no bias).

    Returns:
        A :class:`tconv.nn.ConvTranspose1d`/``2d``/``3d`` taking channels-first input:
        ``module(x.movedim(-1, 1)).movedim(1, -1)`` equals ``layer.apply(variables, x)``.

    Shape:
        - Flax kernel: ``(*kernel_size, in, features)`` (``transpose_kernel=True``:
          ``(*kernel_size, features, in)``)
        - module weight: ``(in, features, *kernel_size)``

    Raises:
        ShapeError: for a kernel that does not match the layer's ``kernel_size``, or settings
            tconv cannot take.
        ValueError: for a layer with ``use_bias=True`` whose params hold no bias.

    Example:
        >>> import flax.linen as fnn, jax
        >>> layer = fnn.ConvTranspose(features=3, kernel_size=(4,), strides=(2,), padding="SAME")
        >>> variables = layer.init(jax.random.key(0), np.zeros((1, 6, 2), "float32"))
        >>> m = from_flax(layer, variables)
        >>> m
        ConvTranspose1d(2, 3, kernel_size=(4,), stride=(2,), padding=same)
        >>> x = np.random.default_rng(2).standard_normal((1, 6, 2)).astype("float32")
        >>> y = np.asarray(layer.apply(variables, x))
        >>> ours = m(torch.from_numpy(x).movedim(-1, 1)).movedim(1, -1).detach().numpy()
        >>> bool(np.allclose(y, ours, atol=1e-5))
        True
    """
    if isinstance(params, Mapping):
        inner = params.get("params", params)
        kernel = np.array(inner["kernel"])
        bias = None if inner.get("bias") is None else np.array(inner["bias"])
    else:
        kernel, bias = np.array(params), None
    rank = kernel.ndim - 2
    kernel_size = (
        tuple(layer.kernel_size) if not isinstance(layer.kernel_size, int) else (layer.kernel_size,)
    )
    if kernel.shape[:rank] != kernel_size:
        raise ShapeError(
            f"kernel of shape {kernel.shape} does not match the layer's kernel_size={kernel_size}"
        )
    if getattr(layer, "mask", None) is not None:
        kernel = kernel * np.asarray(layer.mask)
    if layer.use_bias and bias is None:
        raise ValueError("the layer has use_bias=True but params hold no 'bias'")
    if not layer.use_bias:
        bias = None
    strides = _per_dim(layer.strides, rank, "strides")
    dilation = _per_dim(layer.kernel_dilation, rank, "kernel_dilation")
    padding = _flax_padding(layer.padding, rank)
    circular = padding == "CIRCULAR"
    module = from_lax(
        kernel,
        strides,
        "VALID" if circular else padding,
        rhs_dilation=dilation,
        transpose_kernel=bool(layer.transpose_kernel),
    )
    geometry = geometry_of(module)
    name: str | None = None
    if circular:
        name = "same_lower" if layer.transpose_kernel else "same"
        geometry = Geometry.create(
            geometry.kernel_size,
            geometry.stride,
            name,
            0,
            geometry.dilation,
            padding_mode="circular",
            rank=rank,
        )
    elif isinstance(padding, str):
        name = padding.lower()
    b = None if bias is None else torch.from_numpy(np.array(bias))
    return _build(geometry, _parameters(module)[0], b, padding=name)


def to_flax(module: torch.nn.Module, *, transpose_kernel: bool = False) -> tuple[Any, dict]:
    """``(layer, variables)``: a ``flax.linen.ConvTranspose`` and its variables equal to
    ``module``; ``layer.apply(variables, x)`` equals ``module(x.movedim(-1, 1)).movedim(1, -1)``.

    ``padding_mode="circular"`` with the ``"same"`` crop (``"same_lower"`` with
    ``transpose_kernel=True``) becomes Flax's ``"CIRCULAR"``.

    Args:
        module: a tconv or torch ``ConvTranspose{1,2,3}d``.
        transpose_kernel: make a layer with ``transpose_kernel=True`` (its kernel is then
            the module's weight, unflipped).

    Returns:
        ``(layer, variables)`` with ``variables = {"params": {"kernel": ..., "bias": ...}}``.

    Raises:
        ShapeError: for groups > 1 or another non-zeros ``padding_mode``.

    Shape:
        - module weight: ``(in, features, *kernel_size)``
        - Flax kernel: ``(*kernel_size, in, features)`` (``transpose_kernel=True``:
          ``(*kernel_size, features, in)``)

    Example:
        >>> import tconv
        >>> module = tconv.nn.ConvTranspose1d(2, 3, 4, stride=2, padding=1)
        >>> layer, variables = to_flax(module)
        >>> type(layer).__name__, layer.strides, layer.padding
        ('ConvTranspose', (2,), 'SAME')
        >>> x = np.random.default_rng(2).standard_normal((1, 6, 2)).astype("float32")
        >>> y = np.asarray(layer.apply(variables, x))
        >>> ours = module(torch.from_numpy(x).movedim(-1, 1)).movedim(1, -1).detach().numpy()
        >>> y.shape, bool(np.allclose(y, ours, atol=1e-5))
        ((1, 12, 3), True)
    """
    geometry = geometry_of(module)
    rank = geometry.rank
    padding: Any
    if geometry.padding_mode == "circular":
        name = "same_lower" if transpose_kernel else "same"
        named = Geometry.create(
            geometry.kernel_size, geometry.stride, name, 0, geometry.dilation, rank=rank
        )
        if named.crop != geometry.crop or geometry.groups != 1:
            raise ShapeError(
                f"padding_mode='circular' with crop {geometry.crop} cannot be expressed by "
                f"flax.linen.ConvTranspose: its 'CIRCULAR' padding is tconv's circular "
                f"padding={name!r} (crop {named.crop}) with groups=1"
            )
        padding = "CIRCULAR"
    else:
        _check_for_jax(geometry, "flax.linen.ConvTranspose")
        padding = _lax_padding(geometry)
    import flax.linen as fnn

    weight, bias = _parameters(module)
    oi = _jax_kernel(weight, transpose_kernel)
    kernel = np.ascontiguousarray(np.transpose(oi, (*range(2, rank + 2), 1, 0)))
    layer = fnn.ConvTranspose(
        features=int(weight.shape[1]),
        kernel_size=geometry.kernel_size,
        strides=geometry.stride,
        padding=padding if isinstance(padding, str) else list(padding),
        kernel_dilation=geometry.dilation,
        use_bias=bias is not None,
        transpose_kernel=transpose_kernel,
        param_dtype=kernel.dtype,
    )
    params: dict[str, Any] = {"kernel": kernel}
    if bias is not None:
        params["bias"] = bias.numpy()
    return layer, {"params": params}
