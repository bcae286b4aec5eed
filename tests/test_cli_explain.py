"""`tconv explain`: terminal drawing, --json numbers, --out files, --html page, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tconv.cli import main
from tconv.viz import Settings
from tconv.viz import page as page_module
from test_viz_data import reference


def run(capsys, *argv):
    status = main(["explain", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("argv", "settings"),
    [
        (["--input", "5", "--kernel", "3", "--stride", "2", "--padding", "1",
          "--output-padding", "1"], dict(input_size=5, kernel_size=3, stride=2, padding=1,
                                         output_padding=1)),
        (["--input", "6", "--kernel", "3", "--stride", "2", "--padding", "1,-2"],
         dict(input_size=6, kernel_size=3, stride=2, padding=((1, -2),))),
        (["--input", "3", "4", "--kernel", "4", "3", "--stride", "2", "--padding", "same",
          "--dilation", "1", "2"], dict(input_size=(3, 4), kernel_size=(4, 3), stride=2,
                                        padding="same", dilation=(1, 2))),
        (["--input", "4", "--kernel", "3", "--stride", "2", "--padding", "1",
          "--output-size", "8"], dict(input_size=4, kernel_size=3, stride=2, padding=1,
                                      output_size=8)),
    ],
)  # fmt: skip
def test_json_numbers_equal_tconv(capsys, argv, settings):
    status, out, err = run(capsys, *argv, "--json")
    assert status == 0 and err == ""
    data = json.loads(out)
    s = Settings.create(**settings)
    y = reference(*reversed(s.example()), s)
    assert data["output_size"] == list(y.shape)
    assert data["formula"] == list(s.geometry.explain(s.input_size))
    for got in (data["matrix"]["y"], data["zero_insertion"]["output"], data["scatter"]["output"]):
        np.testing.assert_allclose(np.reshape(got, y.shape), y)


def test_terminal_drawing_without_colour(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    status, out, _ = run(capsys, "--input", "16", "--kernel", "3", "--stride", "2",
                         "--padding", "1", "--output-padding", "1")  # fmt: skip
    assert status == 0
    assert "\033[" not in out  # captured output is not a terminal
    assert "output size: (16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32" in out
    assert "scatter view" in out and "zero-insertion view" in out and "matrix view" in out
    status, out, _ = run(capsys, "--input", "4", "--kernel", "3", "--color", "always")
    assert status == 0 and "\033[" in out


def test_out_writes_figures_and_refuses_to_overwrite(capsys, tmp_path):
    from PIL import Image

    target = tmp_path / "figs"
    argv = ["--input", "2", "--kernel", "3", "--stride", "2", "--out", str(target)]
    status, out, err = run(capsys, *argv, "--format", "png", "svg")
    assert status == 0, err
    paths = out.split()
    names = sorted(p.split("/")[-1] for p in paths)
    assert names == sorted(
        ["explain.json", "checkerboard.png"]
        + [
            f"{v}.{e}"
            for v in ("matrix", "zero_insertion", "scatter")
            for e in ("png", "svg", "gif")
        ]
    )
    for p in paths:
        assert (target / p.split("/")[-1]).stat().st_size > 0
    # one frame per output position (matrix, zero insertion) / input element + the crop (scatter)
    for view, frames in (("matrix", 5), ("zero_insertion", 5), ("scatter", 3)):
        with Image.open(target / f"{view}.gif") as im:
            assert im.n_frames == frames
    saved = json.loads((target / "explain.json").read_text())
    assert saved["scatter"]["full"] == [1.0, 2.0, 5.0, 4.0, 6.0]
    before = (target / "matrix.png").read_bytes()
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "exists; pass --force" in err
    assert (target / "matrix.png").read_bytes() == before
    status, out, err = run(capsys, *argv, "--force", "--no-gif")
    assert status == 0 and "matrix.png" in out and ".gif" not in out


def test_html_page(capsys, tmp_path, monkeypatch):
    small = {**page_module.RANGES, "input": [1, 2], "kernel": [1, 2, 3], "stride": [1, 2]}
    monkeypatch.setattr(page_module, "RANGES", small)
    path = tmp_path / "page.html"
    status, out, err = run(capsys, "--html", str(path))
    assert status == 0, err
    assert out.startswith(f"wrote {path}") and path.stat().st_size > 1000
    text = path.read_text()
    assert "<script" in text and "src=" not in text  # self-contained
    status, out, err = run(capsys, "--html", str(path))
    assert status == 2 and "exists; pass --force" in err
    assert run(capsys, "--html", str(path), "--force")[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "5", "--kernel", "3", "--stride", "2", "--output-padding", "2"],
         r"output_padding=\(2,\) is invalid"),
        (["--input", "2", "2", "2", "--kernel", "3"], "1 or 2 spatial lengths"),
        (["--input", "9", "9", "--kernel", "3", "--stride", "4"], "too large to draw"),
        (["--input", "5", "--kernel", "3", "--padding", "1,x"], "a pair is two ints"),
        (["--input", "5", "--kernel", "3", "--padding", "bogus"], "valid names are"),
        (["--input", "5"], "--input and --kernel are both required"),
        ([], "give --input and --kernel"),
        (["--input", "4", "--kernel", "3", "--position", "9"], "valid positions are 0..5"),
        (["--html", "/nonexistent-dir/page.html"], "does not exist"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("tconv explain: error: ") and err.count("\n") == 1
    assert message in err or __import__("re").search(message, err), err


def test_out_must_be_a_directory(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("mine")
    status, _, err = run(capsys, "--input", "3", "--kernel", "2", "--out", str(f))
    assert status == 2 and "exists and is not a folder" in err
    assert f.read_text() == "mine"


def test_warns_about_output_cells_no_input_reaches(capsys):
    argv = ["--input", "4", "--kernel", "2", "--stride", "2", "--output-padding", "1"]
    status, out, _ = run(capsys, *argv)
    warning = (
        "warning: 1 of 9 output positions receives no input (1 past the end of the full output "
        "of 8: output_padding, output_size or a negative end crop adds zeros there); it holds "
        "only the bias"
    )
    assert status == 0 and out.splitlines()[2] == warning
    status, out, _ = run(capsys, *argv, "--json")
    data = json.loads(out)
    assert data["coverage"] == {"full": False, "uncovered": 1, "cells": 9,
                                "warning": warning.removeprefix("warning: ")}  # fmt: skip
    assert data["scatter"]["output"][-1] == 0  # the cell torch's reference leaves empty
    status, out, _ = run(capsys, "--input", "4", "--kernel", "3", "--stride", "2")
    assert status == 0 and "warning" not in out


def test_out_for_a_2d_input_writes_gifs_when_asked(capsys, tmp_path):
    """2-D animations are opt-in (--gif): `--out` alone answers in seconds; each file's path
    is printed as it is written."""
    argv = ["--input", "2", "2", "--kernel", "3", "--stride", "2", "--padding", "same"]
    status, out, err = run(capsys, *argv, "--out", str(tmp_path / "a"))
    assert status == 0, err
    names = [p.split("/")[-1] for p in out.split()]
    assert names == ["explain.json", "matrix.png", "zero_insertion.png", "scatter.png",
                     "checkerboard.png"]  # fmt: skip
    status, out, err = run(capsys, *argv, "--out", str(tmp_path / "b"), "--gif")
    assert status == 0, err
    assert [p.split("/")[-1] for p in out.split() if p.endswith(".gif")] == [
        "matrix.gif",
        "zero_insertion.gif",
        "scatter.gif",
    ]
    with pytest.raises(SystemExit) as stop:
        main(["explain", *argv, "--out", str(tmp_path / "c"), "--gif", "--no-gif"])
    assert stop.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
