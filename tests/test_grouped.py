"""The grouped execution (torch's forward, a backward of its own) gives torch's outputs and
gradients for every grouped geometry, and auto times it where it can matter."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
from strategies import cases
from tconv.methods import auto, grouped
from tconv.shapes import Geometry

CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@settings(max_examples=60, deadline=None)
@given(
    case=cases(ranks=(1, 2, 3)),
    groups=st.sampled_from([2, 3, 4]),
    multiplier=st.sampled_from([(1, 1), (1, 2), (2, 1), (2, 3)]),
    chunk=st.sampled_from([None, 1]),
)
def test_outputs_and_gradients_equal_torch(case, groups, multiplier, chunk):
    old = grouped._CHUNK_ELEMENTS
    grouped._CHUNK_ELEMENTS = chunk or old  # 1: one sample per chunk of the weight gradient
    try:
        _check(case, groups, multiplier)
    finally:
        grouped._CHUNK_ELEMENTS = old


def _check(case, groups, multiplier):
    cin, cout = groups * multiplier[0], groups * multiplier[1]
    x = torch.randn(3, cin, *case.size, dtype=torch.float64, requires_grad=True)
    w = torch.randn(cin, cout // groups, *case.kernel, dtype=torch.float64, requires_grad=True)
    b = torch.randn(cout, dtype=torch.float64, requires_grad=True) if case.bias else None
    geom = Geometry.create(
        case.kernel, case.stride, case.padding, case.output_padding, case.dilation, groups,
        rank=case.rank,
    )  # fmt: skip
    leaves = [t for t in (x, w, b) if t is not None]
    y = grouped.forward(x, w, b, geom)
    conv = CONV_T[case.rank]
    ref = conv(x, w, b, case.stride, case.padding, case.output_padding, groups, case.dilation)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    gy = torch.randn_like(ref)
    for got, want in zip(
        torch.autograd.grad(y, leaves, gy), torch.autograd.grad(ref, leaves, gy), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


def test_only_the_wanted_gradients_and_gradients_of_gradients():
    g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1, dilation=2, groups=2)
    x = torch.randn(2, 4, 4, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x, w, b: grouped.forward(x, w, b, g), (x, w, b))
    (gw,) = torch.autograd.grad(grouped.forward(x.detach(), w, None, g).sum(), [w])
    ref = F.conv_transpose2d(x.detach(), w, None, 2, 1, 1, 2, 2)
    torch.testing.assert_close(gw, torch.autograd.grad(ref.sum(), [w])[0])


def test_auto_times_it_for_grouped_layers_with_gradients_only():
    g = Geometry.create((4, 4), stride=2, padding=1, groups=4)
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 1, 4, 4)
    assert "grouped" in auto.candidates(x, w, g, grad=True)
    assert "grouped" not in auto.candidates(x, w, g, grad=False)  # its forward is native's
    dense = Geometry.create((4, 4), stride=2, padding=1)
    assert "grouped" not in auto.candidates(x, torch.randn(4, 2, 4, 4), dense, grad=True)
    # what auto runs with it equals torch, gradients included
    w.requires_grad_()
    y = auto.run("grouped/channels_last", x, w, None, g)
    ref = F.conv_transpose2d(x, w, None, 2, 1, 0, 4)
    torch.testing.assert_close(y, ref)
    gy = torch.randn_like(ref)
    torch.testing.assert_close(
        torch.autograd.grad(y, [w], gy)[0], torch.autograd.grad(ref, [w], gy)[0]
    )
    out = tconv.conv_transpose(x, w, None, 2, 1, groups=4, method="auto")
    torch.testing.assert_close(out, ref)
