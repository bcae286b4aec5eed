"""benchmarks/*.py fail fast and in one line when something they need is missing."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "convert_dcgan.py"


@pytest.mark.parametrize("hidden", ["onnxruntime", "onnxscript"])
def test_convert_dcgan_without_the_interop_extra_says_what_to_install(monkeypatch, capsys, hidden):
    monkeypatch.setitem(sys.modules, hidden, None)  # as if not installed
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--repeat", "1"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing ran
    assert err.count("\n") == 1
    assert err.startswith(f"convert_dcgan.py: error: needs {hidden} (tconv's interop extra): ")
    assert "pip install 'tconv[interop]' torch==2.13.0" in err


def test_convert_dcgan_refuses_bad_counts(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--repeat", "0"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exc.value.code == 2
    assert "--repeat 0 is invalid: it must be >= 1" in capsys.readouterr().err


REPACK = Path(__file__).resolve().parents[1] / "benchmarks" / "subpixel_repack.py"


def test_subpixel_repack_prints_a_ratio_per_layer(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(REPACK), "--repeat", "2", "--threads", "1"])
    runpy.run_path(str(REPACK), run_name="__main__")
    rows = [line for line in capsys.readouterr().out.splitlines() if " ms " in line]
    assert len(rows) >= 5  # one per layer, each ending in its same-run ratio
    assert all(float(row.split()[-1]) > 0 for row in rows)


def test_subpixel_repack_refuses_bad_counts(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(REPACK), "--repeat", "1"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(REPACK), run_name="__main__")
    assert exc.value.code == 2
    assert "--repeat 1 is invalid: it must be >= 2" in capsys.readouterr().err
