"""tconv.bench and `tconv bench`: the catalog's layers are the ones named, the runner times
what it says (speeds against torch from the same run, every contender exact), the peers
compute the same layer, and bad input is one line and exit 2 before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tconv import bench
from tconv.bench import Layer, get, peers
from tconv.cli import main
from tconv.cli.bench import BENCH_MAX_THREADS


def test_catalog_layers_are_what_their_names_say():
    names = [layer.name for layer in bench.CATALOG]
    assert len(names) == len(set(names))
    assert get("dcgan-b16").describe() == "16x128x16x16 -> 16x64x32x32, k4 s2 p1"
    assert get("seed-k3").output_shape() == (8, 32, 128, 128)
    assert get("fcn-x8").depthwise and get("fcn-x8").output_shape()[2:] == (256, 256)
    assert get("unet3d").rank == 3 and get("hifigan-k16").rank == 1
    assert get("circular-k3").geometry().padding_mode == "circular"
    # true multiply-adds: 1x128x16x16 input, 64 outputs, 4x4 taps
    assert get("dcgan-b1").macs() == 128 * 64 * 16 * 16 * 16
    assert get("depthwise-k4").macs() == 4 * 96 * 64 * 64 * 16  # one channel per group
    with pytest.raises(ValueError, match="layer='unet' is invalid: valid layers are"):
        get("unet")


def test_runner_rows_speeds_and_exactness():
    layer = Layer("tiny", (2, 6, 7, 5), 4, 4, 2, 1, groups=2)
    rows = bench.run_catalog(
        [layer], dtypes=("float32",), methods=("auto", "subpixel"), peers=(), repeat=2
    )
    by = {(r["pass_"], r["layout"], r["contender"]): r for r in rows}
    for pass_ in ("forward", "backward"):
        assert by[(pass_, "nchw", "torch")]["speed"] == 1.0
        assert {"auto", "subpixel", "tconv.nn"} <= {c for p, _, c in by if p == pass_}
        assert by[(pass_, "channels_last", "auto")]["choice"]
    for r in rows:
        assert r["speed"] > 0 and r["gflops"] > 0 and r["matmul_gflops"] > 0
        if r["pass_"] == "forward":
            assert r["max_rel_err"] < 1e-5
        else:
            assert r["memory_mb"] > 0
    with pytest.raises(ValueError, match="dtype='float16' is invalid"):
        bench.run_catalog([layer], dtypes=("float16",))


@pytest.mark.parametrize("peer", bench.PEERS)
def test_peers_compute_the_same_layer(peer):
    layer = Layer("p", (1, 4, 5, 6), 4, 4, 2, ((1, 2), (0, 1)), groups=1 if peer == "keras" else 2)
    run, result = peers.build(peer, layer, grad=False)
    run()
    x, w, b = layer.tensors(torch.float64)
    full = F.conv_transpose2d(x, w, b, 2, 0, 0, layer.groups)
    want = full[:, :, 1:-2, 0:-1].numpy()
    np.testing.assert_allclose(result(), want, rtol=0, atol=1e-4)
    with pytest.raises(peers.Unsupported, match="circular"):
        peers.build(peer, get("circular-k3"), grad=False)


def test_bench_cli_writes_json_markdown_and_plot(tmp_path, capsys):
    paths = [tmp_path / n for n in ("b.json", "b.md", "b.png")]
    argv = ["bench", "--layers", "dcgan-b1", "--dtypes", "float32", "--layouts", "nchw",
            "--passes", "forward", "--methods", "auto", "--peers", "--repeat", "1",
            "--threads", "1", "--json", str(paths[0]), "--markdown", str(paths[1]),
            "--plot", str(paths[2])]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| dcgan-b1 |" in out and "auto_min" in out
    rows = json.loads(paths[0].read_text())["rows"]
    assert {r["contender"] for r in rows} == {"torch", "auto", "tconv.nn", "torch.nn"}
    page = paths[1].read_text()
    assert "tconv bench --threads 1 --repeat 1" in page and "![speed" in page
    assert "b.png" in page and paths[2].stat().st_size > 1000
    assert main(argv) == 2  # the files exist now: refused without --force
    assert "exists; pass --force" in capsys.readouterr().err


def status(argv):
    try:
        return main(argv)
    except SystemExit as stop:  # argparse's usage errors
        return stop.code


def _fail(*args, **kwargs):
    raise AssertionError("the benchmark ran")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--threads", "100000"], f"--threads: 100000 is out of range: valid values are 1 to "
                                  f"{BENCH_MAX_THREADS}"),
        (["--threads", "0"], "--threads: 0 is out of range"),
        (["--repeat", "0"], "--repeat: 0 is out of range: valid values are 1 to 1000"),
        (["--json", "/nonexistent/dir/x.json"], "--json '/nonexistent/dir/x.json': the folder "
                                                "'/nonexistent/dir' does not exist"),
        (["--device", "tpu9"], "--device tpu9 is invalid"),
        (["--layers", "unet"], "invalid choice: 'unet'"),
    ],
)  # fmt: skip
def test_bench_bad_input_is_one_line_before_any_work(flags, message, capsys, monkeypatch):
    monkeypatch.setattr(bench, "run_catalog", _fail)
    assert status(["bench", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tconv bench: error: ")
    assert message in err
    if "--repeat" in flags:
        assert "--threads" not in err  # only the bad flag is blamed
