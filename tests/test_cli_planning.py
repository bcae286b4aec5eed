"""`tconv plan` and `tconv inverse`: tables, JSON, errors with exit status 2."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from tconv.cli import main
from tconv.planning import inverse_of, plan


def status(argv):
    """Exit status: argparse usage errors raise SystemExit, library errors return 2."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_plan_table_lists_verified_plans_best_first(capsys):
    assert main(["plan", "16", "33"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("16 -> 33: ")
    first_row = out.splitlines()[2].split()
    best = plan(16, 33)[0]
    assert first_row[1:3] == [str(best.kernel_size[0]), str(best.stride[0])]


def test_plan_n_d_with_constraints_and_json(capsys):
    assert main(["plan", "16x12", "33x25", "--kernel", "3", "4", "--stride", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [p.as_dict() for p in plan((16, 12), (33, 25), kernel_sizes=[3, 4], strides=[2])]
    assert all(r["output_size"] == [33, 25] for r in rows)


def test_plan_unreachable_exits_2_with_reason_and_nearest(capsys):
    assert status(["plan", "16", "100", "--kernel", "3", "--stride", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tconv plan: error: no settings map input 16 to output 100")
    assert "(nearest: 34)" in err and len(err.strip().splitlines()) == 1


def test_inverse_restores_sizes(capsys):
    assert main(["inverse", "--kernel", "3", "--stride", "2", "--padding", "1", "39", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("39 -> conv -> 20 -> ") and lines[0].endswith("-> 39")
    assert "output_padding 1" in lines[1] and lines[1].endswith("-> 40")


def test_inverse_json_matches_library(capsys):
    assert (
        main(["inverse", "--kernel", "3x5", "--stride", "2", "--padding", "1x2", "64x48", "--json"])
        == 0
    )
    (row,) = json.loads(capsys.readouterr().out)
    want = inverse_of({"kernel_size": (3, 5), "stride": (2,), "padding": (1, 2)}, (64, 48))
    assert row["output_padding"] == list(want.output_padding)
    assert row["output_size"] == [64, 48]


@pytest.mark.parametrize(
    "argv",
    [
        ["inverse", "--kernel", "3", "--padding", "1y", "4"],
        ["inverse", "--kernel", "3", "2x2x2x2"],
        ["plan", "16", "0"],
    ],
)
def test_bad_input_exits_2(argv, capsys):
    assert status(argv) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "1001", "many"])
def test_plan_max_results_out_of_range_is_one_line_naming_the_range(capsys, value):
    assert status(["plan", "16", "33", "--max-results", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tconv plan: error: argument --max-results: ")
    assert "valid values are 1 to 1000" in err


def test_plan_far_beyond_the_default_strides_says_so_at_once(capsys):
    assert status(["plan", "16", "100000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "beyond the default strides (1 to 64): upsample in several layers" in err
    assert status(["plan", "16", "1" + "0" * 20]) == 2  # 20 digits: the same answer
    assert "beyond the default strides" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "blamed"),
    [
        (["inverse", "--kernel", "3", "--stride", "2", "-39"], "argument SIZE: invalid size '-39'"),
        (["inverse", "--kernel", "0x5", "8"], "argument --kernel: invalid size '0x5'"),
        (["plan", "-16", "33"], "argument INPUT: invalid size '-16'"),
    ],
)
def test_negative_or_zero_sizes_are_blamed_themselves(capsys, argv, blamed):
    assert status(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{blamed}: every length must be >= 1" in err, err


def test_inverse_same_with_a_stride_is_tensorflow_same_and_says_so(capsys):
    assert main(["inverse", "--kernel", "3", "--stride", "2", "--padding", "same", "39", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("padding 'same' with stride > 1 read as TensorFlow/Keras's: ")
    assert "ceil(input / stride)" in lines[0] and "PyTorch's Conv refuses it" in lines[0]
    assert lines[1] == (
        "39 -> conv (pads (1, 1)) -> 20 -> transposed conv (kernel 3, stride 2, padding 1) -> 39"
    )
    assert lines[2].startswith("40 -> conv (pads (0, 1)) -> 20 -> ") and lines[2].endswith("40")
    argv = ["inverse", "--kernel", "3", "--stride", "2", "--padding", "same", "40", "--json"]
    assert main(argv) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["conv_padding"] == [[0, 1]] and row["conv_output"] == [20]
    # stride 1: PyTorch's own 'same', no note
    assert main(["inverse", "--kernel", "3", "--padding", "same", "40"]) == 0
    assert capsys.readouterr().out.startswith("40 -> conv -> 40 -> ")
    assert "TensorFlow" in main_help("inverse")


def main_help(command):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([command, "--help"])
    return out.getvalue()


def test_shape_same_with_output_padding_is_refused(capsys):
    argv = ["shape", "--input", "16", "--kernel", "3", "--stride", "2", "--padding", "same"]
    assert status([*argv, "--output-padding", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("tconv shape: error: padding='same' with output_padding=(1,) is invalid")


def _torch_empty_cells(row):
    """Output cells of torch's conv_transpose1d (all-ones input and kernel) that hold zero."""
    y = F.conv_transpose1d(
        torch.ones(1, 1, *row["input_size"]), torch.ones(1, 1, *row["kernel_size"]),
        stride=row["stride"], padding=row["padding"], output_padding=row["output_padding"],
        dilation=row["dilation"],
    )  # fmt: skip
    return int((y == 0).sum())


@pytest.mark.parametrize(
    ("target", "best"), [(33, ["4", "2", "1", "1"]), (100, ["7", "7", "6", "0"])]
)
def test_plan_ranks_plans_with_empty_cells_last_and_marks_them(capsys, target, best):
    """16 -> 33 used to recommend k2 s2 output_padding 1 (its last cell gets no input) and
    16 -> 100 k6 s6 output_padding 4 (4 empty cells)."""
    assert main(["plan", "16", str(target)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-1] == "coverage"
    rows = [line.split() for line in lines[2:] if line.split()[0].isdigit()]
    assert rows[0][1:5] == best and rows[0][-1] == "full"
    marks = [r[-1] == "full" for r in rows]
    assert marks == sorted(marks, reverse=True) and not all(marks)
    empty = [r[0] for r in rows if r[-1] == "empty"]
    assert lines[-2].startswith("empty: output cells that no input reaches (plan")
    assert all(n in lines[-2] for n in empty)
    assert main(["plan", "16", str(target), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for row, r in zip(data, rows):
        assert row["uncovered"] == _torch_empty_cells(row)
        assert row["full_coverage"] == (r[-1] == "full") == (row["uncovered_why"] == "")
        assert r[-1] == "full" or r[-2] == str(row["uncovered"])


def test_plan_table_has_no_footnote_when_every_plan_is_covered(capsys):
    assert main(["plan", "16", "32", "--kernel", "4", "--stride", "2"]) == 0
    out = capsys.readouterr().out
    assert "empty" not in out and out.splitlines()[-1].split()[-1] == "full"
