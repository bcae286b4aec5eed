"""benchmarks/overhead.py runs, prints one row per (rank, bias, contender) and refuses bad
counts in one line."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "overhead.py"


def test_overhead_prints_a_ratio_per_case(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--rounds", "2", "--calls", "2"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "D |" in line]
    assert len(rows) == 3 * 2 * 5  # ranks x bias x (A/A, module/function x native/auto)
    for row in rows:
        assert float(row.rstrip(" |").rsplit("|", 1)[1]) > 0
    assert "- module native: speed" in out and "- function auto: speed" in out


def test_overhead_refuses_bad_counts(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--calls", "0"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exc.value.code == 2
    assert "0 is out of range" in capsys.readouterr().err
