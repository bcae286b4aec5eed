"""tconv inspect: the hook walk, the table, JSON, advice, limits and the command line."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

import tconv
from tconv.cli import main
from tconv.convert import to_subpixel
from tconv.init import bilinear_, icnr_
from tconv.inspection import InspectError, inspect_model, parse_shape
from tconv.loading import load_model


def net_with_an_uneven_layer():
    up = torch.nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1)
    bilinear_(up.weight)
    torch.nn.init.zeros_(up.bias)
    return torch.nn.Sequential(
        torch.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
        torch.nn.ReLU(),
        up,
        torch.nn.Conv2d(4, 3, 3, padding=1),
    )


def test_rows_settings_overlap_scores_and_macs():
    report = inspect_model(net_with_an_uneven_layer(), (2, 8, 8, 8))
    rows = {r.name: r for r in report.layers}
    assert [r.name for r in report.layers] == ["0", "1", "2", "3"]
    assert rows["0"].input_shape == (2, 8, 8, 8) and rows["0"].output_shape == (2, 4, 16, 16)
    assert rows["0"].settings == "k3 s2 p1 op1"
    assert rows["0"].overlap == [[4, 2], [2, 1]] and rows["0"].uniform is False
    assert rows["0"].score > 0
    assert rows["2"].settings == "k4 s2 p1" and rows["2"].uniform is True
    assert rows["2"].score == pytest.approx(0.0, abs=1e-6)  # bilinear weights
    assert rows["1"].uniform is None and rows["1"].score is None and rows["1"].macs == 0
    # multiply-adds by hand: transposed N * C_in * I * C_out * K, conv N * O * C_out * C_in * K
    assert rows["0"].macs == 2 * 8 * 64 * 4 * 9
    assert rows["2"].macs == 2 * 4 * 256 * 4 * 16
    assert rows["3"].macs == 2 * 1024 * 3 * 4 * 9
    assert report.total_macs == sum(r.macs for r in report.layers)
    assert report.output_shape == (2, 3, 32, 32)
    assert report.advice == [
        "0: k3 s2: uneven overlap (4/2/1 taps per output phase), consider k4 s2 or resize-conv"
    ]


def test_advice_for_weights_gaps_and_clean_models():
    even = torch.nn.ConvTranspose1d(2, 2, 4, stride=2, padding=1)
    torch.nn.init.normal_(even.weight)
    report = inspect_model(torch.nn.Sequential(even), (1, 2, 16))
    assert report.advice[0].startswith("0: checkerboard score ")
    assert "tconv.init.icnr_" in report.advice[0]
    gaps = torch.nn.ConvTranspose1d(2, 2, 3, stride=2, dilation=2)
    report = inspect_model(torch.nn.Sequential(gaps), (1, 2, 16))
    assert report.layers[0].overlap == [3, 0]
    assert "some output phases get no kernel taps" in report.advice[0]
    clean = tconv.nn.Upsample(2, 2, 2)  # ICNR transposed: even and score 0
    report = inspect_model(torch.nn.Sequential(clean), (1, 2, 8, 8))
    assert report.advice == ["no checkerboard risk found in 1 upsampling layer(s)"]
    report = inspect_model(torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3)), (1, 2, 8, 8))
    assert report.advice == ["no upsampling layers found"]


def test_advice_names_output_cells_no_input_reaches():
    """k2 s2 output_padding 1 has an even overlap, yet its last row and column receive no input:
    torch's own output (all-ones input and kernel, no bias) is zero there."""
    layer = torch.nn.ConvTranspose2d(1, 1, 2, stride=2, output_padding=1, bias=False)
    torch.nn.init.ones_(layer.weight)
    y = layer(torch.ones(1, 1, 16, 16))
    assert int((y == 0).sum()) == 65
    report = inspect_model(torch.nn.Sequential(layer), (1, 1, 16, 16))
    assert report.layers[0].uniform is True
    (advice,) = report.advice
    assert advice.startswith("0: k2 s2: 1 of 33 rows and 1 of 33 columns receive no input")
    assert "65 of 1089 output cells (6.0%) hold only the bias" in advice
    assert json.loads(report.to_json())["layers"][0]["empty"] in advice
    covered = torch.nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1, output_padding=1)
    report = inspect_model(torch.nn.Sequential(covered), (1, 1, 16, 16))
    assert report.layers[0].empty is None and "no input" not in " ".join(report.advice)


def test_conv_pixel_shuffle_pair_is_scored_together():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    icnr_(conv.weight, 2)
    report = inspect_model(torch.nn.Sequential(conv, torch.nn.PixelShuffle(2)), (1, 3, 8, 8))
    shuffle = report.layers[1]
    assert shuffle.settings == "r2 (with 0)" and shuffle.uniform is True
    assert shuffle.overlap == [[9, 9], [9, 9]]
    assert shuffle.score == pytest.approx(0.0, abs=1e-6)


def test_blocks_are_one_row_and_tconv_layers_work():
    net = torch.nn.Sequential(
        tconv.nn.Upsample(4, 4, 2, "subpixel"),
        tconv.nn.ConvTranspose2d(4, 2, 3, stride=2, padding="same"),
    )
    report = inspect_model(net, (1, 4, 8, 8))
    assert [r.name for r in report.layers] == ["0", "1"]
    block, layer = report.layers
    assert block.type == "Upsample" and block.uniform is True
    assert block.macs == 1 * 64 * 16 * 4 * 9  # its convolution
    assert block.score == pytest.approx(0.0, abs=1e-6)  # ICNR
    assert layer.settings == "k3 s2 p=same" and layer.uniform is False
    assert report.total_macs == block.macs + layer.macs


def test_converted_models_keep_the_overlap_of_the_original():
    net = to_subpixel(torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 2, 3, 2, 1, 1)))
    row = inspect_model(net, (1, 2, 8, 8)).layers[0]
    assert row.type == "SubpixelConvTranspose" and row.overlap == [[4, 2], [2, 1]]


def test_shared_module_called_twice_gives_two_rows_and_training_is_restored():
    up = torch.nn.ConvTranspose1d(2, 2, 2, stride=2)
    net = torch.nn.Sequential(up, torch.nn.BatchNorm1d(2), up)
    net.train()
    report = inspect_model(net, (1, 2, 8))
    assert [r.name for r in report.layers] == ["0", "1", "0"]
    assert [r.output_shape for r in report.layers] == [(1, 2, 16), (1, 2, 16), (1, 2, 32)]
    assert net.training and net[1].training


def test_table_and_json():
    report = inspect_model(net_with_an_uneven_layer(), (1, 8, 8, 8), name="demo")
    text = report.format()
    lines = text.splitlines()
    assert lines[0].split() == [
        "layer",
        "type",
        "input",
        "->",
        "output",
        "settings",
        "overlap",
        "score",
        "MACs",
    ]
    assert "1x8x8x8 -> 1x4x16x16" in lines[2] and "uneven 4/2/1" in lines[2]
    assert "model: demo  input 1x8x8x8 -> output 1x3x32x32" in text
    assert text.splitlines()[-1].startswith("advice: 0: k3 s2: uneven overlap")
    data = json.loads(report.to_json())
    assert data["input_shape"] == [1, 8, 8, 8] and data["output_shape"] == [1, 3, 32, 32]
    assert data["layers"][0]["overlap"] == [[4, 2], [2, 1]]
    assert data["layers"][0]["uniform"] is False
    assert data["total_macs"] == report.total_macs


def test_parse_shape():
    assert parse_shape("1x3x64x64") == (1, 3, 64, 64)
    assert parse_shape("2,1,100") == (2, 1, 100)
    for bad in ("1x3", "1xAx4", "1x0x4", ""):
        with pytest.raises(tconv.ShapeError, match="is invalid: expected N x C x spatial"):
            parse_shape(bad)


# ---------------------------------------------------------------------------------------------
# loading and the command line


@pytest.fixture
def models_package(tmp_path, monkeypatch):
    (tmp_path / "inspect_fixture_models.py").write_text(
        textwrap.dedent("""
        import torch

        def build():
            return torch.nn.Sequential(
                torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                torch.nn.Tanh(),
            )

        def broken():
            raise RuntimeError("no weights here")

        NOT_A_MODEL = 3
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_torchscript_files_report_layers_without_shapes(models_package, tmp_path):
    scripted = torch.jit.script(load_model("inspect_fixture_models:build"))
    torch.jit.save(scripted, str(tmp_path / "scripted.pt"))
    model = load_model(str(tmp_path / "scripted.pt"))
    report = inspect_model(model, (1, 3, 8, 8))
    assert report.output_shape == (1, 2, 16, 16)
    row = report.layers[0]
    assert row.type == "ConvTranspose2d" and row.input_shape is None
    assert row.overlap == [[4, 2], [2, 1]] and row.score is not None
    assert report.total_macs is None
    assert "TorchScript" in report.advice[-1]


def test_cli_table_json_and_errors(models_package, capsys):
    assert main(["inspect", "inspect_fixture_models:build", "--input", "1x3x16x16"]) == 0
    out = capsys.readouterr().out
    assert "ConvTranspose2d" in out and "uneven 4/2/1" in out
    assert "advice: 0: k3 s2: uneven overlap (4/2/1 taps per output phase), consider k4 s2" in out
    assert main(["inspect", "inspect_fixture_models:build", "--input", "1x3x16x16", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["settings"] == "k3 s2 p1 op1"
    # errors: one line on stderr, status 2
    for argv, message in [
        (
            ["inspect", "inspect_fixture_models:build", "--input", "1x5x16x16"],
            "tconv inspect: error: running the model on an input of shape (1, 5, 16, 16) failed: ",
        ),
        (
            ["inspect", "missing_module_xyz:build", "--input", "1x3x8x8"],
            "tconv inspect: error: cannot import 'missing_module_xyz'",
        ),
        (
            ["inspect", "inspect_fixture_models:build", "--input", "3x8"],
            "tconv inspect: error: input shape '3x8' is invalid",
        ),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1, err


def test_unbatched_input_is_refused_not_run(models_package, capsys):
    with pytest.raises(InspectError, match=r"8x32x32 reaches layer '0' \(ConvTranspose2d, 2-D\)"):
        inspect_model(net_with_an_uneven_layer(), (8, 32, 32))
    assert main(["inspect", "inspect_fixture_models:build", "--input", "3x32x32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "read as one unbatched (C, H, W) sample; give N x C x spatial sizes (4 values), " in err
    assert err.rstrip().endswith("e.g. 1x3x32x32")
    # a 1-D model takes N x C x L: 3x32x32 is batched there
    net = torch.nn.Sequential(torch.nn.ConvTranspose1d(32, 2, 4, stride=2, padding=1))
    assert inspect_model(net, (3, 32, 32)).output_shape == (3, 2, 64)


@pytest.mark.parametrize(
    ("shape", "needs"),
    [
        (
            (1, 3, 100_000, 100_000),
            r"an input of shape 1x3x100000x100000 \(float32\) needs 112 GiB",
        ),
        ((1, 3, 10**20, 4), r"an input of shape 1x3x100000000000000000000x4 \(float32\) needs 4"),
    ],
)
def test_inputs_too_large_are_refused_before_allocating(shape, needs):
    with pytest.raises(InspectError, match=needs + r".*more than --max-memory 4 GiB: inspect a"):
        inspect_model(net_with_an_uneven_layer(), shape)


def test_a_layer_step_too_large_is_refused_from_shapes_alone():
    net = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 1), torch.nn.ConvTranspose2d(8, 64, 8, 8))
    with pytest.raises(
        InspectError,
        match=r"needs at least 4.01 MiB in layer '1' \(1x8x16x16 -> 1x64x128x128, float32\)",
    ):
        inspect_model(net, (1, 8, 16, 16), max_memory=4 * 2**20)
    assert inspect_model(net, (1, 8, 16, 16), max_memory=5 * 2**20).output_shape[-1] == 128


def test_cli_refuses_huge_inputs_in_one_line(models_package, capsys):
    for size in ("1x3x100000x100000", "1x3x" + "9" * 20 + "x4"):
        assert main(["inspect", "inspect_fixture_models:build", "--input", size]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "more than --max-memory 4 GiB" in err, err
    argv = ["inspect", "inspect_fixture_models:build", "--input", "1x3x64x64"]
    assert main([*argv, "--max-memory", "0.0001"]) == 2
    assert "needs at least" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--max-memory", "-1"])
    assert "argument --max-memory: -1 is out of range" in capsys.readouterr().err


class SizeBound(torch.nn.Module):
    """An upsampling layer that only works on the input size it was built for."""

    def forward(self, x):
        if x.shape[-1] != 12:
            raise RuntimeError(f"expected width 12, got {x.shape[-1]}")
        return torch.nn.functional.interpolate(x, scale_factor=2.0)


def test_a_score_that_cannot_be_measured_says_why():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 1), SizeBound())
    report = inspect_model(net, (1, 2, 12, 12))
    row = report.layers[1]
    assert row.name == "1" and row.score is None
    assert row.score_error == (
        "on a probe input of shape 1x2x16x16: RuntimeError: expected width 12, got 16"
    )
    text = report.format()
    assert "failed" in text.splitlines()[3]
    assert text.splitlines()[-1] == (
        "note: 1: checkerboard score not measured: on a probe input of shape 1x2x16x16: "
        "RuntimeError: expected width 12, got 16"
    )
    assert json.loads(report.to_json())["layers"][1]["score_error"] == row.score_error


class MyShuffle(torch.nn.PixelShuffle):
    """A subclass: still a pixel shuffle."""


class PixelShuffle(torch.nn.Module):
    """Not a pixel shuffle, whatever its name says."""

    def forward(self, x):
        return x


def test_layers_are_classified_by_class_not_by_name():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    icnr_(conv.weight, 2)
    report = inspect_model(torch.nn.Sequential(conv, MyShuffle(2)), (1, 3, 8, 8))
    assert report.layers[1].settings == "r2 (with 0)" and report.layers[1].uniform is True
    report = inspect_model(torch.nn.Sequential(conv, PixelShuffle()), (1, 3, 8, 8))
    assert report.layers[1].uniform is None and report.layers[1].score is None
    assert report.advice == ["no upsampling layers found"]
