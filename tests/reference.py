"""Independent references for tests (nothing here uses tconv): transposed convolution in plain
numpy (float64), and a search over torch's own padding arguments.

Written from the definition, sharing no code with tconv: every input element scatters
``x[j] * w[t]`` to full-output position ``j * stride + t * dilation``; the result is
``full[lo : L - hi]`` (negative crops extend with zeros) plus bias.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch


def conv_transpose_numpy(x, w, bias, stride, crop, dilation, groups):
    """x: (N, Cin, *I), w: (Cin, Cout/g, *K); stride/dilation tuples; crop ((lo, hi), ...)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, cin = x.shape[:2]
    rank = x.ndim - 2
    isz, ksz = x.shape[2:], w.shape[2:]
    cout_g = w.shape[1]
    cin_g = cin // groups
    full = [(i - 1) * s + d * (k - 1) + 1 for i, k, s, d in zip(isz, ksz, stride, dilation)]
    out = np.zeros((n, cout_g * groups, *full))
    for t in itertools.product(*[range(k) for k in ksz]):
        for g in range(groups):
            xs = x[:, g * cin_g : (g + 1) * cin_g]
            wt = w[(slice(g * cin_g, (g + 1) * cin_g), slice(None), *t)]  # (cin_g, cout_g)
            contrib = np.einsum("nc...,co->no...", xs, wt)
            idx = tuple(
                slice(tt * d, tt * d + (i - 1) * s + 1, s)
                for tt, d, i, s in zip(t, dilation, isz, stride)
            )
            out[(slice(None), slice(g * cout_g, (g + 1) * cout_g), *idx)] += contrib
    for j, (lo, hi) in enumerate(crop):
        axis = 2 + j
        if lo < 0 or hi < 0:
            pad = [(0, 0)] * out.ndim
            pad[axis] = (max(-lo, 0), max(-hi, 0))
            out = np.pad(out, pad)
        length = out.shape[axis]
        sl = [slice(None)] * out.ndim
        sl[axis] = slice(max(lo, 0), length - max(hi, 0))
        out = out[tuple(sl)]
    if bias is not None:
        out = out + np.asarray(bias, dtype=np.float64).reshape((1, -1) + (1,) * rank)
    return out


def _check_reference():
    """The reference on a hand-worked case (1-D, k3 s2 p1 op1, weights 1,2,3)."""
    x = np.array([[[1.0, 10.0]]])
    w = np.array([[[1.0, 2.0, 3.0]]])
    # full: positions 0..4 = [1, 2, 3+10, 20, 30]; crop (1, 0) -> [2, 13, 20, 30]
    got = conv_transpose_numpy(x, w, None, (2,), ((1, 0),), (1,), 1)
    assert got.tolist() == [[[2.0, 13.0, 20.0, 30.0]]], got


def torch_reaches(x, weight, stride, want):
    """Whether some PyTorch padding/output_padding gives ``want`` (1-D, dilation 1)."""
    for p in range(weight.shape[-1] + 1):
        for op in range(stride):
            try:
                y = torch.nn.functional.conv_transpose1d(
                    torch.from_numpy(x), weight, stride=stride, padding=p, output_padding=op
                )
            except RuntimeError:  # torch refuses an empty output
                continue
            if y.shape == want.shape and np.allclose(y.numpy(), want, rtol=1e-5, atol=1e-5):
                return True
    return False
