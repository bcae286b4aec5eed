"""Functional transposed convolution: validate once, then dispatch to a method.

Every method computes the same thing, ``full[lo : L - hi]`` of the geometry in
:mod:`tconv.shapes`; they differ only in how (see :mod:`tconv.methods`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from . import methods as _methods
from .cache_keys import UNHASHABLE, freeze_args, lru_cache
from .methods import METHODS, Method
from .methods import auto as _auto
from .methods import native as _native
from .shapes import Geometry, IntOrTuple, PaddingMode, PaddingSpec, ShapeRuntimeError, spatial_size
from .shuffle import pixel_shuffle, pixel_unshuffle

__all__ = ["METHODS", "DtypeError", "Method", "conv_transpose", "pixel_shuffle", "pixel_unshuffle"]


class DtypeError(TypeError, RuntimeError):
    """Input, weight and bias of different dtypes.

    A ``TypeError`` in tconv's taxonomy (a wrong type), and a ``RuntimeError`` as torch raises
    it for the same call (``expected scalar type Double but found Float``), so code written
    against torch keeps catching it. The message names each tensor's dtype.

    Example:
        >>> try:
        ...     conv_transpose(torch.zeros(1, 2, 5, dtype=torch.float64), torch.zeros(2, 3, 3))
        ... except RuntimeError as err:
        ...     print(type(err).__name__, isinstance(err, TypeError))
        DtypeError True
    """


def conv_transpose(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    *,
    output_size: IntOrTuple | None = None,
    padding_mode: PaddingMode = "zeros",
    allow_crop: bool = False,
    method: Method = "native",
) -> Tensor:
    """Transposed convolution in 1, 2 or 3 spatial dimensions, computed by any exact method.

    The spatial rank is ``weight.dim() - 2``. Arguments mean what they mean in
    ``torch.nn.functional.conv_transpose{1,2,3}d``, and more:

    Args:
        input: the input, batched or not.
        weight: the kernel, in torch's transposed layout (no flip).
        bias: added to every output channel; None for no bias.
        stride: an int or one per spatial dimension (the upsampling factor).
        padding: an int or tuple (crop ``p`` at both ends, as in PyTorch), ``"valid"`` (the
            full output), ``"same"`` (output = input * stride, odd extra crop at the end, as in
            TensorFlow/Keras/JAX and ONNX SAME_UPPER), ``"same_lower"`` (odd extra crop at the
            start, ONNX SAME_LOWER) or ``(begin, end)`` pairs per dimension (negative values
            extend with zeros). A name fixes the output size, so it refuses a non-zero
            ``output_padding`` (use ``output_size=`` or explicit pairs instead).
        output_padding: shortens the end crop (PyTorch's meaning), each smaller than
            ``max(stride, dilation)``.
        groups: blocked connections from input to output channels, as in PyTorch.
        dilation: spacing between kernel taps, an int or one per spatial dimension.
        output_size: the exact spatial output size: ``rank`` entries, or the whole output
            shape (``(N, C, *spatial)``, or ``(C, *spatial)`` for an unbatched input, of which
            the spatial ones are used) as PyTorch's modules accept, or one int for every
            spatial dimension; chooses the output_padding (replacing the
            ``output_padding`` argument, as PyTorch's modules do), or with ``allow_crop=True``
            crops/extends the end.
        padding_mode: ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``; a non-zeros
            mode is the exact adjoint of ``torch.nn.ConvNd`` with that padding and mode.
        allow_crop: with ``output_size``, reach any size by cropping or zero-extending the
            end, beyond the output_padding range.
        method: one of :data:`METHODS`, all exact (the registry, :mod:`tconv.methods`, says
            how each computes).

    Returns:
        The output, batched as the input was.

    Shape:
        - input: ``(N, C_in, *I)`` or unbatched ``(C_in, *I)``
        - weight: ``(C_in, C_out // groups, *K)``
        - bias: ``(C_out,)``
        - output: ``(N, C_out, *O)``,
          ``O = (I - 1) * stride - lo - hi + dilation * (K - 1) + 1`` (see :mod:`tconv.shapes`)

    Raises:
        ShapeError: on invalid settings or shapes, naming the bad value and the valid range.
        ValueError: an unknown ``method``, ``padding_mode`` or padding name.
        TypeError: an argument of the wrong type (``padding=1.5``, ``stride="a"``), or
            tensors of different dtypes (naming them; a :class:`DtypeError`).
        RuntimeError: where torch's ``conv_transpose{1,2,3}d`` would raise one for the same
            call (wrong input rank or channels, non-positive stride, dtypes...), the error
            above is also a ``RuntimeError`` (:class:`~tconv.shapes.ShapeRuntimeError`,
            :class:`DtypeError`).

    Example:
        >>> x = torch.randn(1, 3, 16, 16)
        >>> w = torch.randn(3, 3, 3, 3)
        >>> conv_transpose(x, w, stride=2, padding=1, output_padding=1).shape
        torch.Size([1, 3, 32, 32])
        >>> conv_transpose(x, w, stride=2, padding="same", method="subpixel").shape
        torch.Size([1, 3, 32, 32])
        >>> y = conv_transpose(x, w, stride=2, padding=1, method="matrix")
        >>> torch.allclose(y, torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1),
        ...                atol=1e-5)
        True
    """
    key: tuple[object, ...] | None = None
    if output_size is None and not (torch.compiler.is_compiling() or torch._C._is_tracing()):
        # the fast path: a call whose settings and shapes were validated before runs its
        # prepared call after the checks that can change between calls (tensor types, dtypes)
        try:
            if (
                type(stride) is int
                and type(padding) is int
                and type(output_padding) is int
                and type(groups) is int
                and type(dilation) is int
            ):  # the common case, hashed as it is
                settings: object = (stride, padding, output_padding, groups, dilation)
            else:  # 1.0 and True must not share a key with 1 (they are TypeErrors)
                settings = freeze_args((stride, padding, output_padding, groups, dilation))
            if settings is not UNHASHABLE:
                key = (
                    settings,
                    padding_mode,
                    method,
                    input.shape,
                    weight.shape,
                    None if bias is None else bias.shape,
                )
                hit = _PREPARED.get(key)
                if (
                    hit is not None
                    and input.dtype is weight.dtype
                    and (bias is None or bias.dtype is weight.dtype)
                    and isinstance(input, Tensor)
                    and isinstance(weight, Tensor)
                ):  # a bias of the weight's torch dtype is a tensor
                    return hit(input, weight, bias)
        except (AttributeError, TypeError):  # not tensors, unhashable: the checks below say
            key = None
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"input and weight must be tensors, got {type(input).__name__} and "
            f"{type(weight).__name__}"
        )
    _methods.check(method)
    rank = weight.dim() - 2
    if rank not in (1, 2, 3):
        raise ShapeRuntimeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected 3, 4 or 5 dimensions "
            "(in_channels, out_channels // groups, *kernel_size) for 1-, 2- or 3-D"
        )
    _check_dtypes(input, weight, bias)
    # as in PyTorch's modules, output_size takes output_padding's place
    geom = Geometry.create(
        tuple(weight.shape[2:]),
        stride,
        padding,
        output_padding if output_size is None else 0,
        dilation,
        groups,
        padding_mode,
        rank=rank,
    )
    if output_size is not None:
        if torch.jit.is_tracing():  # sizes computed from traced shapes are 0-d tensors
            output_size = _example_ints(output_size)
        target = spatial_size(output_size, rank, batched=input.dim() == rank + 2)
        shapes = shapes_of(input, weight, bias)
        _, spatial = geom.check_call(shapes[0], shapes[1], shapes[2], check_output=False)
        geom = geom.with_output_size(spatial, target, allow_crop=allow_crop)
        return _run(input, weight, bias, geom, method)
    call = prepare(geom, method, *shapes_of(input, weight, bias))
    if key is not None and isinstance(bias, (Tensor, type(None))):
        if len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.clear()
        _PREPARED[key] = call
    return call(input, weight, bias)


def run(input: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry, method: str) -> Tensor:
    """:func:`conv_transpose` with the settings already resolved to a geometry.

    Checks the tensors against ``geom`` (shapes, dtypes, batched or not), then runs
    ``method``. Layers call it with a geometry they keep, so a forward pass does not resolve
    its settings again.

    Raises:
        ShapeError: tensors that do not fit ``geom`` (as :func:`conv_transpose`).
        TypeError: non-tensors or mixed dtypes. ValueError: an unknown ``method``.

    Example:
        >>> import torch
        >>> g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1)
        >>> run(torch.randn(1, 4, 8, 8), torch.randn(4, 2, 3, 3), None, g, "native").shape
        torch.Size([1, 2, 16, 16])
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"input and weight must be tensors, got {type(input).__name__} and "
            f"{type(weight).__name__}"
        )
    _methods.check(method)
    _check_dtypes(input, weight, bias)
    return _run(input, weight, bias, geom, method)


def _run(input: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry, method: str) -> Tensor:
    """:func:`run` after the type, dtype and method checks."""
    return prepare(geom, method, *shapes_of(input, weight, bias))(input, weight, bias)


#: Calls of :func:`conv_transpose` validated before, by (settings, method, tensor shapes).
#: Only settings and shapes are keys: nothing derived from a tensor's values is kept.
_PREPARED: dict[tuple[object, ...], Prepared] = {}
_PREPARED_MAX = 1024  # emptied when full (a program calls few distinct layers)


def _recording() -> bool:
    """A graph is being recorded (``torch.jit.trace``, ``torch.compile``): the fast paths
    stay out of the way, so that the recorded graph holds what the checked path does.

    >>> _recording()
    False
    """
    return bool(torch.compiler.is_compiling() or torch._C._is_tracing())


def _compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """One int for equal values (torch parses an int faster than a tuple).

    >>> _compact((2, 2)), _compact((1, 2))
    (2, (1, 2))
    """
    return values[0] if len(set(values)) == 1 else values


#: A validated call: ``call(input, weight, bias) -> Tensor`` (see :func:`prepare`).
Prepared = Callable[[Tensor, Tensor, "Tensor | None"], Tensor]


def prepare(
    geom: Geometry,
    method: str,
    input_shape: Any,
    weight_shape: Any,
    bias_shape: Any = None,
) -> Prepared:
    """Check tensor shapes against ``geom`` (the errors of :func:`conv_transpose`) and return
    the call for them: ``call(input, weight, bias)`` runs ``method`` without checking again
    (callers check what can change between calls, shapes and dtypes, before they reuse it).

    For ``"native"`` on batched input and a geometry torch's arguments say exactly (no crop
    beyond them, the zeros mode), the call is torch's function with its arguments resolved
    once: what ``torch.nn.functional.conv_transpose{1,2,3}d`` costs.

    Raises:
        ShapeError: shapes that do not fit ``geom``. ValueError: an unknown ``method``.

    Example:
        >>> g = Geometry.create((3, 3), stride=2, padding=1)
        >>> call = prepare(g, "native", (1, 4, 8, 8), (4, 2, 3, 3))
        >>> call(torch.randn(1, 4, 8, 8), torch.randn(4, 2, 3, 3), None).shape
        torch.Size([1, 2, 15, 15])
    """
    batched, _ = geom.check_call(input_shape, weight_shape, bias_shape)
    return _prepare(geom, method, batched)


@lru_cache(maxsize=1024)
def _prepare(geom: Geometry, method: str, batched: bool) -> Prepared:
    """The call of :func:`prepare` (kept per geometry, method and batching)."""
    _methods.check(method)
    if method == "native" and batched and geom.direct:
        pads, ops, index = _native._arguments(geom)
        if index is None:  # one call of torch's function
            conv = _native._CONV_T[geom.rank]
            s, g, d = _compact(geom.stride), geom.groups, _compact(geom.dilation)
            pads, ops = _compact(pads), _compact(ops)  # type: ignore[assignment]

            def plain(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
                return conv(x, w, b, s, pads, ops, g, d)

            return plain
    if method == "auto" and batched and geom.direct:  # auto's choice kept per call kind
        chosen = _auto.keeper(geom)

        def auto(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
            return chosen(x, w, b, geom)

        return auto
    if batched:

        def call(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
            return apply(x, w, b, geom, method)

        return call

    def unbatched(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return apply(x.unsqueeze(0), w, b, geom, method).squeeze(0)

    return unbatched


def shapes_of(*tensors: Tensor | None) -> tuple[Any, ...]:
    """The shape of each tensor as a tuple of ints (None for None).

    Also while ``torch.jit.trace`` (and the ONNX exporter that uses it) records: the tracer
    hands out each size as a 0-d tensor, so that checking them would record nothing but warn
    ("Converting a tensor to a Python boolean ..."); the checks then validate the example's
    sizes, as they do in eager mode.

    >>> shapes_of(torch.zeros(1, 2, 5), torch.zeros(2, 3, 3), None) == ((1, 2, 5), (2, 3, 3), None)
    True
    """
    if torch.jit.is_tracing():
        with _NotRecording():
            return tuple(None if t is None else tuple(t.shape) for t in tensors)
    return tuple(None if t is None else t.shape for t in tensors)  # torch.Size: ints


def _example_ints(output_size: Any) -> Any:
    """``output_size`` with 0-d tensor entries (sizes a jit trace computed) read as the
    example's ints without recording them: the trace holds that output size, as it would
    after ``int()``, without the tracer's warning."""
    if not isinstance(output_size, (list, tuple)):
        return output_size
    with _NotRecording():
        return tuple(int(v) if isinstance(v, Tensor) and v.dim() == 0 else v for v in output_size)


class _NotRecording:
    """Pauses ``torch.jit.trace``'s recording: the sizes read inside are the example's ints,
    and the trace records nothing for them (nor warns)."""

    def __enter__(self) -> None:
        self.state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        torch._C._set_tracing_state(self.state)  # type: ignore[attr-defined]


def _check_dtypes(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """:class:`DtypeError` naming the tensors unless input, weight (and bias) share one dtype."""
    if input.dtype == weight.dtype and (bias is None or bias.dtype == weight.dtype):
        return
    names = f"input ({input.dtype}), weight ({weight.dtype})"
    if bias is not None:
        names += f", bias ({bias.dtype})"
    raise DtypeError(
        f"{names} must all have the same dtype; convert them first, e.g. input.to(weight.dtype)"
    )


def apply(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry, method: str) -> Tensor:
    """Run ``method`` on validated, batched input for any crops and padding mode.

    Methods themselves only see non-negative crops and the zeros mode; zero extension,
    border folding (non-zeros ``padding_mode``) and the bias of extended regions are done here.
    """
    impl = _methods.get(method)
    if geom.direct:  # the common case: the method computes it as it is
        return impl(x, weight, bias, geom)
    if geom.padding_mode != "zeros":
        inner = [(0, 0)] * geom.rank  # the full output, folded below
    else:  # crop the non-negative parts, keeping at least one element to crop/extend below
        inner = []
        for (lo, hi), length in zip(geom.crop, geom.full_size(x.shape[2:])):
            a, b = max(lo, 0), max(hi, 0)
            while length - a - b < 1:
                a, b = (a - 1, b) if a > 0 else (a, b - 1)
            inner.append((a, b))
    y = impl(x, weight, None, geom.with_crop(tuple(inner)))
    if geom.padding_mode == "zeros":
        # the rest of each crop: extend with zeros (positive) or crop (negative); F.pad takes
        # the last dimension first
        rest = [
            v
            for (lo, hi), (a, b) in zip(reversed(geom.crop), reversed(inner))
            for v in (a - lo, b - hi)
        ]
        if any(v > 0 for v in rest):  # extend first, so that a crop never exceeds the length
            y = F.pad(y, [max(v, 0) for v in rest])
        if any(v < 0 for v in rest):
            y = F.pad(y, [min(v, 0) for v in rest])
    else:
        ext = [v for lo, hi in reversed(geom.crop) for v in (max(-lo, 0), max(-hi, 0))]
        if any(ext):
            y = F.pad(y, ext)
        y = _fold_border(y, geom)
    if bias is not None:
        y = y + bias.reshape((1, -1) + (1,) * geom.rank)
    return y


def _fold_border(y: Tensor, geom: Geometry) -> Tensor:
    """Adjoint of ``F.pad(x, crops, mode)``: add the border outside the crop back in.

    ``y`` holds the full output, extended so that every crop is non-negative; the result has
    the geometry's output size.
    """
    for j, (lo, hi) in enumerate(geom.crop):
        dim = 2 + j
        a, b = max(lo, 0), max(hi, 0)
        n = y.shape[dim] - a - b
        t = torch.arange(-a, n + b, device=y.device)
        if geom.padding_mode == "circular":
            src = t.remainder(n)
        elif geom.padding_mode == "reflect":
            src = torch.where(t < 0, -t, torch.where(t >= n, 2 * (n - 1) - t, t))
        else:  # replicate
            src = t.clamp(0, n - 1)
        shape = list(y.shape)
        shape[dim] = n
        y = y.new_zeros(shape).index_add(dim, src, y)
    return y
