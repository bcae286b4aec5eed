"""plan() and inverse_of(): every result verified by running it through torch."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import tconv
from tconv import ShapeError
from tconv.planning import Plan, inverse_of, plan
from tconv.shapes import conv_output_size


def _run(p: Plan, cin=2, cout=3):
    m = p.to_module(cin, cout).double()
    x = torch.randn(1, cin, *p.input_size, dtype=torch.float64)
    return m, x, m(x)


def test_seed_target_16_to_33_finds_k3_s2_p0_and_ranks_even_overlap_first():
    plans = plan(16, 33)
    assert any(
        (p.kernel_size, p.stride, p.padding, p.output_padding) == ((3,), (2,), (0,), (0,))
        for p in plans
    )
    flags = [(p.uncovered, not p.uniform_overlap) for p in plans]
    assert flags == sorted(flags)  # full coverage first, then uniform ones
    for p in plans:
        assert _run(p)[2].shape[-1] == 33


@given(st.integers(1, 12), st.integers(1, 40), st.booleans())
def test_every_plan_reaches_its_target_in_torch(i, t, allow_crop):
    try:
        plans = plan(i, t, kernel_sizes=range(1, 6), allow_crop=allow_crop, max_results=5)
    except ShapeError as err:
        assert "reachable output sizes range from" in str(err)
        assert t < i or not allow_crop
        return
    assert plans
    keys = [(p.uncovered, not p.uniform_overlap, p.macs_per_output) for p in plans]
    assert keys == sorted(keys)
    for p in plans:
        m, x, y = _run(p)
        assert y.shape[-1] == t
        if not p.explicit_crop:  # torch's own module with the same arguments agrees
            ref = F.conv_transpose1d(
                x, m.weight, m.bias, p.stride, p.padding, p.output_padding, 1, p.dilation
            )
            torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)


def test_n_d_targets_are_planned_per_dimension():
    plans = plan((16, 12), (33, 25), kernel_sizes=[3, 4], strides=[2])
    assert plans[0].uniform_overlap
    for p in plans:
        assert _run(p)[2].shape[-2:] == (33, 25)


def test_explicit_crop_when_allowed_and_error_names_the_range():
    with pytest.raises(
        ShapeError,
        match=r"reachable output sizes range from 29 to 34 "
        r"\(nearest: 34\)",
    ):
        plan(16, 100, kernel_sizes=[3], strides=[2])
    (p,) = plan(16, 100, kernel_sizes=[3], strides=[2], allow_crop=True)
    assert p.explicit_crop and p.output_size() == (100,)
    assert _run(p)[2].shape[-1] == 100


def test_to_module_needs_channels():
    with pytest.raises(ValueError, match="needs in_channels and out_channels"):
        plan(4, 8)[0].to_module()


@pytest.mark.parametrize("n", range(30, 45))
def test_inverse_of_restores_every_input_size_unet_skip(n):
    conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
    p = inverse_of(conv, (n, n + 1))
    up = p.to_module()
    assert (up.in_channels, up.out_channels) == (8, 3)
    z = conv(torch.randn(1, 3, n, n + 1))
    assert up(z).shape == (1, 3, n, n + 1)


@given(
    st.integers(1, 3),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 3),
    st.integers(1, 30),
    st.sampled_from(["zeros", "circular"]),
)
def test_inverse_is_the_exact_adjoint_with_the_same_weight(rank, k, s, pad, d, n, mode):
    span = d * (k - 1) + 1
    if n + 2 * pad < span or (mode == "circular" and pad > n):
        return
    conv_cls = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[rank]
    sizes = (n,) + (4,) * (rank - 1) if rank > 1 else (n,)
    if any(v + 2 * pad < span or (mode == "circular" and pad > v) for v in sizes):
        return
    conv = conv_cls(
        2, 3, k, stride=s, padding=pad, dilation=d, bias=False, padding_mode=mode
    ).double()
    p = inverse_of(conv, sizes)
    x = torch.randn(1, 2, *sizes, dtype=torch.float64)
    cx = conv(x)
    y = torch.randn_like(cx)
    up = p.to_module().double()
    up.weight.data.copy_(conv.weight)
    ty = up(y)
    assert ty.shape == x.shape
    torch.testing.assert_close((cx * y).sum(), (x * ty).sum(), rtol=1e-10, atol=1e-10)


def test_inverse_of_settings_dict_and_same_padding():
    p = inverse_of({"kernel_size": 4, "padding": "same"}, 10)
    assert p.output_size(conv_output_size(10, 4, 1, ((1, 2),))) == (10,)
    with pytest.raises(TypeError, match=r"must be an nn\.Conv1d/2d/3d or a dict"):
        inverse_of("conv", 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already a transposed convolution"):
        inverse_of(torch.nn.ConvTranspose1d(1, 1, 3), 10)


def test_public_names():
    assert tconv.plan is plan and tconv.inverse_of is inverse_of


def test_the_work_does_not_grow_with_the_target(monkeypatch):
    """Only strides in the window that reaches the target are tried, and beyond the kernel span
    (uneven whatever the stride) only the few that can rank: not every stride up to the target."""
    import tconv.planning as planning

    tried = []
    real = planning.even_overlap
    monkeypatch.setattr(planning, "even_overlap", lambda k, s, d: tried.append(s) or real(k, s, d))
    plans = plan(16, 100_000, strides=range(1, 20_000), max_results=3)
    assert [p.stride for p in plans] == [(6250,), (6251,), (6252,)]
    assert all(p.output_size() == (100_000,) for p in plans)
    assert len(tried) <= 8 * 3  # 8 default kernels, 3 results each
    with pytest.raises(ShapeError, match=r"about 6250000x the input, beyond the default strides"):
        plan(16, 100_000_000)


def test_even_overlap_agrees_with_the_counts_and_needs_no_memory():
    from tconv.artifacts import overlap
    from tconv.planning import even_overlap

    for k in range(1, 13):
        for s in range(1, 13):
            for d in range(1, 7):
                counts = overlap(k, s, d)
                assert even_overlap(k, s, d) == bool((counts == counts[0]).all()), (k, s, d)
    assert even_overlap(2 * 10**20, 10**20) and not even_overlap(3, 10**20)  # no tensor of 1e20
    p = inverse_of({"kernel_size": 3, "stride": 10**20}, 10**21)
    assert p.output_size() == (10**21,) and not p.uniform_overlap


def test_inverse_of_same_with_a_stride_is_refused_with_the_reason():
    with pytest.raises(ShapeError, match=r"padding='same' with stride=\(2,\) is ambiguous: "
                       r"PyTorch's Conv refuses 'same' with a stride > 1"):  # fmt: skip
        inverse_of({"kernel_size": 3, "stride": 2, "padding": "same"}, 40)
    from tconv.planning import keras_conv_padding

    pads = keras_conv_padding(40, 3, 2)
    p = inverse_of({"kernel_size": 3, "stride": 2, "padding": pads}, 40)
    assert p.input_size == (20,) and p.output_size() == (40,)


# ---------------------------------------------------------------------------------------------
# coverage: never recommend, unmarked, a layer with output cells that no input reaches


def _naive_full_coverage(i, k, s, d, lo, hi):
    """Every cell of full[lo : L - hi] (zeros outside) is reached by a tap: counted tap by tap."""
    full = [0] * ((i - 1) * s + d * (k - 1) + 1)
    for n in range(i):
        for j in range(k):
            full[n * s + j * d] += 1
    return all(0 <= x < len(full) and full[x] for x in range(lo, len(full) - hi))


def _covered_somehow(i, t, kernels, strides, dilations, allow_crop):
    """Brute force over the planner's space: PyTorch's padding (below the kernel span) and
    output_padding (below max(stride, dilation)); with allow_crop any (begin, end) crop below
    the span (an extension is never covered)."""
    for k, s, d in itertools.product(kernels, strides, dilations):
        span = d * (k - 1) + 1
        full = (i - 1) * s + span
        crops = [(p, p - op) for p in range(span) for op in range(max(s, d))]
        if allow_crop:
            crops += [(lo, hi) for lo in range(span) for hi in range(span)]
        for lo, hi in crops:
            if full - lo - hi == t and _naive_full_coverage(i, k, s, d, lo, hi):
                return True
    return False


def _torch_uncovered(p: Plan) -> int:
    """Cells of torch's conv_transpose (all-ones input and kernel, full output, then the plan's
    crop) that hold zero."""
    rank = len(p.input_size)
    ones = torch.ones(1, 1, *p.input_size, dtype=torch.float64)
    w = torch.ones(1, 1, *p.kernel_size, dtype=torch.float64)
    conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[rank - 1]
    full = conv_t(ones, w, stride=p.stride, dilation=p.dilation)
    crop = p.geometry.crop
    full = F.pad(full, [max(-v, 0) for lo, hi in reversed(crop) for v in (lo, hi)])
    y = F.pad(full, [-max(v, 0) for lo, hi in reversed(crop) for v in (lo, hi)])
    assert y.shape[2:] == p.target
    return int((y == 0).sum())


sets = st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True)


@given(
    st.integers(1, 2),
    st.data(),
    sets,
    sets,
    st.lists(st.integers(1, 3), min_size=1, max_size=2, unique=True),
    st.booleans(),
)
def test_the_first_plan_has_full_coverage_whenever_any_reachable_plan_does(
    rank, data, kernels, strides, dilations, allow_crop
):
    i = tuple(data.draw(st.integers(1, 6)) for _ in range(rank))
    t = tuple(data.draw(st.integers(1, 24)) for _ in range(rank))
    try:
        plans = plan(
            i, t, kernel_sizes=kernels, strides=strides, dilations=dilations,
            allow_crop=allow_crop, max_results=4,
        )  # fmt: skip
    except ShapeError:
        return  # nothing reaches the target (tested above)
    reachable = all(
        _covered_somehow(ii, tt, kernels, strides, dilations, allow_crop) for ii, tt in zip(i, t)
    )
    assert plans[0].full_coverage == reachable, (plans[0], reachable)
    for p in plans:
        assert p.uncovered == _torch_uncovered(p)
        assert p.as_dict()["uncovered"] == p.uncovered
        assert ("get no input" in str(p)) == (not p.full_coverage)
    flags = [p.full_coverage for p in plans]
    assert flags == sorted(flags, reverse=True)


def test_seed_targets_rank_covered_plans_first_and_mark_the_rest():
    best = plan(16, 33)[0]
    assert (best.kernel_size, best.stride, best.padding, best.output_padding) == (
        (4,), (2,), (1,), (1,)
    )  # fmt: skip
    assert best.full_coverage and _torch_uncovered(best) == 0
    k2 = next(p for p in plan(16, 33) if p.kernel_size == (2,))
    assert k2.uncovered == 1 == _torch_uncovered(k2)  # the last cell: beyond the full output
    plans = plan(16, 100)
    assert [p.full_coverage for p in plans[:2]] == [True, True]
    assert all(_torch_uncovered(p) == p.uncovered for p in plans)
    k5 = next(p for p in plans if p.kernel_size == (5,))
    assert k5.uncovered == 20  # 15 holes (one in every 6 cells) and 5 past the end


def test_inverse_of_marks_a_layer_whose_taps_leave_holes():
    p = inverse_of(torch.nn.Conv1d(1, 1, 1, stride=2), 8)  # k1 s2: every other cell is a hole
    assert p.uncovered == 4 == _torch_uncovered(p)
    assert inverse_of(torch.nn.Conv1d(1, 1, 3, stride=2, padding=1), 8).full_coverage


def test_among_paddings_that_reach_the_size_the_covered_one_is_chosen():
    """k2 d2 on one input: taps at 0 and 2 of a full output of 3, cell 1 a hole. Of PyTorch's
    arguments for one output cell, padding 2 with output_padding 2 keeps a tap (padding 1 with
    0 keeps the hole); where PyTorch's cannot avoid it, allow_crop finds the crop that can."""
    (p,) = plan(1, 1, kernel_sizes=[2], strides=[3], dilations=[2])
    assert (p.padding, p.output_padding, p.uncovered) == ((2,), (2,), 0)
    assert _torch_uncovered(p) == 0
    (q,) = plan(1, 1, kernel_sizes=[2], strides=[1], dilations=[2])
    assert (q.padding, q.output_padding, q.uncovered) == ((1,), (0,), 1)
    (r,) = plan(1, 1, kernel_sizes=[2], strides=[1], dilations=[2], allow_crop=True)
    assert r.explicit_crop and r.full_coverage and _torch_uncovered(r) == 0
