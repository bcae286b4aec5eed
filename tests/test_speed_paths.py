"""The speed work keeps every answer exact and every check in place: the paired timing that
auto and the benchmark trust, the ``native+bias`` execution, the geometry a layer keeps between
calls, the memoised call checks and the geometry's cached hash."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import tconv
import tconv.nn as tnn
from tconv import bench
from tconv.methods import auto, native
from tconv.shapes import Geometry, ShapeError
from tconv.timing import paired_speed, paired_timings

# -- paired timing ---------------------------------------------------------------------------


def test_paired_speed_cancels_the_warm_second_call():
    # equal functions, the second call of every pair 20% faster (warm caches): a median over
    # all ratios would read 1.2 or 0.83 depending on which order ran more often
    warm = [(1.2, 1.0, True), (1.0, 1.2, False)] * 3 + [(1.2, 1.0, True)]
    assert paired_speed(warm) == pytest.approx(1.0)
    # a contender twice as fast reads 2 in both orders
    assert paired_speed([(2.0, 1.0, True), (2.4, 1.2, False)]) == pytest.approx(2.0)
    assert paired_speed([(3.0, 1.0, True)]) == 3.0  # one order only: that one


@pytest.mark.parametrize("blocks", [True, False])
def test_paired_timings_alternate_the_order_and_pair_every_function(blocks):
    calls: list[str] = []

    def named(n):
        return lambda: calls.append(n)

    pairs = paired_timings(
        named("base"), [named("a"), named("b")], repeat=4, warmup=0, blocks=blocks
    )
    assert [len(p) for p in pairs] == [4, 4]
    for p in pairs:
        assert [first for _, _, first in p].count(True) == 2  # both orders, equally often
    assert calls.count("base") == 8 and calls.count("a") == 4 and calls.count("b") == 4
    for i in range(0, len(calls), 2):  # every pair holds base and one function
        assert sorted(calls[i : i + 2]) in (["a", "base"], ["b", "base"])
    others = [c for c in calls if c != "base"]
    if blocks:  # each function's pairs one after another
        assert others in (["a"] * 4 + ["b"] * 4, ["b"] * 4 + ["a"] * 4)
    else:  # every round holds one pair of each
        assert all(sorted(others[i : i + 2]) == ["a", "b"] for i in range(0, 8, 2))


def test_bench_rows_carry_the_a_a_noise_floor():
    layer = bench.Layer("tiny", (1, 4, 5, 5), 4, 4, 2, 1)
    rows = bench.run_catalog(
        [layer], passes=("forward",), dtypes=("float32",), layouts=("nchw",),
        methods=("auto",), peers=(), repeat=2,
    )  # fmt: skip
    (t,) = [r for r in rows if r["contender"] == "torch"]
    assert t["speed"] == 1.0 and t["aa_speed"] > 0
    s = bench.summary(rows)
    assert s["aa_range"][0] <= t["aa_speed"] <= s["aa_range"][1]
    assert "A/A" in bench.markdown(rows, "cmd", "machine", None)


# -- native+bias ----------------------------------------------------------------------------


@pytest.mark.parametrize("grad_of", ["x", "weight", "bias"])
def test_native_bias_after_differentiates_in_each_tensor_alone(grad_of):
    g = Geometry.create((3, 3), stride=2, padding="same", groups=2)  # crop (0, 1): a slice
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    leaf = {"x": x, "weight": w, "bias": b}[grad_of].requires_grad_()
    y = native.forward_bias_after(x, w, b, g)
    ref = native.forward(x, w, b, g)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    gy = torch.randn_like(ref)
    (got,) = torch.autograd.grad(y, leaf, gy)
    (want,) = torch.autograd.grad(ref, leaf, gy)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_native_bias_is_a_candidate_only_with_a_bias():
    g = Geometry.create((4, 4), stride=2, padding=1)
    x, w = torch.randn(1, 2, 4, 4), torch.randn(2, 2, 4, 4)
    assert "native+bias" not in auto.candidates(x, w, g)
    with_bias = auto.candidates(x, w, g, torch.zeros(2))
    assert {"native+bias", "native+bias/channels_last"} <= set(with_bias)
    assert set(with_bias) <= set(auto.EXECUTIONS)


# -- the geometry a layer keeps --------------------------------------------------------------


def test_a_layer_rebuilds_its_geometry_when_a_setting_is_reassigned():
    m = tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    x = torch.randn(1, 3, 5, 5, dtype=torch.float64)
    assert m(x).shape[2:] == (9, 9)
    m.stride = (3, 3)
    want = F.conv_transpose2d(x, m.weight, m.bias, 3, 1)
    torch.testing.assert_close(m(x), want)
    m.padding = "same"
    assert m(x).shape[2:] == (15, 15)
    m.padding_mode = "circular"
    assert m(x).shape[2:] == (15, 15)
    m.stride = (True, True)  # equal to (1, 1) but not an int: refused, not served from cache
    with pytest.raises(TypeError, match="stride"):
        m(x)


def test_a_layer_follows_a_weight_of_another_kernel_size():
    m = tnn.ConvTranspose2d(3, 2, 3, stride=2).double()
    x = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    m(x)
    m.weight = torch.nn.Parameter(torch.randn(3, 2, 5, 5, dtype=torch.float64))
    torch.testing.assert_close(m(x), F.conv_transpose2d(x, m.weight, m.bias, 2))


# -- memoised checks and the cached hash -----------------------------------------------------


def test_a_failing_call_check_fails_every_time():
    g = Geometry.create((3, 3), stride=2)
    for _ in range(3):
        with pytest.raises(ShapeError, match="input has 5 channels"):
            g.check_call(torch.Size([1, 5, 4, 4]), torch.Size([4, 2, 3, 3]))
    assert g.check_call(torch.Size([1, 4, 4, 4]), (4, 2, 3, 3)) == (True, (4, 4))
    assert g.check_call([4, 4, 4], [4, 2, 3, 3], [2]) == (False, (4, 4))


def test_geometry_hash_is_the_same_in_every_process_and_after_pickling():
    g = Geometry.create((3, 3), stride=2, padding=1, groups=2, padding_mode="circular")
    code = (
        "from tconv.shapes import Geometry; print(hash(Geometry.create((3, 3), stride=2, "
        "padding=1, groups=2, padding_mode='circular')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == hash(g)
    back = pickle.loads(pickle.dumps(g))
    assert back == g and hash(back) == hash(g) and {back: 1}[g] == 1
    other = Geometry.create((3, 3), stride=2, padding=1, groups=2, padding_mode="reflect")
    assert other != g


def test_cached_geometries_still_refuse_bools_and_floats():
    Geometry.create((3, 3), stride=(2, 2))  # cache the int spelling first
    with pytest.raises(TypeError):
        Geometry.create((3, 3), stride=(2.0, 2))
    with pytest.raises(TypeError):
        tconv.conv_transpose(torch.randn(1, 2, 3, 3), torch.randn(2, 2, 3, 3), stride=True)


def test_auto_keeps_native_unless_a_second_measurement_agrees(monkeypatch):
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3)
    geom = Geometry.create((3, 3), stride=2, padding=1)
    calls = []

    def fake(base, fns, rounds, warmup=2, sync=None, seed=0):
        calls.append(len(fns))
        speed = 2.0 if seed == 0 else 0.8  # fast at first, slower when measured again
        out = []
        for j, _ in enumerate(fns):
            s = speed if (seed or j == 0) else 0.5  # first pass: only the first is fast
            out.append([(s, 1.0, True), (s, 1.0, False)])
        return out

    monkeypatch.setattr(auto, "paired_timings", fake)
    auto.clear_cache()
    try:
        assert auto.choose(x, w, None, geom) == "native"
        (choice,) = auto.cache().values()
        first = auto.candidates(x, w, geom)[1]
        assert calls == [len(auto.candidates(x, w, geom)) - 1, 1]
        assert choice.ratios[first] == pytest.approx(1 / 0.8)  # the larger of the two
        auto.clear_cache()
        monkeypatch.setattr(
            auto, "paired_timings", lambda b, f, r, **k: [[(2.0, 1.0, True)]] * len(f)
        )
        assert auto.choose(x, w, None, geom) == first  # both measurements agree: switch
    finally:
        auto.clear_cache()
