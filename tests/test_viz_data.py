"""Every number the views show equals an independent computation (tests/reference.py).

Random settings (hypothesis) over rank 1 and 2, every padding form, output_padding or
output_size, dilation; random weights and inputs.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from reference import conv_transpose_numpy
from tconv import ShapeError
from tconv.shapes import Geometry
from tconv.viz import Settings, explain_data, matrix_data, scatter_data, zero_insertion_data


@st.composite
def settings(draw, ranks=(1, 2)):
    """(Settings, weight, x) for random valid small settings of any padding form."""
    rank = draw(st.sampled_from(ranks))
    per = lambda s: tuple(draw(s) for _ in range(rank))  # noqa: E731
    size = per(st.integers(1, 5 if rank == 1 else 3))
    kernel = per(st.integers(1, 4))
    stride = per(st.integers(1, 3))
    dilation = per(st.integers(1, 2))
    form = draw(st.sampled_from(["int", "named", "pairs", "output_size"]))
    kwargs: dict = {"stride": stride, "dilation": dilation}
    if form == "int":
        kwargs["padding"] = per(st.integers(0, 3))
        kwargs["output_padding"] = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
        )
    elif form == "named":
        kwargs["padding"] = draw(st.sampled_from(["same", "valid", "same_lower"]))
    elif form == "pairs":
        kwargs["padding"] = tuple(
            (draw(st.integers(-2, 3)), draw(st.integers(-2, 3))) for _ in range(rank)
        )
    else:
        kwargs["padding"] = per(st.integers(0, 2))
        g = Geometry.create(kernel, stride, kwargs["padding"], 0, dilation, rank=rank)
        try:
            ranges = g.output_size_range(size)
        except ShapeError:
            assume(False)
        kwargs["output_size"] = tuple(draw(st.integers(lo, hi)) for lo, hi in ranges)
    try:
        s = Settings.create(size, kernel, **kwargs)
    except ShapeError:
        assume(False)
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    w = torch.randint(-4, 6, kernel, generator=gen).double()
    x = torch.randint(-3, 7, size, generator=gen).double()
    return s, w, x


def reference(x: torch.Tensor, w: torch.Tensor, s: Settings, crop=None) -> np.ndarray:
    g = s.geometry
    crop = g.crop if crop is None else crop
    return conv_transpose_numpy(x[None, None], w[None, None], None, g.stride, crop, g.dilation, 1)[
        0, 0
    ]


def one_hot(s: Settings, j: int, value: float = 1.0) -> torch.Tensor:
    e = torch.zeros(math.prod(s.input_size), dtype=torch.float64)
    e[j] = value
    return e.reshape(s.input_size)


@given(settings())
def test_matrix_view_numbers(case):
    s, w, x = case
    d = matrix_data(s, w, x)
    C, CT = np.array(d["C"]), np.array(d["CT"])
    assert d["output_size"] == list(reference(x, w, s).shape)
    # row j of C is the transposed convolution of the j-th one-hot input (C's definition)
    for j in range(math.prod(s.input_size)):
        np.testing.assert_allclose(C[j], reference(one_hot(s, j), w, s).ravel())
    np.testing.assert_allclose(CT, C.T)
    np.testing.assert_allclose(d["x"], x.numpy().ravel())
    np.testing.assert_allclose(d["y"], reference(x, w, s).ravel())
    # each entry is the weight of the tap it names
    taps = np.array(d["taps"])
    np.testing.assert_allclose(np.where(taps >= 0, w.numpy().ravel()[np.maximum(taps, 0)], 0.0), C)


@given(settings())
def test_zero_insertion_view_numbers(case):
    s, w, x = case
    g = s.geometry
    d = zero_insertion_data(s, w, x)
    out = reference(x, w, s)
    np.testing.assert_allclose(d["output"], out)
    # the input with stride - 1 zeros between neighbours
    inserted = np.zeros([(i - 1) * sv + 1 for i, sv in zip(s.input_size, g.stride)])
    inserted[tuple(slice(None, None, sv) for sv in g.stride)] = x.numpy()
    np.testing.assert_allclose(d["inserted"], inserted)
    padded, kind = np.array(d["padded"]), np.array(d["kind"])
    held = kind[kind >= 0].tolist()  # a crop wider than the kernel span cuts input cells off
    assert held == sorted(set(held)) and set(held) <= set(range(x.numel()))
    np.testing.assert_allclose(
        np.where(kind >= 0, x.numpy().ravel()[np.maximum(kind, 0)], 0.0), padded
    )
    # the border zeros lie outside the (possibly cropped) zero-inserted input, the inserted
    # zeros inside it
    box = np.zeros(padded.shape, dtype=bool)
    inner = []
    for n, (a, b) in zip(inserted.shape, d["border"]):
        inner.append(slice(max(a, 0), max(a, 0) + n - max(-a, 0) - max(-b, 0)))
    box[tuple(inner)] = True
    np.testing.assert_array_equal(kind == -2, ~box)
    np.testing.assert_allclose(d["flipped"], np.flip(w.numpy()))
    # output[o] = sum over taps of flipped[t] * padded[read cell]
    flat = padded.ravel()
    fl = np.array(d["flipped"]).ravel()
    for o, cells in enumerate(d["reads"]):
        assert out.ravel()[o] == pytest.approx(float(fl @ flat[cells]))
    assert padded.shape == tuple(
        o + dd * (k - 1) for o, dd, k in zip(out.shape, g.dilation, g.kernel_size)
    )


@given(settings())
def test_scatter_view_numbers(case):
    s, w, x = case
    g = s.geometry
    d = scatter_data(s, w, x)
    zero = ((0, 0),) * g.rank
    full = reference(x, w, s, zero)
    assert d["full_size"] == list(full.shape)
    for j, fp in enumerate(d["footprints"]):
        xj = x.reshape(-1)[j].item()
        np.testing.assert_allclose(fp, reference(one_hot(s, j, xj), w, s, zero).ravel())
        taps = np.array(d["taps"][j])
        np.testing.assert_allclose(
            np.where(taps >= 0, xj * w.numpy().ravel()[np.maximum(taps, 0)], 0.0), fp
        )
        assert (taps >= 0).sum() == w.numel()
    np.testing.assert_allclose(d["full"], full)
    ones = reference(torch.ones_like(x), torch.ones_like(w), s, zero)
    np.testing.assert_array_equal(d["counts"], ones)
    np.testing.assert_allclose(d["output"], reference(x, w, s))
    assert [tuple(c) for c in d["crop"]] == list(g.crop)
    # output_padding / output_size cells: the difference to the same layer without them
    base = [L - lo - hi for L, (lo, hi) in zip(full.shape, s.base.crop)]
    assert d["extra"] == [o - b for o, b in zip(np.shape(d["output"]), base)]
    # the phase counts are the tap counts of each phase, read off the kernel positions
    for phase in itertools.product(*(range(v) for v in g.stride)):
        taps_here = sum(
            all((t * dd) % sv == p for t, dd, sv, p in zip(tap, g.dilation, g.stride, phase))
            for tap in itertools.product(*(range(k) for k in g.kernel_size))
        )
        assert np.array(d["phase_overlap"])[phase] == taps_here


def test_seed_example_two_formula():
    """Seed example 2: 16 -> 32 with output_padding 1, and 31 without it (not 33)."""
    d = explain_data(Settings.create(16, 3, stride=2, padding=1, output_padding=1))
    assert d["formula"] == ["(16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32"]
    assert d["scatter"]["extra"] == [1] and d["full_size"] == [33]
    d = explain_data(Settings.create(16, 3, stride=2, padding=1))
    assert d["output_size"] == [31]


def test_settings_errors():
    with pytest.raises(ShapeError, match=r"output_padding=\(2,\) is invalid"):
        Settings.create(4, 3, stride=2, output_padding=2)
    with pytest.raises(ShapeError, match="too large to draw"):
        Settings.create((40, 40), 3)
    with pytest.raises(ShapeError, match="1 or 2 spatial lengths"):
        Settings.create((2, 2, 2), 3)
    with pytest.raises(ShapeError, match="not both"):
        Settings.create(4, 3, stride=2, output_padding=1, output_size=8)
    with pytest.raises(ShapeError, match="valid sizes range from"):
        Settings.create(4, 3, stride=2, output_size=20)
