"""The one geometry: sizes agree with torch, named paddings mean what Keras/JAX/ONNX mean."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from strategies import cases
from tconv import shapes
from tconv.shapes import Geometry, ShapeError

CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}

dims = st.integers(1, 3)


@st.composite
def torch_settings(draw):
    rank = draw(dims)
    k = tuple(draw(st.integers(1, 5)) for _ in range(rank))
    s = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    d = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    p = tuple(draw(st.integers(0, 4)) for _ in range(rank))
    op = tuple(draw(st.integers(0, max(a, b) - 1)) for a, b in zip(s, d))
    i = tuple(draw(st.integers(1, 6)) for _ in range(rank))
    return rank, i, k, s, p, op, d


@given(torch_settings())
def test_output_size_equals_torch_or_raises_where_torch_gives_nothing(settings):
    rank, i, k, s, p, op, d = settings
    x = torch.zeros(1, 1, *i)
    w = torch.zeros(1, 1, *k)
    try:
        ref = CONV_T[rank](x, w, None, s, p, op, 1, d).shape[2:]
    except RuntimeError:
        with pytest.raises(ShapeError, match="every length must be >= 1"):
            shapes.output_size(i, k, s, p, op, d)
        return
    if min(ref) < 1:
        with pytest.raises(ShapeError):
            shapes.output_size(i, k, s, p, op, d)
    else:
        assert shapes.output_size(i, k, s, p, op, d) == tuple(ref)


@given(torch_settings())
def test_range_and_output_padding_for_round_trip(settings):
    _, i, k, s, p, op, d = settings
    g = Geometry.create(k, s, p, 0, d)
    try:
        lo_hi = g.output_size_range(i)
    except ShapeError:
        return
    for j, (lo, hi) in enumerate(lo_hi):
        assert 0 <= hi - lo <= max(s[j], d[j]) - 1  # lengths below 1 are not in the range
    target = tuple(lo + (o % (hi - lo + 1)) for (lo, hi), o in zip(lo_hi, op))
    found = shapes.output_padding_for(i, target, k, s, p, d)
    assert shapes.output_size(i, k, s, p, found, d) == target
    with pytest.raises(ShapeError, match="requested an output size of"):
        shapes.output_padding_for(i, tuple(h + 1 for _, h in lo_hi), k, s, p, d)


@given(st.integers(1, 9), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3))
def test_same_gives_input_times_stride_for_every_kernel_stride_dilation(i, k, s, d):
    for name in ("same", "same_lower"):
        assert shapes.output_size(i, k, s, name, 0, d) == (i * s,)
    ((lo, hi),) = Geometry.create(k, s, "same", dilation=d).crop
    ((lo2, hi2),) = Geometry.create(k, s, "same_lower", dilation=d).crop
    total = d * (k - 1) + 1 - s
    if total >= 0:
        assert lo + hi == total and hi - lo == total % 2 and (lo2, hi2) == (hi, lo)
    else:  # span shorter than stride: zero-extend at the end, as Keras and JAX do
        assert (lo, hi) == (lo2, hi2) == (0, total)


@given(st.integers(1, 9), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3))
def test_valid_is_the_full_output_extended_to_at_least_stride_per_input(i, k, s, d):
    span = d * (k - 1) + 1
    assert shapes.output_size(i, k, s, "valid", 0, d) == ((i - 1) * s + max(span, s),)


def test_pairs_are_begin_end_crops_and_may_extend():
    assert shapes.output_size(5, 3, 2, ((1, 2),)) == (8,)
    assert shapes.output_size(5, 3, 2, ((-1, 0),)) == (12,)
    assert Geometry.create((3, 3), 2, ((0, 1), (2, 0))).crop == ((0, 1), (2, 0))


def test_int_or_tuple_in_tuple_out_and_numpy_ints():
    assert shapes.output_size(16, 2, 2) == (32,)
    assert shapes.output_size(np.int64(16), np.int64(2), np.int64(2)) == (32,)
    assert shapes.output_size((16, 8, 4), 2, 2) == (32, 16, 8)
    assert shapes.full_size(16, 3, 2) == (33,)


def test_seed_article_example_two_is_32_not_33():
    assert shapes.output_size((16, 16), 3, 2, 1, 1) == (32, 32)
    assert shapes.output_size((16, 16), 3, 2, 0, 0) == (33, 33)


@given(torch_settings())
def test_torch_padding_round_trips(settings):
    _, _, k, s, p, op, d = settings
    g = Geometry.create(k, s, p, op, d)
    assert g.torch_padding() == (p, op)


def test_torch_cannot_express_same_for_k3_s2():
    assert Geometry.create(3, 2, "same").torch_padding() is None
    assert Geometry.create(4, 2, "same").torch_padding() == ((1,), (0,))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(kernel_size=0), r"kernel_size=\(0,\) is invalid: each kernel_size must be >= 1"),
        (dict(kernel_size=3, stride=(1, 2, 3, 4)), r"tconv supports 1, 2 or 3 spatial"),
        (dict(kernel_size=3, groups=0), r"groups=0 is invalid: groups must be an int >= 1"),
        (dict(kernel_size=3, padding=((1, 2, 3),)), r"padding=\(\(1, 2, 3\),\) is invalid"),
        (
            dict(kernel_size=(3, 3), stride=2, output_padding=(0, 3)),
            r"output_padding=\(0, 3\) is invalid for stride=\(2, 2\)",
        ),
        (dict(kernel_size=3, padding="half"), r"padding='half' is invalid: valid names are"),
    ],
)
def test_create_errors(kwargs, match):
    with pytest.raises(ShapeError, match=match):
        Geometry.create(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(kernel_size=3, padding_mode="wrap"), ValueError, r"padding_mode='wrap' is invalid"),
        (dict(kernel_size=3, stride=True), TypeError, r"stride=True is invalid: .* got bool"),
        (dict(kernel_size=3, stride="a"), TypeError, r"stride='a' is invalid: .* got str"),
        (dict(kernel_size=3, padding=1.5), TypeError, r"padding=1.5 is invalid: .* got float"),
        (dict(kernel_size=3, groups=1.5), TypeError, r"groups=1.5 is invalid: .* got float"),
        (dict(kernel_size=(3, 2.0)), TypeError, r"kernel_size=\(3, 2.0\) is invalid: .* float"),
    ],
)
def test_named_options_are_value_errors_and_wrong_types_type_errors(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        Geometry.create(**kwargs)
    assert not isinstance(info.value, ShapeError)


def test_create_cache_tells_bools_and_floats_from_ints():
    assert Geometry.create(3, stride=1).stride == (1,)  # cached with the int 1
    for stride in (True, 1.0, (1.0,)):
        with pytest.raises(TypeError, match="stride="):
            Geometry.create(3, stride=stride)
    assert Geometry.create(3, stride=[2]) is Geometry.create(3, stride=(2,))


def test_with_output_size_lists_range_and_nearest():
    g = Geometry.create((3, 3), 2, 1)
    with pytest.raises(
        ShapeError,
        match=r"valid sizes range from \(31, 31\) to \(32, 32\).*"
        r"nearest reachable size is \(32, 31\)",
    ):
        g.with_output_size((16, 16), (33, 31))
    assert g.with_output_size((16, 16), (33, 31), allow_crop=True).output_size((16, 16)) == (33, 31)


def test_padding_mode_limits():
    g = Geometry.create(5, 1, 2, padding_mode="reflect")
    with pytest.raises(ShapeError, match="padding_mode='reflect' needs every crop < the output"):
        g.check_padding_mode(1)
    Geometry.create(3, 1, 1, padding_mode="circular").check_padding_mode(1)


# ---------------------------------------------------------------------------------------------
# coverage: the tap count per output cell, checked against torch (all-ones input and kernel)

MODES = ("zeros", "circular", "reflect", "replicate")
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _torch_tap_counts(g: Geometry, size: tuple[int, ...]) -> torch.Tensor:
    """torch's tap count per output cell, independently of tconv: zeros mode is torch's
    conv_transpose of ones over the full output, then extended/cropped by hand; another mode is
    the gradient of torch's own padded convolution (the transposed convolution is its adjoint)."""
    rank = g.rank
    ones = torch.ones(1, 1, *size, dtype=torch.float64)
    w = torch.ones(1, 1, *g.kernel_size, dtype=torch.float64)
    pos = [v for lo, hi in reversed(g.crop) for v in (max(lo, 0), max(hi, 0))]
    neg = [v for lo, hi in reversed(g.crop) for v in (min(lo, 0), min(hi, 0))]
    if g.padding_mode == "zeros":
        full = CONV_T[rank](ones, w, stride=g.stride, dilation=g.dilation)
        return F.pad(F.pad(full, [-v for v in neg]), [-v for v in pos])[0, 0]
    out = g.output_size(size)
    y = torch.zeros(1, 1, *out, dtype=torch.float64, requires_grad=True)
    x = F.pad(F.pad(y, pos, mode=g.padding_mode), neg)
    conv = CONV[rank](x, w, stride=g.stride, dilation=g.dilation)
    assert conv.shape[2:] == size
    (grad,) = torch.autograd.grad(conv.sum(), y)
    return grad[0, 0]


@given(cases(paddings=("torch", "pairs", "named")), st.sampled_from(MODES))
def test_coverage_counts_taps_as_torch_does(case, mode):
    g = Geometry.create(case.kernel, case.stride, case.padding, case.output_padding, case.dilation)
    g = dataclasses.replace(g, padding_mode=mode)
    size = case.size
    try:
        cov = g.coverage(size)
    except ShapeError:  # a border fold the mode cannot do: torch's padding refuses it too
        assert mode in ("circular", "reflect")
        return
    ref = _torch_tap_counts(g, size)
    counts = cov.counts()
    outer = torch.ones((), dtype=torch.float64)
    for c in counts:
        outer = outer[..., None] * torch.tensor(c, dtype=torch.float64)
    torch.testing.assert_close(outer, ref, rtol=0, atol=0)
    # the arithmetic summary (no per-cell work) agrees with the cell counts
    assert cov.output_size == tuple(ref.shape)
    assert cov.uncovered == int((ref == 0).sum())
    assert cov.uncovered_positions == tuple(c.count(0) for c in counts)
    assert cov.full == bool((ref > 0).all())
    for c, (lo, _), (e0, e1) in zip(counts, g.crop, cov.beyond):
        full_len = len(c) + lo + _
        assert e0 == sum(1 for o, v in enumerate(c) if v == 0 and o + lo < 0)
        assert e1 == sum(1 for o, v in enumerate(c) if v == 0 and o + lo >= full_len)
    assert (cov.describe() == "") == cov.full


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "output_padding", "size", "holes"),
    [
        (2, 2, 1, 1, 16, (32,)),  # the last cell is beyond the full output
        (6, 6, 1, 4, 16, (96, 97, 98, 99)),
        (5, 6, 1, 0, 3, (5, 11)),  # a hole every 6 cells
        (2, 2, 2, 0, 3, (1, 3, 5)),  # dilation 2 with stride 2: only even cells
        (2, 3, 4, 0, 1, (1, 2, 3)),  # dilation above the stride: a border hole
        (3, 2, 1, 1, 16, (33,)),  # torch's k3 s2 p0 output_padding 1: the last cell
        (3, 2, 1, 0, 16, ()),
    ],
)
def test_uncovered_cells_by_hand(kernel, stride, dilation, output_padding, size, holes):
    g = Geometry.create(kernel, stride, 0, output_padding, dilation)
    cov = g.coverage(size)
    (counts,) = cov.counts()
    assert tuple(o for o, v in enumerate(counts) if v == 0) == holes
    assert cov.uncovered == len(holes) and cov.full == (not holes)


def test_coverage_needs_no_memory_for_huge_sizes():
    cov = Geometry.create(3, stride=10**20).coverage(10**21)
    assert cov.uncovered == cov.output_size[0] - 3 * 10**21
    assert Geometry.create(4, stride=2, padding=1).coverage(10**30).full
    assert Geometry.create(10**25, stride=1).coverage(4).full  # one residue class
    # taps every 10**25 cells, inputs every 3 * 10**25: 10**25 + 3 distinct cells reached
    cov = Geometry.create(10**25, stride=3 * 10**25, dilation=10**25).coverage(2)
    assert cov.uncovered == cov.output_size[0] - (10**25 + 3)
    with pytest.raises(ValueError, match=r"is not counted: it takes min\(kernel, stride"):
        Geometry.create(10**25, stride=10**25).coverage(4)


def test_coverage_arithmetic_equals_the_cell_counts_on_a_grid():
    """Every small geometry (dilation above the stride, kernels several strides long, crops and
    extensions at both ends): the counts without per-cell work equal the per-cell counts."""
    for i, k, s, d in itertools.product(range(1, 6), range(1, 8), range(1, 6), range(1, 5)):
        for crop in ((0, 0), (1, 2), (-2, 1), (3, -3), (0, -1)):
            g = Geometry.create(k, s, (crop,), 0, d)
            try:
                cov = g.coverage(i)
            except ShapeError:
                continue
            (counts,) = cov.counts()
            assert cov.uncovered == counts.count(0), (i, k, s, d, crop)


def test_coverage_validates_like_output_size():
    with pytest.raises(ShapeError, match="every length must be >= 1"):
        Geometry.create(3, padding=2).coverage(1)
    with pytest.raises(ShapeError, match="padding_mode='reflect' needs every crop"):
        Geometry.create(3, padding=1, padding_mode="reflect").coverage(1)
