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
