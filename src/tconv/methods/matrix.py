"""The first view: a transposed convolution IS the transpose of the convolution matrix.

An ordinary convolution is linear, so for one sample it is a matrix ``C`` acting on the
flattened input: ``conv(z).flatten() == C @ z.flatten()``. Each row of ``C`` is one output
element; it holds the kernel taps at the columns of the input elements that the kernel covers.
The transposed convolution with the same weight is ``y = Cᵀ x``: every input element ``x[j]``
sends ``w[t]`` to the positions its row of ``C`` came from. That is where "transposed" comes
from, and it is also why a transposed convolution is the gradient of a convolution.

Worked example, 1-D, kernel ``[1, 2, 3]``, stride 2. The transposed convolution of a length-2
input has length ``(2 - 1) * 2 + 3 = 5``; the ordinary convolution it transposes maps length 5
to length 2, and its matrix is 2 x 5:

>>> import torch
>>> w = torch.tensor([[[1.0, 2.0, 3.0]]])
>>> C = conv_matrix(w, 5, stride=2)
>>> C.to_dense()
tensor([[1., 2., 3., 0., 0.],
        [0., 0., 1., 2., 3.]])
>>> x = torch.tensor([1.0, 10.0])
>>> C.t().to_dense() @ x  # the transposed convolution: Cᵀ x
tensor([ 1.,  2., 13., 20., 30.])
>>> torch.nn.functional.conv_transpose1d(x.view(1, 1, 2), w, stride=2).flatten()
tensor([ 1.,  2., 13., 20., 30.])

Padding of the ordinary convolution is cropping of the transposed one: the crop ``(lo, hi)``
of a transposed convolution is the padding ``(lo, hi)`` of the convolution it transposes.
The matrix is stored sparse (COO), so memory is O(non-zeros) = O(outputs x taps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
from torch import Tensor

from ..shapes import (
    Geometry,
    IntOrTuple,
    PaddingSpec,
    ShapeError,
    _is_int,
    _pairs,
    as_tuple,
    conv_output_size,
)
from .spec import MethodSpec

__all__ = ["conv_matrix", "forward"]

_HALF = (torch.float16, torch.bfloat16)


def conv_matrix(
    weight: Tensor,
    input_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """The sparse matrix ``C`` of the ordinary convolution with ``weight``, for one sample.

    ``C @ z.flatten() == torch.nn.functional.conv{1,2,3}d(z[None], weight, ...).flatten()``
    for a single sample ``z`` of shape ``(in_channels, *input_size)``; its transpose ``Cᵀ`` is
    the transposed convolution with the same ``weight`` (whose output size is ``input_size``).

    Args:
        weight: ``(out_channels, in_channels // groups, *K)``, the layout of ``conv{1,2,3}d``
            (the same tensor is a transposed convolution's weight); rank = ``weight.dim() - 2``.
        input_size: spatial size of the convolution's input (an int or ``rank`` ints).
        stride: an int or ``rank`` ints, each >= 1.
        dilation: an int or ``rank`` ints, each >= 1.
        padding: an int, ``rank`` ints, or ``(begin, end)`` pairs per dimension (asymmetric),
            each >= 0; the padding of the convolution is the crop of the transposed one.
        groups: divides ``out_channels``; ``in_channels = weight.shape[1] * groups``.

    Returns:
        A coalesced sparse COO tensor whose values are differentiable in ``weight``; it stores
        exactly one entry per kernel tap that lands inside the (unpadded) input.

    Shape:
        - weight: ``(C_out, C_in // groups, *K)``
        - output: ``(C_out * prod(O), C_in * prod(input_size))``, channels outermost, then the
          spatial positions row-major, with
          ``O = (input_size + begin + end - dilation * (K - 1) - 1) // stride + 1``
          (:func:`tconv.shapes.conv_output_size`)

    Raises:
        ShapeError: on a bad rank, size, stride, dilation, padding or groups, naming the value
            and the valid range.

    Example:
        >>> w = torch.ones(2, 1, 3, 3)
        >>> C = conv_matrix(w, (4, 4), stride=2, padding=1)
        >>> C.shape, C._nnz()  # 2 channels x (2 + 3)**2: border taps on the padding are absent
        (torch.Size([8, 16]), 50)
        >>> z = torch.randn(1, 4, 4)
        >>> y = torch.nn.functional.conv2d(z[None], w, stride=2, padding=1)
        >>> torch.allclose(C @ z.flatten(), y.flatten())
        True
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight must be a tensor, got {type(weight).__name__}")
    rank = weight.dim() - 2
    if rank not in (1, 2, 3):
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected 3, 4 or 5 dimensions "
            "(out_channels, in_channels // groups, *kernel_size) for a 1-, 2- or 3-D convolution"
        )
    kernel = tuple(int(k) for k in weight.shape[2:])
    if any(k < 1 for k in kernel):
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: each kernel_size must be >= 1"
        )
    if not _is_int(groups):
        raise TypeError(
            f"groups={groups!r} is invalid: expected an int, got {type(groups).__name__}"
        )
    if int(groups) < 1:
        raise ShapeError(f"groups={groups!r} is invalid: groups must be an int >= 1")
    groups = int(groups)
    out_channels, in_per_group = int(weight.shape[0]), int(weight.shape[1])
    if out_channels % groups:
        raise ShapeError(
            f"out_channels={out_channels} (weight.shape[0]) is not divisible by groups={groups}; "
            f"valid groups divide {out_channels}"
        )
    sized = isinstance(input_size, Sequence) and not isinstance(input_size, str)
    if sized and len(cast(Sequence[int], input_size)) != rank:
        raise ShapeError(
            f"input_size={tuple(cast(Sequence[int], input_size))} is invalid: a weight of "
            f"shape {tuple(weight.shape)} is {rank}-D, so input_size needs {rank} entries"
        )
    n = as_tuple(input_size, rank, "input_size")
    if any(v < 1 for v in n):
        raise ShapeError(f"input_size={n} is invalid: every spatial length must be >= 1")
    s = as_tuple(stride, rank, "stride")
    d = as_tuple(dilation, rank, "dilation")
    for name, value in (("stride", s), ("dilation", d)):
        if any(v < 1 for v in value):
            raise ShapeError(f"{name}={value} is invalid: each {name} must be >= 1")
    if isinstance(padding, str):
        raise ShapeError(
            f"padding={padding!r} is invalid for conv_matrix: give an int, {rank} ints or "
            f"{rank} (begin, end) pairs"
        )
    pads = _pairs(padding, rank)
    if any(a < 0 or b < 0 for a, b in pads):
        raise ShapeError(
            f"padding={pads} is invalid: conv_matrix needs every begin and end >= 0 (a "
            "negative padding is a crop of the input; crop the input instead)"
        )
    out = conv_output_size(n, kernel, s, pads, d)

    device = weight.device
    po, pk, pn = math.prod(out), math.prod(kernel), math.prod(n)
    # Per dimension j, over the grid (o_j, t_j): the input position p = o*s + t*d - begin and
    # whether it is inside the input. Broadcast to (O_0, .., O_r-1, K_0, .., K_r-1).
    valid = torch.ones((1,) * (2 * rank), dtype=torch.bool, device=device)
    flat_p = torch.zeros((1,) * (2 * rank), dtype=torch.long, device=device)
    for j in range(rank):
        o = torch.arange(out[j], device=device).view(-1, 1)
        t = torch.arange(kernel[j], device=device).view(1, -1)
        p = o * s[j] + t * d[j] - pads[j][0]
        shape = [1] * (2 * rank)
        shape[j], shape[rank + j] = out[j], kernel[j]
        valid = valid & ((p >= 0) & (p < n[j])).view(shape)
        flat_p = flat_p + (p * math.prod(n[j + 1 :])).view(shape)
    valid = valid.expand(*out, *kernel).reshape(po, pk)
    flat_p = flat_p.expand(*out, *kernel).reshape(po, pk)
    # (o, ci, t) in lexicographic order; with oc outermost the (row, col) pairs come out
    # sorted and unique, so C is coalesced by construction.
    o_i, ci_i, t_i = valid[:, None, :].expand(po, in_per_group, pk).nonzero().unbind(1)
    # Every (oc, entry) pair: the big arrays are written once each (memory traffic dominates).
    oc = torch.arange(out_channels, device=device).view(-1, 1)
    group_col = (oc // (out_channels // groups)) * (in_per_group * pn)
    indices = torch.empty((2, out_channels, o_i.numel()), dtype=torch.long, device=device)
    torch.add(oc * po, o_i, out=indices[0])
    torch.add(group_col, ci_i * pn + flat_p[o_i, t_i], out=indices[1])
    values = weight.reshape(out_channels, in_per_group * pk)[:, ci_i * pk + t_i]
    return torch.sparse_coo_tensor(
        indices.view(2, -1),
        values.reshape(-1),
        (out_channels * po, in_per_group * groups * pn),
        is_coalesced=True,
        check_invariants=False,
    )


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Transposed convolution as ``y = Cᵀ x``, ``C`` = :func:`conv_matrix` (module docstring).

    The ordinary convolution with padding ``(lo, hi)`` (the crops) on the transposed
    convolution's output size maps back to its input size; all samples go through one sparse
    matrix product with the batch as columns, ``torch.sparse.mm(C.t(), X)``.

    When the weight needs a gradient, the same product is written out from C's stored
    entries instead, ``y[c] += C[r, c] * X[r]`` for every stored ``(r, c)`` (a gather, a
    multiply and an ``index_add``): torch's sparse-matrix backward forms the dense
    ``rows x cols`` product before masking it to the sparsity pattern (34 GB for a
    64x32x32 -> 32x64x64 layer), while this form keeps the gradient O(non-zeros x N).
    float16/bfloat16 are computed in float32 and the result is cast back.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
        - output: ``(N, C_out, *O)`` with ``O = geom.output_size(I)``

    Example:
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create(3, stride=2, padding=1, output_padding=1)
        >>> forward(torch.ones(1, 1, 2), torch.ones(1, 1, 3), None, g).tolist()
        [[[1.0, 2.0, 1.0, 1.0]]]
    """
    # The sparse matrix's pattern comes from data-dependent ops (nonzero, a sparse COO tensor)
    # that torch.compile cannot trace: under compile this method runs eagerly between the
    # compiled parts of the model (Dynamo tracing into it split it into many small graphs, each
    # compiled again for every shape: minutes for a small model). The disable wrapper is made
    # here, not as a decorator: making it imports torch._dynamo (a second at `import tconv`).
    if torch.compiler.is_compiling():
        return torch.compiler.disable(_forward)(x, weight, bias, geom)
    return _forward(x, weight, bias, geom)


def _forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    dtype = x.dtype
    if dtype in _HALF:
        x, weight = x.float(), weight.float()
        bias = None if bias is None else bias.float()
    batch = x.shape[0]
    out_size = geom.cropped_size(tuple(x.shape[2:]))  # 0 where apply() crops it all away
    out_channels = weight.shape[1] * geom.groups
    if 0 in out_size:  # nothing to compute; keep the result in the graph of x and weight
        empty = (batch, out_channels, *out_size)
        y = x.reshape(-1)[:0].view(empty) + weight.reshape(-1)[:0].view(empty)
        return (y if bias is None else y + bias.view((1, -1) + (1,) * geom.rank)).to(dtype)
    C = conv_matrix(weight, out_size, geom.stride, geom.crop, geom.dilation, geom.groups)
    columns = x.reshape(batch, math.prod(x.shape[1:])).t()  # (C_in * prod(I), N)
    if torch.is_grad_enabled() and C.requires_grad:
        rows, cols = C.indices()
        products = C.values().unsqueeze(1) * columns.index_select(0, rows)
        y = columns.new_zeros((C.shape[1], batch)).index_add(0, cols, products)
    else:
        y = torch.sparse.mm(C.t(), columns)
    y = y.t().reshape(batch, out_channels, *out_size)
    if bias is not None:
        y = y + bias.view((1, -1) + (1,) * geom.rank)
    return y.to(dtype)


#: The registry's entry (:mod:`tconv.methods`); its sparse matrix grows with the multiply-adds.
METHOD = MethodSpec(
    "matrix",
    forward,
    "the transposed convolution matrix",
    benchmark=False,
    max_macs=20_000_000,
    color="#bdbdbd",
)
