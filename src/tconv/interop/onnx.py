"""ONNX ``ConvTranspose`` <-> tconv, exactly.

A ``ConvTranspose`` node's weight ``(C, M / group, *kernel_shape)`` is PyTorch's layout, **no
flip**. Its padding attributes become crops ``(lo, hi)`` of the full output per dimension
(``L`` the full length, ``op`` the ``output_padding``; checked against the onnx package's
reference implementation ``onnx.reference`` and against onnxruntime in
``tests/conformance/test_onnx.py``):

- ``pads`` (``auto_pad="NOTSET"``, no ``output_shape``): crop ``(begin, end - op)``; negative
  pads (which the spec excludes, but both implementations accept) extend with zeros;
- ``auto_pad="VALID"``: crop ``(0, -op)``: the full output, **not** zero-extended when the
  kernel span is shorter than the stride (unlike Keras/JAX ``"valid"``);
- ``auto_pad="SAME_UPPER"`` / ``"SAME_LOWER"``: total ``t = L + op - i * s``, split as the
  reference does with floor division: ``lo = t // 2`` (UPPER, odd crop at the end) or
  ``lo = t - t // 2`` (LOWER, odd crop at the start), ``hi = t - lo - op``. For ``t >= 0``
  this is tconv ``"same"`` / ``"same_lower"``;
- ``output_shape`` ``O`` (pads ignored, as the spec says): ``t = L + op - O``, split as above
  for SAME_UPPER/SAME_LOWER; for NOTSET/VALID the odd crop goes to the start
  (``lo = t - t // 2``) when ``t > 0`` and ``lo = 0`` (zero extension at the end) when ``t <= 0``.
  The crop then depends on the input size, so :func:`from_node` returns an
  :class:`OnnxConvTranspose1d`/``2d``/``3d`` that resolves it per call.

Where the two implementations differ (see ``docs/conventions.md``): onnxruntime computes SAME
with ``t < 0`` (kernel span + op shorter than the stride, or an ``output_shape`` larger than
``L + op``) as ``lo = 0`` and the whole extension at the end, and without ``output_shape`` does
not extend at all; the reference ignores ``output_shape`` (and ``output_padding``) in
NOTSET/VALID mode, using ``pads`` as the start crop and failing when ``O < L``, and computes
``group > 1`` wrongly (it slices the weight by output channels). tconv follows the reference for
SAME and the spec text with onnxruntime for the rest.

:func:`export` writes a model with one ``ConvTranspose`` node whose ``pads``/``output_padding``
(or, for an :class:`OnnxConvTranspose1d`, ``output_shape``/``auto_pad``) say the module's
geometry; onnx is imported only inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..functional import conv_transpose
from ..methods import Method
from ..modules import (
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    _ConvTransposeNd,
    geometry_of,
)
from ..shapes import Crop, Geometry, IntOrTuple, ShapeError, as_tuple
from . import _build, _describe_crop, _parameters

__all__ = [
    "AUTO_PADS",
    "OnnxConvTranspose1d",
    "OnnxConvTranspose2d",
    "OnnxConvTranspose3d",
    "export",
    "from_model",
    "from_node",
    "onnx_attributes",
    "output_shape_crop",
]

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def output_shape_crop(
    full_length: int, output_padding: int, target: int, auto_pad: str = "NOTSET"
) -> tuple[int, int]:
    """The crop ``(lo, hi)`` of the full output for an ONNX output size ``target``.

    The total padding is ``t = L + output_padding - target``; ``auto_pad`` splits it.

    Args:
        full_length: the uncropped length ``L`` (:func:`tconv.shapes.full_size`).
        output_padding: the node's ``output_padding`` for this dimension.
        target: the node's ``output_shape`` for this dimension.
        auto_pad: one of :data:`AUTO_PADS`.

    Returns:
        ``(lo, hi)``, ``hi`` net of ``output_padding``; negative values extend with zeros.

    Raises:
        ValueError: for an unknown ``auto_pad``.

    Example:
        >>> output_shape_crop(11, 0, 8, "SAME_UPPER")    # t = 3: the odd crop at the end
        (1, 2)
        >>> output_shape_crop(11, 0, 8, "NOTSET")        # spec: the odd crop at the start
        (2, 1)
        >>> output_shape_crop(11, 0, 12, "NOTSET")       # t = -1: one zero at the end
        (0, -1)
        >>> output_shape_crop(11, 0, 12, "SAME_UPPER")   # reference: floor(-1 / 2) at the start
        (-1, 0)
        >>> output_shape_crop(11, 1, 11, "SAME_LOWER")
        (1, -1)
    """
    if auto_pad not in AUTO_PADS:
        raise ValueError(f"auto_pad={auto_pad!r} is invalid: valid values are {AUTO_PADS}")
    total = full_length + output_padding - target
    if auto_pad == "SAME_UPPER":
        lo = total // 2
    elif auto_pad == "SAME_LOWER" or total > 0:
        lo = total - total // 2
    else:
        lo = 0
    return (lo, total - lo - output_padding)


# ---------------------------------------------------------------------------------------------
# modules whose crop depends on the input size (ONNX output_shape)


class _OnnxConvTransposeNd(_ConvTransposeNd):
    """A tconv ConvTransposeNd whose output size is fixed by ONNX ``output_shape``.

    The shared constructor, ``geometry_for``, ``forward`` and ``repr`` of
    :class:`OnnxConvTranspose1d`/``2d``/``3d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        output_padding: IntOrTuple = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntOrTuple = 1,
        device: Any = None,
        dtype: Any = None,
        *,
        output_shape: Sequence[int],
        auto_pad: str = "NOTSET",
        method: Method = "native",
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            0,
            output_padding,
            groups,
            bias,
            dilation,
            "zeros",
            device,
            dtype,
            method=method,
        )
        shape = as_tuple(tuple(output_shape)[-self._rank :], self._rank, "output_shape")
        if any(v < 1 for v in shape):
            raise ShapeError(f"output_shape={shape} is invalid: every length must be >= 1")
        if auto_pad not in AUTO_PADS:
            raise ValueError(f"auto_pad={auto_pad!r} is invalid: valid values are {AUTO_PADS}")
        self.output_shape = shape
        self.auto_pad = auto_pad

    def geometry_for(self, input_size: Sequence[int] | int) -> Geometry:
        """The geometry (crops resolved) for one input spatial size.

        >>> m = OnnxConvTranspose1d(1, 1, 3, stride=2, output_shape=(8,), auto_pad="SAME_UPPER")
        >>> m.geometry_for(5).crop
        ((1, 2),)
        >>> m.geometry_for(4).crop
        ((0, 1),)
        """
        base = self.geometry  # padding 0: crop (0, -output_padding)
        i = as_tuple(input_size, self._rank, "input_size")
        full = base.full_size(i)
        crop = tuple(
            output_shape_crop(length, -hi, target, self.auto_pad)
            for length, (_, hi), target in zip(full, base.crop, self.output_shape, strict=True)
        )
        return base.with_crop(crop)

    def forward(self, input: Tensor, output_size: IntOrTuple | None = None) -> Tensor:
        if output_size is not None:
            raise ShapeError(
                f"output_size={output_size!r} is invalid here: this module's output size is "
                f"fixed by the ONNX output_shape={self.output_shape}"
            )
        spatial = tuple(input.shape[-self._rank :])
        crop: Crop | tuple[int, ...] = (0,) * self._rank
        if input.dim() in (self._rank + 1, self._rank + 2) and all(v >= 1 for v in spatial):
            crop = self.geometry_for(spatial).crop
        return conv_transpose(
            input,
            self.weight,
            self.bias,
            self.stride,
            crop,
            0,
            self.groups,
            self.dilation,
            method=self.method,
        )

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + f", output_shape={self.output_shape}, auto_pad={self.auto_pad}"


_ONNX_DOC = """
    The output spatial size is always ``output_shape``; the crop of the full output is resolved
    per call from the input size with :func:`output_shape_crop` (``auto_pad`` chooses the split:
    one of :data:`AUTO_PADS`). Same parameters, state_dict and methods as the tconv module of
    the same rank (its other arguments mean the same); ``geometry`` holds the settings without
    the crop and ``geometry_for(input_size)`` the resolved geometry.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: kernel size, an int or one per spatial dimension.
        stride: stride, an int or one per dimension.
        output_padding: the node's ``output_padding`` (it enters the total padding).
        groups: channel groups.
        bias: learn an additive bias.
        dilation: dilation, an int or one per dimension.
        device: as in torch's modules.
        dtype: as in torch's modules.
        output_shape: the output spatial size, one int per dimension.
        auto_pad: how the padding is split between the ends, one of :data:`AUTO_PADS`.
        method: how to compute it, one of ``tconv.METHODS``.

    Raises:
        ShapeError: for an ``output_shape`` length below 1, or invalid settings.
        ValueError: for an unknown ``auto_pad`` or ``method``.

    Shape:
        - Input: ``(N, C_in, *I)`` or ``(C_in, *I)``
        - Output: ``(N, C_out, *output_shape)``

    Example:
        >>> m = OnnxConvTranspose1d(2, 3, 3, stride=2, output_shape=[10], auto_pad="SAME_UPPER")
        >>> m(torch.randn(1, 2, 5)).shape, m(torch.randn(1, 2, 4)).shape
        (torch.Size([1, 3, 10]), torch.Size([1, 3, 10]))
"""


class OnnxConvTranspose1d(_OnnxConvTransposeNd, ConvTranspose1d):
    __doc__ = "``tconv.nn.ConvTranspose1d`` with an ONNX ``output_shape``.\n" + _ONNX_DOC


class OnnxConvTranspose2d(_OnnxConvTransposeNd, ConvTranspose2d):
    __doc__ = "``tconv.nn.ConvTranspose2d`` with an ONNX ``output_shape``.\n" + _ONNX_DOC


class OnnxConvTranspose3d(_OnnxConvTransposeNd, ConvTranspose3d):
    __doc__ = "``tconv.nn.ConvTranspose3d`` with an ONNX ``output_shape``.\n" + _ONNX_DOC


_OUTPUT_SHAPE_CLASSES: dict[int, type[_OnnxConvTransposeNd]] = {
    1: OnnxConvTranspose1d,
    2: OnnxConvTranspose2d,
    3: OnnxConvTranspose3d,
}


# ---------------------------------------------------------------------------------------------
# ONNX -> tconv


def _to_tensor(value: Any, name: str) -> Tensor:
    if isinstance(value, Tensor):
        return value.detach().clone()
    if hasattr(value, "dims") and hasattr(value, "data_type"):  # onnx.TensorProto
        from onnx import numpy_helper

        value = numpy_helper.to_array(value)
    array = np.asarray(value)
    if array.dtype.kind != "f":
        raise TypeError(f"{name} must hold floating-point values, got dtype {array.dtype}")
    return torch.from_numpy(np.array(array))


def _node_attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if isinstance(attrs.get("auto_pad"), bytes):
        attrs["auto_pad"] = attrs["auto_pad"].decode()
    return attrs


def from_node(node: Any, weight: Any, bias: Any = None) -> torch.nn.Module:
    """A tconv module reproducing an ONNX ``ConvTranspose`` node for every input size.

    Args:
        node: the ``onnx.NodeProto`` (op_type ``ConvTranspose``).
        weight: its ``W`` input ``(C, M / group, *kernel_shape)`` (numpy, torch or
            ``onnx.TensorProto``).
        bias: its ``B`` input ``(M,)``; required when the node has a third input.

    Returns:
        A :class:`tconv.nn.ConvTranspose1d`/``2d``/``3d`` (fixed crops: ``pads``, ``auto_pad``
        without ``output_shape``), or an :class:`OnnxConvTranspose1d`/``2d``/``3d`` (with
        ``output_shape``: the crop follows the input size).

    Raises:
        ShapeError: on attributes no ConvTranspose can have (``pads`` with an ``auto_pad``,
            a ``kernel_shape`` that disagrees with ``W``, bad lengths, ``output_padding`` >=
            max(stride, dilation)).

    Shape:
        - weight: ``(C, M / group, *kernel_shape)`` = the module's weight, no flip
        - input ``(N, C, *I)`` -> output ``(N, M, *O)``

    Example:
        >>> import onnx
        >>> node = onnx.helper.make_node(
        ...     "ConvTranspose", ["X", "W"], ["Y"], strides=[2], auto_pad="SAME_UPPER"
        ... )
        >>> module = from_node(node, np.ones((1, 1, 3), dtype="float32"))
        >>> module
        ConvTranspose1d(1, 1, kernel_size=(3,), stride=(2,), padding=same, bias=False)
        >>> module(torch.ones(1, 1, 3)).tolist()
        [[[1.0, 1.0, 2.0, 1.0, 2.0, 1.0]]]
    """
    if getattr(node, "op_type", None) != "ConvTranspose":
        raise ValueError(
            f"expected an onnx ConvTranspose node, got {getattr(node, 'op_type', type(node))!r}"
        )
    w = _to_tensor(weight, "weight")
    n = _NodeSettings.read(node, w)
    b = _node_bias(node, bias)
    if "output_shape" in n.attrs:
        return _output_shape_module(n, w, b)
    geometry = n.base.with_crop(_node_crop(n))
    name = None
    for candidate in ("same", "same_lower"):
        named = Geometry.create(
            n.kernel, n.strides, candidate, 0, n.dilations, n.group, rank=n.rank
        )
        if named.crop == geometry.crop:
            name = candidate
            break
    return _build(geometry, w, b, padding=name)


def _node_bias(node: Any, bias: Any) -> Tensor | None:
    """The bias as a flat tensor, checked against the node's inputs."""
    inputs = [name for name in node.input]
    has_bias_input = len(inputs) > 2 and inputs[2] != ""
    if has_bias_input and bias is None:
        raise ValueError(f"the node has a bias input {inputs[2]!r}: pass bias=")
    if bias is not None and not has_bias_input:
        raise ValueError("bias was given, but the node has no bias input B")
    return None if bias is None else _to_tensor(bias, "bias").reshape(-1)


@dataclass(frozen=True)
class _NodeSettings:
    """A ConvTranspose node's attributes, checked against its weight."""

    attrs: dict[str, Any]
    rank: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    output_padding: tuple[int, ...]
    group: int
    auto_pad: str
    base: Geometry  # no crop: the full output

    @classmethod
    def read(cls, node: Any, w: Tensor) -> _NodeSettings:
        attrs = _node_attributes(node)
        rank = w.dim() - 2
        if rank not in (1, 2, 3):
            raise ShapeError(
                f"weight of shape {tuple(w.shape)} is invalid: tconv supports 1, 2 or 3 spatial "
                "dimensions"
            )
        kernel = tuple(int(v) for v in w.shape[2:])
        if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != kernel:
            raise ShapeError(
                f"kernel_shape={list(attrs['kernel_shape'])} disagrees with the weight's "
                f"spatial shape {kernel}"
            )
        strides = _ints(attrs, "strides", 1, rank, rank)
        dilations = _ints(attrs, "dilations", 1, rank, rank)
        output_padding = _ints(attrs, "output_padding", 0, rank, rank)
        group = int(attrs.get("group", 1))
        auto_pad = str(attrs.get("auto_pad", "NOTSET"))
        if auto_pad not in AUTO_PADS:
            raise ValueError(f"auto_pad={auto_pad!r} is invalid: valid values are {AUTO_PADS}")
        if "pads" in attrs and auto_pad != "NOTSET":
            raise ShapeError(
                f"pads={list(attrs['pads'])} with auto_pad={auto_pad!r} is invalid: the ONNX "
                "spec says pads cannot be used together with auto_pad (onnxruntime refuses it)"
            )
        if group < 1 or w.shape[0] % group:
            raise ShapeError(
                f"group={group} is invalid: the weight's input channels {w.shape[0]} must be a "
                "multiple of group"
            )
        base = Geometry.create(kernel, strides, 0, output_padding, dilations, group, rank=rank)
        return cls(attrs, rank, kernel, strides, dilations, output_padding, group, auto_pad, base)


def _ints(
    attrs: dict[str, Any], name: str, default: int, length: int, rank: int
) -> tuple[int, ...]:
    """An int-list attribute of ``length`` values (``default`` each when absent)."""
    value = tuple(int(v) for v in attrs.get(name, (default,) * length))
    if len(value) != length:
        raise ShapeError(
            f"{name}={list(value)} is invalid for a {rank}-D ConvTranspose: expected "
            f"{length} values"
        )
    return value


def _output_shape_module(n: _NodeSettings, w: Tensor, b: Tensor | None) -> torch.nn.Module:
    """The module of a node with ``output_shape``: its crop follows the input size."""
    rank = n.rank
    shape = tuple(int(v) for v in n.attrs["output_shape"])
    if len(shape) not in (rank, rank + 2):
        raise ShapeError(
            f"output_shape={list(shape)} is invalid for a {rank}-D ConvTranspose: expected "
            f"{rank} values (the spatial size)"
        )
    module = _OUTPUT_SHAPE_CLASSES[rank](
        int(w.shape[0]),
        int(w.shape[1]) * n.group,
        n.kernel,
        n.strides,
        n.output_padding,
        n.group,
        b is not None,
        n.dilations,
        dtype=w.dtype,
        output_shape=shape[-rank:],
        auto_pad=n.auto_pad,
    )
    with torch.no_grad():
        module.weight.copy_(w)
        if b is not None and module.bias is not None:
            module.bias.copy_(b)
    return module


def _node_crop(n: _NodeSettings) -> Crop:
    """The fixed crop of a node without ``output_shape``: from auto_pad or pads."""
    rank = n.rank
    if n.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        # t = L + op - i * s does not depend on i: resolve it once (at i = 1)
        same = Geometry.create(n.kernel, n.strides, "same", 0, n.dilations, rank=rank)
        one = (1,) * rank
        return tuple(
            output_shape_crop(length, op, target, n.auto_pad)
            for length, op, target in zip(
                n.base.full_size(one), n.output_padding, same.output_size(one), strict=True
            )
        )
    if n.auto_pad == "VALID":
        return n.base.crop
    pads = _ints(n.attrs, "pads", 0, 2 * rank, rank)
    return tuple((pads[j], pads[j + rank] - n.output_padding[j]) for j in range(rank))


def from_model(model: Any) -> torch.nn.Module:
    """The tconv module of the one ``ConvTranspose`` node in an ONNX model (or a path to one),
    with ``W`` (and ``B``) read from the model's initializers.

    Args:
        model: an ``onnx.ModelProto``, or the path of a saved model.

    Returns:
        The module :func:`from_node` makes of the node.

    Raises:
        ValueError: when the model has no or several ``ConvTranspose`` nodes, or the node's
            ``W``/``B`` are not initializers.
        ShapeError: for node attributes no ConvTranspose can have (see :func:`from_node`).
        OSError: when the path cannot be read.

    Example:
        >>> import tconv
        >>> module = tconv.nn.ConvTranspose2d(3, 8, 3, stride=2, padding="same")
        >>> back = from_model(export(module, None, torch.randn(1, 3, 5, 5)))
        >>> back, torch.equal(back.weight, module.weight)
        (ConvTranspose2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=same), True)
    """
    import onnx
    from onnx import numpy_helper

    if isinstance(model, (str, os.PathLike)):
        model = onnx.load(os.fspath(model))
    nodes = [n for n in model.graph.node if n.op_type == "ConvTranspose"]
    if len(nodes) != 1:
        raise ValueError(f"expected one ConvTranspose node in the model, found {len(nodes)}")
    node = nodes[0]
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    names = list(node.input)
    missing = [n for n in names[1:] if n and n not in init]
    if missing:
        raise ValueError(f"the ConvTranspose inputs {missing} are not initializers of the model")
    bias = init[names[2]] if len(names) > 2 and names[2] else None
    return from_node(node, init[names[1]], bias)


# ---------------------------------------------------------------------------------------------
# tconv -> ONNX


def onnx_attributes(module: torch.nn.Module) -> dict[str, Any]:
    """The ``ConvTranspose`` attributes that say the module's geometry.

    Crops ``(lo, hi)`` become ``pads`` (``lo >= 0``) and, where ``hi < 0`` (zero extension at
    the end), ``output_padding = -hi`` (at most ``stride - 1``, which onnxruntime enforces).

    Args:
        module: a tconv or torch ``ConvTranspose{1,2,3}d``, or an
            :class:`OnnxConvTranspose1d`/``2d``/``3d`` (then ``output_shape`` and
            ``auto_pad`` instead of ``pads``).

    Returns:
        ``kernel_shape``, ``strides``, ``dilations``, ``group``, ``pads``, ``output_padding``
        (and ``output_shape``, ``auto_pad``) as ONNX attribute values.

    Raises:
        ShapeError: for a non-zeros ``padding_mode``, a zero extension at the start (``lo <
            0``: pads must be >= 0) or an extension at the end of ``stride`` or more.

    Example:
        >>> from tconv.nn import ConvTranspose1d
        >>> attrs = onnx_attributes(ConvTranspose1d(2, 2, 3, stride=2, padding="same"))
        >>> attrs["pads"], attrs["output_padding"], attrs["strides"]
        ([0, 1], [0], [2])
        >>> onnx_attributes(ConvTranspose1d(2, 2, 1, stride=3, padding="same"))["output_padding"]
        [2]
    """
    if isinstance(module, _OnnxConvTransposeNd):
        g = module.geometry
        attrs: dict[str, Any] = _common_attributes(g)
        attrs["output_padding"] = [-hi for _, hi in g.crop]
        attrs["output_shape"] = list(module.output_shape)
        if module.auto_pad != "NOTSET":
            attrs["auto_pad"] = module.auto_pad
        return attrs
    g = geometry_of(module)
    if g.padding_mode != "zeros":
        raise ShapeError(
            f"padding_mode={g.padding_mode!r} cannot be expressed by ONNX ConvTranspose: it "
            "only pads with zeros"
        )
    begins, ends, ops = [], [], []
    for j, ((lo, hi), s) in enumerate(zip(g.crop, g.stride, strict=True)):
        if lo < 0:
            raise ShapeError(
                f"crop {g.crop} ({_describe_crop(g)}) cannot be expressed by ONNX ConvTranspose: "
                f"dimension {j} extends the start with {-lo} zeros, but pads must be >= 0 and "
                "output_padding only extends the end"
            )
        if -hi >= s:
            raise ShapeError(
                f"crop {g.crop} ({_describe_crop(g)}) cannot be expressed by ONNX ConvTranspose: "
                f"dimension {j} extends the end with {-hi} zeros, but output_padding must be "
                f"smaller than stride={s} (0..{s - 1}) and pads must be >= 0"
            )
        begins.append(lo)
        ends.append(max(hi, 0))
        ops.append(max(-hi, 0))
    attrs = _common_attributes(g)
    attrs["pads"] = begins + ends
    attrs["output_padding"] = ops
    return attrs


def _common_attributes(g: Geometry) -> dict[str, Any]:
    return {
        "kernel_shape": list(g.kernel_size),
        "strides": list(g.stride),
        "dilations": list(g.dilation),
        "group": g.groups,
    }


def export(
    module: torch.nn.Module,
    path: str | os.PathLike[str] | None,
    example_input: Tensor,
    *,
    opset: int = 17,
    dynamic: bool = True,
) -> Any:
    """Write ``module`` as an ONNX model with one ``ConvTranspose`` node; return the model.

    Args:
        module: a tconv or torch ``ConvTranspose{1,2,3}d`` (or an :class:`OnnxConvTranspose1d`).
        path: where to save the model (``None``: do not save).
        example_input: a batched ``(N, C_in, *I)`` input; sets the graph's dtype and shapes and
            is run through the module to check it.
        opset: the ONNX opset (ConvTranspose is the same from 11 on).
        dynamic: symbolic batch and spatial sizes in the graph's signature (the node's pads do
            not depend on the input size); else the example's sizes.

    Raises:
        ShapeError: when ONNX cannot express the module's geometry (see
            :func:`onnx_attributes`) or the example input does not fit the module.

    Returns:
        The checked ``onnx.ModelProto`` (input ``"input"``, output ``"output"``).

    Shape:
        - ``W``: the module's weight ``(C_in, C_out / groups, *kernel_size)``, no flip
        - input ``X``: ``(N, C_in, *I)``; output ``Y``: ``(N, C_out, *O)``

    Example:
        >>> import onnxruntime, tconv
        >>> module = tconv.nn.ConvTranspose2d(3, 8, 3, stride=2, padding="same")
        >>> x = torch.randn(1, 3, 5, 5)
        >>> model = export(module, None, x)
        >>> [node.op_type for node in model.graph.node]
        ['ConvTranspose']
        >>> session = onnxruntime.InferenceSession(
        ...     model.SerializeToString(), providers=["CPUExecutionProvider"]
        ... )
        >>> (y,) = session.run(None, {"input": x.numpy()})
        >>> y.shape, bool(np.allclose(y, module(x).detach().numpy(), atol=1e-5))
        ((1, 8, 10, 10), True)
    """
    import onnx
    from onnx import helper, numpy_helper

    attrs = onnx_attributes(module)
    rank = len(attrs["kernel_shape"])
    if not isinstance(example_input, Tensor) or example_input.dim() != rank + 2:
        raise ShapeError(
            f"example_input must be a batched (N, C, *spatial) tensor with {rank + 2} "
            f"dimensions for a {rank}-D ConvTranspose (ONNX has no unbatched form), got "
            f"{tuple(getattr(example_input, 'shape', ()))}"
        )
    with torch.no_grad():
        expected = module(example_input)
    weight_t, bias_t = _parameters(module)
    weight = weight_t.numpy()
    elem = helper.np_dtype_to_tensor_dtype(weight.dtype)
    inputs = ["input", "weight"]
    initializers = [numpy_helper.from_array(weight, "weight")]
    if bias_t is not None:
        inputs.append("bias")
        initializers.append(numpy_helper.from_array(bias_t.numpy(), "bias"))
    node = helper.make_node("ConvTranspose", inputs, ["output"], **attrs)
    in_shape: list[Any] = list(example_input.shape)
    out_shape: list[Any] = list(expected.shape)
    if dynamic:
        in_shape = ["N", in_shape[1], *(f"in_{j}" for j in range(rank))]
        fixed = "output_shape" in attrs
        out_shape = [
            "N",
            out_shape[1],
            *(out_shape[2:] if fixed else [f"out_{j}" for j in range(rank)]),
        ]
    graph = helper.make_graph(
        [node],
        "tconv_conv_transpose",
        [helper.make_tensor_value_info("input", elem, in_shape)],
        [helper.make_tensor_value_info("output", elem, out_shape)],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="tconv",
        ir_version=helper.find_min_ir_version_for(opsets),
    )
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model
