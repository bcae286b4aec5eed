"""The ``tconv`` command line: ``tconv shape`` text, JSON, errors and help."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import tconv
from tconv.cli import main

SEED = ["--input", "16", "16", "--kernel", "3", "--stride", "2", "--padding", "1"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_shape_prints_formula_filled_in_per_dimension(capsys):
    status, out, err = run(capsys, "shape", *SEED, "--output-padding", "1")
    assert status == 0 and err == ""
    lines = out.splitlines()
    # the seed article's example 2: 32, not 33
    assert "dim 0: (16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32" in lines
    assert "dim 1: (16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32" in lines
    assert lines[-1] == "output: 32 x 32"
    assert "crop: (lo, hi) = (padding, padding - output_padding)" in lines


def test_shape_per_dimension_values(capsys):
    status, out, _ = run(
        capsys,
        "shape", "--input", "8", "12", "--kernel", "3", "5", "--stride", "2", "1",
        "--dilation", "1", "2",
    )  # fmt: skip
    assert status == 0
    assert "dim 0: (8 - 1)*2 - 0 - 0 + 1*(3 - 1) + 1 = 17" in out
    assert "dim 1: (12 - 1)*1 - 0 - 0 + 2*(5 - 1) + 1 = 20" in out
    assert out.splitlines()[-1] == "output: 17 x 20"


def test_shape_named_padding(capsys):
    status, out, _ = run(capsys, "shape", "--input", "16", "16", "--kernel", "4", "--stride", "2",
                         "--padding", "same")  # fmt: skip
    assert status == 0
    assert "crop: (lo, hi) from padding='same'" in out
    assert "dim 0: (16 - 1)*2 - 1 - 1 + 1*(4 - 1) + 1 = 32" in out
    # kernel shorter than stride: "same" zero-extends the end (shown as "+ 1")
    status, out, _ = run(capsys, "shape", "--input", "5", "--kernel", "2", "--stride", "3",
                         "--padding", "same")  # fmt: skip
    assert "dim 0: (5 - 1)*3 - 0 + 1 + 1*(2 - 1) + 1 = 15" in out
    assert out.splitlines()[-2] == "output: 15"
    assert out.splitlines()[-1].startswith("warning: 5 of 15 output positions receive no input")


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "output_padding", "dilation"),
    [
        ((16, 16), (2, 2), (2, 2), (0, 0), (0, 0), (1, 1)),
        ((16, 16), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1)),
        ((7, 10), (3, 4), (3, 2), (2, 0), (2, 1), (1, 2)),
        ((5, 6), (5, 1), (1, 4), (0, 0), (0, 3), (2, 1)),
    ],
)
def test_shape_json_agrees_with_torch(capsys, size, kernel, stride, padding, output_padding,
                                      dilation):  # fmt: skip
    status, out, _ = run(
        capsys,
        "shape", "--json",
        "--input", *map(str, size), "--kernel", *map(str, kernel),
        "--stride", *map(str, stride), "--padding", *map(str, padding),
        "--output-padding", *map(str, output_padding), "--dilation", *map(str, dilation),
    )  # fmt: skip
    assert status == 0
    result = json.loads(out)
    y = F.conv_transpose2d(
        torch.zeros(1, 1, *size), torch.zeros(1, 1, *kernel), stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation,
    )  # fmt: skip
    assert tuple(result["output"]) == tuple(y.shape[2:])
    assert result["input"] == list(size)
    assert result["kernel"] == list(kernel)
    assert result["torch"] == {"padding": list(padding), "output_padding": list(output_padding)}


def test_shape_json_round_trip(capsys):
    status, out, _ = run(capsys, "shape", "--json", *SEED, "--output-padding", "1")
    assert status == 0
    assert json.loads(out) == {
        "input": [16, 16],
        "kernel": [3, 3],
        "stride": [2, 2],
        "dilation": [1, 1],
        "padding": [1, 1],
        "output_padding": [1, 1],
        "crop": [[1, 0], [1, 0]],
        "full": [33, 33],
        "output": [32, 32],
        "torch": {"padding": [1, 1], "output_padding": [1, 1]},
        "full_coverage": True,
        "uncovered": 0,
        "warning": None,
    }
    # "same" with an odd total crop has no torch (padding, output_padding) spelling
    status, out, _ = run(capsys, "shape", "--json", "--input", "16", "--kernel", "3",
                         "--stride", "2", "--padding", "same")  # fmt: skip
    result = json.loads(out)
    assert result["padding"] == "same"
    assert result["crop"] == [[0, 1]]
    assert result["output"] == [32]
    assert result["torch"] is None


def _torch_empty_cells(size, kernel, stride, padding, output_padding):
    """Output cells of torch's conv_transpose2d (all-ones input and kernel) that hold zero."""
    y = F.conv_transpose2d(
        torch.ones(1, 1, *size), torch.ones(1, 1, *kernel), stride=stride, padding=padding,
        output_padding=output_padding,
    )  # fmt: skip
    return int((y == 0).sum())


@pytest.mark.parametrize(
    ("kernel", "stride", "output_padding", "warning"),
    [
        (2, 2, 1, "warning: 1 of 33 rows and 1 of 33 columns receive no input (in each, 1 past "
         "the end of the full output of 32: output_padding, output_size or a negative end crop "
         "adds zeros there): 65 of 1089 output cells (6.0%) hold only the bias"),
        (5, 6, 0, "warning: 15 of 95 rows and 15 of 95 columns receive no input (in each, 15 "
         "holes where no tap lands: the taps of kernel 5 reach 5 of every 6 positions at stride "
         "6): 2625 of 9025 output cells (29.1%) hold only the bias"),
        (3, 2, 0, None),
    ],
)  # fmt: skip
def test_shape_warns_about_output_cells_no_input_reaches(
    capsys, kernel, stride, output_padding, warning
):
    argv = ["--input", "16", "16", "--kernel", str(kernel), "--stride", str(stride),
            "--output-padding", str(output_padding)]  # fmt: skip
    status, out, err = run(capsys, "shape", *argv)
    assert status == 0 and err == ""
    lines = out.splitlines()
    if warning:
        assert lines[-1] == warning and lines[-2].startswith("output: ")
    else:
        assert lines[-1].startswith("output: ")
    assert ("warning: " in out) == (warning is not None)
    status, out, _ = run(capsys, "shape", "--json", *argv)
    result = json.loads(out)
    empty = _torch_empty_cells((16, 16), (kernel,) * 2, stride, 0, output_padding)
    assert result["uncovered"] == empty and result["full_coverage"] == (empty == 0)
    assert result["warning"] == (warning and warning.removeprefix("warning: "))


def test_shape_with_huge_values_counts_coverage_or_says_it_did_not(capsys):
    big = str(10**25)
    status, out, err = run(capsys, "shape", "--input", "4", "--kernel", big, "--stride", "1")
    assert status == 0 and err == "" and out.splitlines()[-1].startswith("output: ")
    status, out, err = run(capsys, "shape", "--input", "4", "--kernel", big, "--stride", big)
    assert status == 0 and err == ""
    assert out.splitlines()[-1].startswith("note: coverage of kernel_size=")
    status, out, _ = run(capsys, "shape", "--json", "--input", "4", "--kernel", big,
                         "--stride", big)  # fmt: skip
    result = json.loads(out)
    assert result["full_coverage"] is None and "not counted" in result["warning"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [*SEED, "--output-padding", "2"],
            r"output_padding=\(2, 2\) is invalid for stride=\(2, 2\), dilation=\(1, 1\): each "
            r"output_padding must be smaller than max\(stride, dilation\), so valid values are "
            r"0\.\.1",
        ),
        (
            ["--input", "2", "--kernel", "1", "--padding", "3"],
            r"output size \(-4,\) is invalid: every length must be >= 1",
        ),
        (["--input", "16", "--kernel", "3", "--padding", "middle"], r"padding='middle' is invalid"),
        (
            ["--input", "16", "16", "--kernel", "3", "3", "3"],
            r"kernel_size=.* expected an int or 2",
        ),
        (["--input", "16", "--kernel", "0"], r"kernel_size=\(0,\) is invalid: each kernel_size"),
        (["--input", "0", "--kernel", "3"], r"input spatial size \(0,\) is invalid"),
        (["--input", "16", "--kernel", "3", "--padding", "-1"], r"padding=-1 is invalid"),
    ],
)
def test_shape_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, "shape", *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("tconv shape: error: ")
    assert re.search(message, err), err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["shape", "--input", "16", "--kernel", "3", "--stride", "two"])
    assert exc.value.code == 2
    assert "argument --stride: invalid integer 'two'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["shape", "--kernel", "3"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_help_has_defaults_and_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["shape", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "tconv shape --input 16 16 --kernel 3 --stride 2 --padding 1 --output-padding 1" in out
    assert "--output-padding" in out and "(default: 0)" in out and "(default: 1)" in out
    assert "same_lower" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "shape" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tconv {tconv.__version__}"


def test_installed_entry_point_and_module():
    exe = Path(sys.executable).parent / "tconv"
    assert exe.exists(), f"the tconv console script is not installed next to {sys.executable}"
    done = subprocess.run(
        [str(exe), "shape", *SEED, "--output-padding", "1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "output: 32 x 32"
    done = subprocess.run(
        [sys.executable, "-m", "tconv", "shape", *SEED, "--output-padding", "2"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("tconv shape: error: output_padding=(2, 2) is invalid")


@pytest.mark.parametrize(
    ("error", "status", "line"),
    [
        (tconv.ShapeError("kernel_size=(0,) is invalid"), 2, "error: kernel_size=(0,) is invalid"),
        (ValueError("a bad choice\nover two lines"), 2, "error: a bad choice; over two lines"),
        (TypeError("stride must be an int"), 2, "error: stride must be an int"),
        (FileNotFoundError(2, "No such file or directory", "/x/y.json"), 2, "error: [Errno 2]"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_main_turns_library_errors_into_one_line(monkeypatch, capsys, error, status, line):
    import tconv.cli.shape

    def fail(args):
        raise error

    monkeypatch.setattr(tconv.cli.shape, "run", fail)
    assert main(["shape", "--input", "16", "--kernel", "3"]) == status
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"tconv shape: {line}"), err


def test_usage_errors_are_one_line(capsys):
    for argv in (["shape", "--input", "x"], ["plan"], ["nonsense"], ["inverse", "--kernel"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.match(r"tconv( \w+)?: error: ", err), err
        assert err.rstrip().endswith("--help')")


def test_every_subcommand_help_reads_cleanly(capsys):
    from tconv.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"shape", "plan", "inverse", "inspect"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "examples:" in text, name
        for bad in ("(default: None)", "(default: (", "(default: [", "(default: False)", "%("):
            assert bad not in text, (name, bad)
        for line in text.splitlines():
            assert line.count("(default:") <= 1, (name, line)
