"""A benchmark row agrees with itself (every figure from the same paired calls) and with a
plain alternating loop on the same layer (within the run's own A/A noise)."""

from __future__ import annotations

import math
import statistics
import time

import pytest
import torch
import torch.nn.functional as F

import tconv
from tconv import bench
from tconv.bench.report import format_table
from tconv.bench.runner import moved_bytes


def _rows(layers, repeat=3, methods=("auto",)):
    return bench.run_catalog(
        layers, passes=("forward",), dtypes=("float32",), layouts=("nchw",),
        methods=methods, peers=(), modules=False, repeat=repeat,
    )  # fmt: skip


def test_every_figure_of_a_row_comes_from_the_same_pairs():
    layer = bench.get("fcn-x2")
    rows = _rows([layer], repeat=2, methods=("auto", "subpixel"))
    by = {r["contender"]: r for r in rows}
    for name in ("auto", "subpixel"):
        r = by[name]
        # the contender's rates are torch's (from its own pairs) times its speed: no row can
        # say "faster" in one column and "slower" in another
        for rate in ("gflops", "matmul_share", "copy_share"):
            assert r[rate] == pytest.approx(r[f"base_{rate}"] * r["speed"])
        assert r["base_gflops"] == pytest.approx(2 * layer.macs() / (r["base_ms"] / 1e3) / 1e9)
    table = format_table(rows, "forward", "float32", "nchw")
    cells = table.splitlines()[2].split(" | ")
    assert cells[1] == f"{by['auto']['base_ms']:.2f}"  # torch ms: the calls paired with auto
    assert "% copy" in table.splitlines()[0]


def test_moved_bytes_counts_input_weight_bias_and_output():
    layer = bench.get("fcn-x2")  # 1x21x64x64 -> 1x21x128x128, weight 21x1x4x4
    n = 21 * 64 * 64 + 21 * 16 + 21 + 21 * 128 * 128
    assert moved_bytes(layer, 4, grad=False) == 4 * n
    assert moved_bytes(layer, 2, grad=True) == 2 * 2 * n  # gradients of each, too


def _plain_loop(fns, rounds):
    """Median time of each function, called in turn (the order alternating) ``rounds`` times."""
    times = [[] for _ in fns]
    for f in fns:
        f(), f()
    for r in range(rounds):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for j in order:
            t0 = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


@pytest.mark.parametrize("name", ["fcn-x2", "hifigan-k4"])
def test_a_plain_loop_agrees_with_the_table_within_its_noise(name):
    layer = bench.get(name)
    rows = _rows([layer], repeat=7)
    by = {r["contender"]: r for r in rows}
    table_speed, aa_table = by["auto"]["speed"], by["torch"]["aa_speed"]
    x, w, b = layer.tensors()
    conv = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[layer.rank]
    kw = layer.kwargs()

    def torch_call():
        return conv(x, w, b, layer.stride, layer.padding, layer.output_padding, layer.groups)

    def auto_call():
        return tconv.conv_transpose(x, w, b, **kw, method="auto")

    with torch.no_grad():
        torch.testing.assert_close(auto_call(), torch_call(), rtol=1e-4, atol=1e-4)
        t_torch, t_auto, t_torch2 = _plain_loop([torch_call, auto_call, torch_call], rounds=15)
    loop_speed, aa_loop = t_torch / t_auto, t_torch / t_torch2
    # generous: a factor 1.5, or three times the A/A noise both measurements showed
    band = max(math.log(1.5), 3 * (abs(math.log(aa_table)) + abs(math.log(aa_loop))))
    gap = abs(math.log(loop_speed / table_speed))
    assert gap <= band, (loop_speed, table_speed, aa_table, aa_loop)
