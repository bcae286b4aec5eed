"""The same layer in other frameworks: JAX (``lax``), Keras 3 on the torch backend, onnxruntime.

Each builder returns ``(run, result)``: ``run()`` computes the layer once and waits for it
(JAX: ``block_until_ready``), ``result()`` returns its output as a float64 numpy array in
torch's NC* layout (to check that the peer computes the same layer). Each framework is
imported here, lazily, only when asked for (``pip install 'tconv[interop]'``). A builder raises
:class:`Unsupported` when the framework cannot express the layer (Keras has no groups; none
has a circular transposed convolution); the runner reports "n/a" with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .catalog import Layer

__all__ = ["PEERS", "Unsupported", "build"]

PEERS: tuple[str, ...] = ("jax", "keras", "onnxruntime")

Built = tuple[Callable[[], object], Callable[[], np.ndarray]]


class Unsupported(Exception):
    """The framework cannot express this layer (the message says why)."""


def _zeros_only(layer: Layer, peer: str) -> tuple[tuple[int, int], ...]:
    geom = layer.geometry()
    if layer.padding_mode != "zeros":
        raise Unsupported(f"{peer} has no {layer.padding_mode!r} transposed convolution")
    if any(lo < 0 or hi < 0 for lo, hi in geom.crop):
        raise Unsupported(f"{peer}: negative crops")
    return geom.crop


def _jax(layer: Layer, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, grad: bool) -> Built:
    import jax
    import jax.numpy as jnp

    crop = _zeros_only(layer, "jax")
    rank, k, s = layer.rank, layer.kernel_size, layer.stride
    spatial = "DHW"[-rank:]
    dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")  # JAX's native (channels-last) layout
    # lax.conv_transpose is zero insertion + correlation (lhs_dilation); torch's weight
    # (C_in, C_out/g, *K) becomes the flipped, channel-swapped kernel of that correlation
    groups = layer.groups
    cin, cog = w.shape[:2]
    wf = w.reshape(groups, cin // groups, cog, *w.shape[2:]).transpose(1, 2)
    wf = wf.reshape(groups * cog, cin // groups, *w.shape[2:]).flip(list(range(2, 2 + rank)))
    kernel = jnp.asarray(wf.permute(*range(2, 2 + rank), 1, 0).contiguous().numpy())
    xj = jnp.asarray(x.permute(0, *range(2, 2 + rank), 1).contiguous().numpy())
    bj = jnp.asarray(b.numpy())
    padding = [(k - 1 - lo, k - 1 - hi) for lo, hi in crop]

    def layer_fn(xv: Any, kv: Any, bv: Any) -> Any:
        if groups == 1:
            y = jax.lax.conv_transpose(xv, kv, (s,) * rank, padding, dimension_numbers=dn)
        else:  # lax.conv_transpose has no groups: the same call it makes, with the groups
            y = jax.lax.conv_general_dilated(
                xv,
                kv,
                (1,) * rank,
                padding,
                lhs_dilation=(s,) * rank,
                dimension_numbers=dn,
                feature_group_count=groups,
            )
        return y + bv

    fwd = jax.jit(layer_fn)
    if grad:
        gy = jnp.asarray(np.random.default_rng(0).standard_normal(fwd(xj, kernel, bj).shape))
        gy = gy.astype(xj.dtype)

        def step(xv: Any, kv: Any, bv: Any) -> Any:
            y, vjp = jax.vjp(layer_fn, xv, kv, bv)
            return y, vjp(gy)

        fb = jax.jit(step)

        def run() -> object:
            return jax.block_until_ready(fb(xj, kernel, bj))
    else:

        def run() -> object:
            return fwd(xj, kernel, bj).block_until_ready()

    def result() -> np.ndarray:
        y = np.asarray(fwd(xj, kernel, bj), dtype=np.float64)
        return np.moveaxis(y, -1, 1)

    return run, result


def _keras(layer: Layer, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, grad: bool) -> Built:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise Unsupported(f"keras runs on {keras.backend.backend()!r}, not torch")
    crop = _zeros_only(layer, "keras")
    if layer.groups > 1:
        raise Unsupported("keras ConvTranspose has no groups")
    rank = layer.rank
    cls = {1: keras.layers.Conv1DTranspose, 2: keras.layers.Conv2DTranspose}.get(
        rank, keras.layers.Conv3DTranspose
    )
    k = cls(layer.out_channels, layer.kernel_size, strides=layer.stride, padding="valid")
    xk = x.permute(0, *range(2, 2 + rank), 1).contiguous()  # Keras' default channels_last
    k.build(tuple(xk.shape))
    # keras kernel: (*K, C_out, C_in); torch weight (C_in, C_out, *K)
    k.set_weights([w.permute(*range(2, 2 + rank), 1, 0).numpy(), b.numpy()])
    cut = (slice(None), *(slice(lo, -hi if hi else None) for lo, hi in crop), slice(None))
    if grad:
        xg = xk.clone().requires_grad_()
        params = [v.value for v in k.trainable_variables]

        def run() -> object:
            y = k(xg)[cut]
            return torch.autograd.grad(y, [xg, *params], torch.ones_like(y))

    else:

        def run() -> object:
            with torch.no_grad():
                return k(xk)[cut]

    def result() -> np.ndarray:
        with torch.no_grad():
            y = k(xk)[cut]
        return np.moveaxis(y.double().numpy(), -1, 1)

    return run, result


def _onnxruntime(
    layer: Layer, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, grad: bool
) -> Built:
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    if grad:
        raise Unsupported("onnxruntime runs inference only")
    crop = _zeros_only(layer, "onnxruntime")
    rank = layer.rank
    node = helper.make_node(
        "ConvTranspose",
        ["x", "w", "b"],
        ["y"],
        strides=[layer.stride] * rank,
        kernel_shape=[layer.kernel_size] * rank,
        pads=[lo for lo, _ in crop] + [hi for _, hi in crop],
        group=layer.groups,
    )
    graph = helper.make_graph(
        [node],
        "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(layer.output_shape()))],
        [numpy_helper.from_array(w.numpy(), "w"), numpy_helper.from_array(b.numpy(), "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.inter_op_num_threads = 1
    # onnxruntime's idle threads spin by default, stealing the cores from whatever runs next
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        onnx._serialize(model) if hasattr(onnx, "_serialize") else model.SerializeToString(),
        opts,
        providers=["CPUExecutionProvider"],
    )
    feed = {"x": x.numpy()}

    def run() -> object:
        return session.run(None, feed)

    def result() -> np.ndarray:
        return np.asarray(session.run(None, feed)[0], dtype=np.float64)

    return run, result


_BUILDERS = {"jax": _jax, "keras": _keras, "onnxruntime": _onnxruntime}


def build(peer: str, layer: Layer, grad: bool) -> Built:
    """``(run, result)`` for ``layer`` in framework ``peer`` (float32, CPU), forward or, with
    ``grad``, forward and backward (gradients of input, weight and bias).

    Raises:
        ValueError: if ``peer`` is not one of :data:`PEERS`.
        Unsupported: if the framework cannot express the layer.
        ImportError: if the framework is not installed.
    """
    if peer not in _BUILDERS:
        raise ValueError(f"peer={peer!r} is invalid: valid peers are {PEERS}")
    x, w, b = layer.tensors(torch.float32)
    return _BUILDERS[peer](layer, x, w, b, grad)
