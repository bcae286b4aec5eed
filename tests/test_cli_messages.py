"""The command line speaks the user's words: flags, not the library's Python names; no raw
Python values; a closed pipe is a quiet exit (issue 27, item 5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tconv.cli import main
from tconv.inspection import inspect_model

ROOT = Path(__file__).resolve().parents[1]


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    return err


def test_library_settings_are_said_as_the_commands_flags(capsys):
    err = _error(capsys, ["plan", "16", "100", "--kernel", "3", "--stride", "2"])
    assert "pass --allow-crop to allow" in err and "allow_crop" not in err


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "cat.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_upscale_messages_name_flags(capsys, photo, tmp_path):
    out = str(tmp_path / "big.png")
    err = _error(capsys, ["upscale", str(photo), "-o", out, "--scale", "2", "--quality", "best"])
    assert "--ensemble adds" in err and "ensemble=True" not in err
    # the limit was given: it was too small (it said "set the limit with --max-memory")
    err = _error(capsys, ["upscale", str(photo), "-o", out, "--max-memory", "100k"])
    assert "the limit given (--max-memory 100k) is too small" in err
    assert "set the limit" not in err and "max_memory=" not in err


def test_no_raw_python_values_in_help_or_summaries(capsys):
    from tconv.cli.bench import _said

    with pytest.raises(SystemExit):
        main(["train", "sr", "--help"])
    text = capsys.readouterr().out
    assert "{" not in text and "few minutes" not in text
    assert "--quick               a smaller run: --epochs 2" in text
    assert "--lr 0.001 \\\n      --epochs 40" in text  # a shell continuation, kept on two lines
    assert _said((0.9077352627283645, "dcgan forward float32 nchw")) == (
        "0.91x (dcgan forward float32 nchw)"
    )


def test_shape_reads_sizes_as_plan_and_inverse_do(capsys):
    assert main(["shape", "--input", "16", "16", "--kernel", "3", "--stride", "2"]) == 0
    spaced = capsys.readouterr().out
    assert main(["shape", "--input", "16x16", "--kernel", "3x3", "--stride", "2"]) == 0
    assert capsys.readouterr().out == spaced


def test_inspect_json_keeps_the_whole_settings():
    class Resize(torch.nn.Identity):
        def extra_repr(self) -> str:
            return "size=(16, 16), mode='bilinear', align_corners=True, antialias=False"

    model = torch.nn.Sequential(Resize(), torch.nn.Conv2d(3, 3, 3, padding=1))
    report = inspect_model(model, (1, 3, 8, 8))
    settings = json.loads(report.to_json())["layers"][0]["settings"]
    assert settings == model[0].extra_repr() and len(settings) > 48
    assert "..." in report.format()  # the table shortens it, the JSON does not


def test_a_closed_pipe_ends_quietly():
    """`tconv ... --json | head` printed "error: [Errno 32] Broken pipe"."""
    argv = [sys.executable, "-m", "tconv", "explain", "--input", "8", "8", "--kernel", "8",
            "--stride", "8", "--json"]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    writer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert writer.stdout is not None and writer.stderr is not None
    first = writer.stdout.read(10)  # a reader that takes the start, then closes the pipe
    writer.stdout.close()
    err = writer.stderr.read().decode()
    assert writer.wait(timeout=120) == 141
    assert first.startswith(b"{") and err == ""
