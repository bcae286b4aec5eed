"""Keras 3 ``Conv1DTranspose``/``Conv2DTranspose``/``Conv3DTranspose`` <-> tconv, exactly.

Keras's conventions (Keras 3; checked against the real layers, ``KERAS_BACKEND=torch``, in
``tests/conformance/test_keras.py``):

- kernel ``[*kernel_size, filters, in_channels]``; tconv/PyTorch weight
  ``(in_channels, filters, *kernel_size)`` is the same array with its axes moved, **no flip**;
- ``padding="valid"``: the full output, zero-extended at the end to ``(i - 1) * s + s`` when the
  kernel span ``d * (k - 1) + 1`` is shorter than the stride (tconv ``"valid"``);
  with ``output_padding=op``: the full output plus ``op`` zeros at the end, crop ``(0, -op)``;
- ``padding="same"``: output ``i * s``, the odd extra crop at the end (tconv ``"same"``);
  with ``output_padding=op``: output ``(i - 1) * s + span % 2 + op``, crop
  ``(max(t // 2, 0), t - max(t // 2, 0))`` with ``t = span - span % 2 - op``;
- ``strides > 1`` together with ``dilation_rate > 1`` is refused by Keras; there is no
  ``groups`` and no ``padding_mode``.

The tconv module takes channels-first input. For a ``data_format="channels_last"`` layer,
move the channels: ``module(x.movedim(-1, 1)).movedim(1, -1)`` equals ``layer(x)``.

Keras is imported only inside :func:`to_keras`; when ``KERAS_BACKEND`` is unset it is set to
``"torch"`` first. :func:`from_keras` reads ``get_config()``/``get_weights()`` and works with
any backend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..modules import geometry_of
from ..shapes import Geometry, ShapeError
from . import _build, _describe_crop, _parameters

__all__ = ["from_keras", "keras_crop", "to_keras"]

_CLASSES = {1: "Conv1DTranspose", 2: "Conv2DTranspose", 3: "Conv3DTranspose"}
_ALIASES = {
    "Conv1DTranspose": 1,
    "Convolution1DTranspose": 1,
    "Conv2DTranspose": 2,
    "Convolution2DTranspose": 2,
    "Conv3DTranspose": 3,
    "Convolution3DTranspose": 3,
}


def keras_crop(
    padding: str,
    kernel_size: int,
    stride: int,
    dilation: int = 1,
    output_padding: int | None = None,
) -> tuple[int, int]:
    """The crop ``(lo, hi)`` of the full output that Keras 3 applies in one dimension.

    Args:
        padding: Keras's ``"valid"`` or ``"same"`` (any case).
        kernel_size: kernel length.
        stride: stride.
        dilation: dilation rate.
        output_padding: Keras's ``output_padding`` for this dimension; ``None`` is Keras's
            default (not the same as 0).

    Returns:
        ``(lo, hi)``; a negative value extends the output with zeros.

    Raises:
        ShapeError: for a padding other than ``"valid"``/``"same"``, an ``output_padding``
            outside ``0 .. stride - 1``, or invalid settings.

    Example:
        >>> keras_crop("same", 3, 2)            # tconv "same": the odd crop at the end
        (0, 1)
        >>> keras_crop("same", 4, 2, output_padding=1)
        (1, 2)
        >>> keras_crop("valid", 1, 3)           # span 1 < stride 3: extended to (i - 1) * 3 + 3
        (0, -2)
        >>> keras_crop("valid", 3, 2, output_padding=1)
        (0, -1)
    """
    name = padding.lower() if isinstance(padding, str) else padding
    if name not in ("same", "valid"):
        raise ShapeError(f"padding={padding!r} is invalid: Keras accepts 'valid' or 'same'")
    geometry = Geometry.create(kernel_size, stride, name, 0, dilation, rank=1)
    if output_padding is None:
        return geometry.crop[0]
    if not 0 <= output_padding < stride:
        raise ShapeError(
            f"output_padding={output_padding} is invalid for stride={stride}: Keras requires "
            f"0 <= output_padding < stride, so valid values are 0..{stride - 1}"
        )
    if name == "valid":
        return (0, -output_padding)
    span = geometry.span[0]
    total = span - span % 2 - output_padding
    lo = max(total // 2, 0)
    return (lo, total - lo)


# ---------------------------------------------------------------------------------------------
# Keras -> tconv


def _config_and_weights(
    layer: Any, weights: Sequence[Any] | None
) -> tuple[str | None, dict[str, Any], list[np.ndarray]]:
    if isinstance(layer, Mapping):
        if "config" in layer and "class_name" in layer:
            class_name: str | None = str(layer["class_name"])
            config = dict(layer["config"])
        else:
            class_name, config = None, dict(layer)
        if weights is None:
            raise ValueError(
                "from_keras(config) needs the weights too: from_keras(config, [kernel, bias])"
            )
    else:
        if not hasattr(layer, "get_config") or not hasattr(layer, "get_weights"):
            raise TypeError(
                f"expected a Keras Conv1DTranspose/Conv2DTranspose/Conv3DTranspose layer or its "
                f"config dict, got {type(layer).__name__}"
            )
        class_name = type(layer).__name__
        config = layer.get_config()
        if weights is None:
            if not getattr(layer, "built", True) or not layer.get_weights():
                raise ValueError(
                    f"the Keras layer {config.get('name')!r} is not built and has no weights: "
                    "call it on an input (or layer.build(input_shape)) first"
                )
            weights = layer.get_weights()
    arrays = [np.asarray(w) for w in weights]
    return class_name, config, arrays


def from_keras(layer: Any, weights: Sequence[Any] | None = None) -> torch.nn.Module:
    """A tconv module equal to a Keras 3 transposed-convolution layer.

    Args:
        layer: a built ``keras.layers.Conv{1,2,3}DTranspose``, or its ``get_config()`` dict
            (or the ``{"class_name": ..., "config": ...}`` form that
            ``keras.saving.serialize_keras_object`` writes).
        weights: ``[kernel, bias]`` (``[kernel]`` without bias) when ``layer`` is a config;
            defaults to ``layer.get_weights()``.

    Returns:
        A :class:`tconv.nn.ConvTranspose1d`/``2d``/``3d`` with the same outputs. It takes
        channels-first input whatever the layer's ``data_format``: for ``channels_last``,
        ``module(x.movedim(-1, 1)).movedim(1, -1)`` equals ``layer(x)``.

    Raises:
        ValueError: for a layer this cannot reproduce (an activation other than linear, a
            kernel or bias of the wrong shape, another layer class).

    Shape:
        - Keras kernel: ``(*kernel_size, filters, in_channels)``
        - module weight: ``(in_channels, filters, *kernel_size)`` (no flip)

    Example:
        >>> config = {"filters": 2, "kernel_size": (3,), "strides": (2,), "padding": "same",
        ...           "output_padding": None, "dilation_rate": (1,), "use_bias": False}
        >>> kernel = np.zeros((3, 2, 4), dtype="float32")
        >>> from_keras(config, [kernel])
        ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,), padding=same, bias=False)
    """
    class_name, config, arrays = _config_and_weights(layer, weights)
    if class_name is not None and class_name not in _ALIASES:
        raise ValueError(
            f"cannot convert a Keras {class_name}: expected one of {', '.join(_CLASSES.values())}"
        )
    kernel_size = tuple(int(v) for v in config["kernel_size"])
    rank = len(kernel_size)
    if class_name is not None and _ALIASES[class_name] != rank:
        raise ValueError(f"{class_name} with kernel_size={kernel_size}: rank mismatch")
    activation = config.get("activation")
    if isinstance(activation, Mapping):  # a serialized activation object
        activation = activation.get("config", {}).get("name", activation.get("class_name"))
    if activation not in (None, "linear"):
        raise ValueError(
            f"activation={activation!r} cannot be part of a ConvTranspose module: convert the "
            "layer with activation='linear' and apply the activation after the module"
        )
    if int(config.get("groups", 1)) != 1:
        raise ValueError(f"groups={config['groups']} is not a Keras Conv*Transpose setting")
    strides = tuple(int(v) for v in _per_dim(config.get("strides", 1), rank))
    dilation = tuple(int(v) for v in _per_dim(config.get("dilation_rate", 1), rank))
    padding = str(config.get("padding", "valid")).lower()
    raw_op = config.get("output_padding")
    output_padding = None if raw_op is None else tuple(int(v) for v in _per_dim(raw_op, rank))
    use_bias = bool(config.get("use_bias", True))

    if len(arrays) != (2 if use_bias else 1):
        raise ValueError(
            f"expected {'[kernel, bias]' if use_bias else '[kernel]'} for use_bias={use_bias}, "
            f"got {len(arrays)} arrays"
        )
    kernel = arrays[0]
    filters = int(config.get("filters") or (kernel.shape[-2] if kernel.ndim == rank + 2 else -1))
    if kernel.ndim != rank + 2 or kernel.shape[:rank] != kernel_size or kernel.shape[-2] != filters:
        raise ValueError(
            f"kernel of shape {kernel.shape} is invalid for kernel_size={kernel_size}, "
            f"filters={filters}: Keras kernels are (*kernel_size, filters, in_channels)"
        )
    weight = torch.from_numpy(np.ascontiguousarray(kernel)).permute(rank + 1, rank, *range(rank))
    bias = None
    if use_bias:
        bias = torch.from_numpy(np.ascontiguousarray(arrays[1]))
        if tuple(bias.shape) != (filters,):
            raise ValueError(f"bias of shape {tuple(bias.shape)} is invalid: expected ({filters},)")

    crop = tuple(
        keras_crop(padding, k, s, d, None if output_padding is None else op)
        for k, s, d, op in zip(
            kernel_size, strides, dilation, output_padding or (0,) * rank, strict=True
        )
    )
    geometry = Geometry.create(kernel_size, strides, crop, 0, dilation, rank=rank)
    name = padding if output_padding is None else None  # Keras's names are tconv's names
    return _build(geometry, weight, bias, padding=name)


def _per_dim(value: Any, rank: int) -> tuple[Any, ...]:
    if isinstance(value, (int, np.integer)):
        return (value,) * rank
    items = tuple(value)
    return items * rank if len(items) == 1 else items


# ---------------------------------------------------------------------------------------------
# tconv -> Keras


def keras_arguments(module: torch.nn.Module) -> dict[str, Any]:
    """The Keras ``Conv{r}DTranspose`` arguments with the module's geometry.

    Raises :class:`~tconv.ShapeError` naming what Keras cannot express.

    >>> from tconv.nn import ConvTranspose2d
    >>> args = keras_arguments(ConvTranspose2d(3, 8, 4, stride=2, padding=1))
    >>> args["padding"], args["output_padding"], args["kernel_size"], args["filters"]
    ('same', None, (4, 4), 8)
    >>> try:  # PyTorch's usual k3 s2 p1 op1 puts the odd crop at the start
    ...     keras_arguments(ConvTranspose2d(3, 8, 3, stride=2, padding=1, output_padding=1))
    ... except ShapeError as err:
    ...     print(str(err)[:176])
    the crop ((1, 0), (1, 0)) (kernel_size=(3, 3), stride=(2, 2), dilation=(1, 1)) cannot be
    expressed by Keras Conv2DTranspose: dimension 0 has crop (1, 0), but Keras reaches only
    """
    geometry = geometry_of(module)
    rank = geometry.rank
    name = _CLASSES[rank]
    if geometry.groups != 1:
        raise ShapeError(
            f"groups={geometry.groups} cannot be expressed by Keras {name}: it has no groups "
            "argument (only groups=1)"
        )
    if geometry.padding_mode != "zeros":
        raise ShapeError(
            f"padding_mode={geometry.padding_mode!r} cannot be expressed by Keras {name}: it "
            "only pads with zeros"
        )
    if max(geometry.stride) > 1 and max(geometry.dilation) > 1:
        raise ShapeError(
            f"stride={geometry.stride} with dilation={geometry.dilation} cannot be expressed by "
            f"Keras {name}: Keras refuses strides > 1 together with dilation_rate > 1"
        )
    padding, output_padding = _keras_padding(geometry, name)
    return {
        "filters": int(_parameters(module)[0].shape[1]) * geometry.groups,
        "kernel_size": geometry.kernel_size,
        "strides": geometry.stride,
        "padding": padding,
        "output_padding": output_padding,
        "dilation_rate": geometry.dilation,
        "use_bias": module.bias is not None,
    }


def _keras_padding(geometry: Geometry, name: str) -> tuple[str, tuple[int, ...] | None]:
    dims = list(
        zip(geometry.kernel_size, geometry.stride, geometry.dilation, geometry.crop, strict=True)
    )
    for padding in ("valid", "same"):
        if all(keras_crop(padding, k, s, d) == c for k, s, d, c in dims):
            return padding, None
    for padding in ("same", "valid"):
        found = []
        for k, s, d, c in dims:
            ops = [op for op in range(s) if keras_crop(padding, k, s, d, op) == c]
            if not ops:
                break
            found.append(ops[0])
        else:
            return padding, tuple(found)
    reachable = []
    for j, (k, s, d, c) in enumerate(dims):
        options: dict[tuple[int, int], tuple[str, int | None]] = {}
        for p in ("valid", "same"):
            for op in (None, *range(s)):
                options.setdefault(keras_crop(p, k, s, d, op), (p, op))
        if c not in options:
            listed = ", ".join(
                f"{crop} ({p}" + ("" if op is None else f", output_padding={op}") + ")"
                for crop, (p, op) in sorted(options.items())
            )
            reachable.append(f"dimension {j} has crop {c}, but Keras reaches only {listed}")
    detail = "; ".join(reachable) or (
        "each dimension is reachable alone, but not with one padding name for all dimensions"
    )
    raise ShapeError(
        f"the crop {geometry.crop} ({_describe_crop(geometry)}) cannot be expressed by Keras "
        f"{name}: {detail}"
    )


def _import_keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    return keras


def to_keras(module: torch.nn.Module, *, data_format: str = "channels_last") -> Any:
    """A built Keras 3 ``Conv{1,2,3}DTranspose`` layer, weights set, equal to ``module``.

    Args:
        module: a tconv or torch ``ConvTranspose{1,2,3}d``.
        data_format: the layer's ``"channels_last"`` (Keras's default) or ``"channels_first"``.

    Returns:
        The Keras layer, built for any spatial size and ``module``'s input channels.

    Raises:
        ValueError: for an unknown ``data_format``.
        ShapeError: naming what Keras cannot express: groups > 1, a non-zeros
            ``padding_mode``, stride > 1 with dilation > 1, or crops that neither ``"valid"``
            nor ``"same"`` (with an ``output_padding`` < stride) produce, e.g. PyTorch's
            ``padding=2`` for kernel 3 stride 2 or ``"same_lower"`` for kernel 3 stride 2.

    Shape:
        - module weight: ``(in_channels, filters, *kernel_size)``
        - Keras kernel: ``(*kernel_size, filters, in_channels)``

    Example:
        >>> import tconv
        >>> module = tconv.nn.ConvTranspose2d(3, 8, 3, stride=2, padding="same")
        >>> layer = to_keras(module)    # imports keras (KERAS_BACKEND defaults to torch)
        >>> import keras
        >>> type(layer).__name__
        'Conv2DTranspose'
        >>> x = torch.randn(1, 5, 5, 3)                       # channels last
        >>> y = keras.ops.convert_to_numpy(layer(x.numpy()))
        >>> y.shape
        (1, 10, 10, 8)
        >>> expected = module(x.movedim(-1, 1)).movedim(1, -1).detach().numpy()
        >>> bool(np.allclose(y, expected, atol=1e-5))
        True
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format={data_format!r} is invalid: use 'channels_last' or 'channels_first'"
        )
    arguments = keras_arguments(module)
    rank = len(arguments["kernel_size"])
    keras = _import_keras()
    weight, bias = _parameters(module)
    dtype = str(weight.numpy().dtype)
    layer_class = getattr(keras.layers, _CLASSES[rank])
    layer = layer_class(
        **arguments,
        data_format=data_format,
        dtype=dtype,
        kernel_initializer="zeros",
        bias_initializer="zeros",
    )
    in_channels = int(weight.shape[0])
    shape = (None, *(None,) * rank, in_channels)
    if data_format == "channels_first":
        shape = (None, in_channels, *(None,) * rank)
    layer.build(shape)
    kernel = weight.permute(*range(2, rank + 2), 1, 0).numpy()
    values = [np.ascontiguousarray(kernel)]
    if bias is not None:
        values.append(bias.numpy())
    layer.set_weights(values)
    return layer
