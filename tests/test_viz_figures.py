"""The figures draw exactly the numbers tconv computes; animations, checkerboards, terminal."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from tconv.artifacts import checkerboard_score
from tconv.viz import Settings, matrix_data, scatter_data, zero_insertion_data
from tconv.viz import data as D
from tconv.viz import figures as F
from tconv.viz.terminal import render, supports_color
from test_viz_data import reference
from test_viz_data import settings as random_settings


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _fmt(v: float) -> str:
    return F._fmt(float(v))


@settings(max_examples=4)
@given(random_settings(ranks=(1,)))
def test_figures_draw_tconvs_numbers(case):
    s, w, x = case
    out = reference(x, w, s).ravel()
    # matrix: the Cᵀ panel shows Cᵀ's entries, the y panel y = Cᵀx (= the transposed conv)
    d = F.matrix_figure(s, w, x)
    assert d.data == matrix_data(s, w, x)
    axes = d.figure.axes
    CT = np.array(d.data["CT"])
    assert _texts(axes[1]) == [_fmt(v) for v in CT.ravel()]
    assert _texts(axes[3]) == [_fmt(v) for v in out]
    # zero insertion: the padded row, and the output row is the transposed convolution
    d = F.zero_insertion_figure(s, w, x)
    assert {k: v for k, v in d.data.items() if k != "position"} == zero_insertion_data(s, w, x)
    axes = d.figure.axes
    assert _texts(axes[1]) == [_fmt(v) for v in d.data["padded"]]
    assert _texts(axes[3]) == [_fmt(v) for v in out]
    # scatter: the output row shows the full output; the cells inside the crop are the output
    d = F.scatter_figure(s, w, x)
    assert d.data == scatter_data(s, w, x)
    axes = d.figure.axes
    full = np.array(d.data["full"])
    assert _texts(axes[1]) == [_fmt(v) for v in full]
    assert _texts(axes[2]) == [str(v) for v in d.data["counts"]]
    (lo, hi), L = d.data["crop"][0], len(full)
    padded = np.concatenate([np.zeros(max(-lo, 0)), full, np.zeros(max(-hi, 0))])
    np.testing.assert_allclose(padded[max(lo, 0) : len(padded) - max(hi, 0)], out)
    del L


def test_two_d_figures_and_overview():
    s = Settings.create((3, 2), (3, 2), stride=2, padding=((1, -1), (0, 1)))
    out = reference(*reversed(s.example()), s)
    d = F.scatter_figure(s)
    np.testing.assert_allclose(d.data["output"], out)
    assert _texts(d.figure.axes[0]) == [_fmt(v) for v in np.ravel(d.data["full"])]
    d = F.zero_insertion_figure(s, position=3)
    np.testing.assert_allclose(d.data["output"], out)
    assert _texts(d.figure.axes[3]) == [_fmt(v) for v in out.ravel()]
    d = F.matrix_figure(s)
    assert _texts(d.figure.axes[3]) == [_fmt(v) for v in out.ravel()]
    with pytest.raises(
        ValueError, match=rf"position=99 is invalid: valid positions are 0\.\.{out.size - 1}"
    ):
        F.zero_insertion_figure(s, position=99)


def test_animation_arguments(tmp_path):
    """(The frames of every view's GIF are checked in test_cli_explain.)"""
    s = Settings.create(3, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match="valid views are"):
        F.animate("nope", s, tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"written as \.gif"):
        F.animate("matrix", s, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_checkerboard_picture_matches_the_scores():
    layers = D.default_upsamplers()
    d = F.checkerboard_figure(layers, size=8)
    for name, m in layers.items():
        got = d.data["layers"][name]
        assert got["score"] == checkerboard_score(m, (1, 1, 8, 8))
        with torch.no_grad():
            y = m(torch.ones(1, 1, 8, 8)) - m(torch.zeros(1, 1, 8, 8))
        np.testing.assert_allclose(got["constant"], y[0, 0].double().numpy(), rtol=1e-6)
    # kernel 3 stride 2 overlaps unevenly (4, 2, 2, 1 taps per phase); kernel 4 evenly
    assert d.data["layers"]["transposed k3 s2 (uneven overlap)"]["score"] == pytest.approx(4 / 3)
    assert d.data["layers"]["transposed k4 s2 (even overlap)"]["score"] == 0.0
    mine = D.with_layer(Settings.create(5, 4, stride=2, padding="same"))
    assert D.checkerboard_data(mine, 8)["layers"][next(iter(mine))]["score"] == 0.0


def test_save_formats(tmp_path):
    d = F.scatter_figure(Settings.create(2, 2, stride=2))
    assert F.save(d, tmp_path / "a.png").endswith("a.png")
    F.save(d, tmp_path / "a.svg")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "a.svg").read_text()
    with pytest.raises(ValueError, match="valid figure suffixes"):
        F.save(d, tmp_path / "a.jpg")


def test_terminal_drawing(monkeypatch):
    from tconv.viz.data import explain_data

    s = Settings.create(4, 3, stride=2, padding=1, output_padding=1)
    data = explain_data(s)
    text = render(data)
    assert "\033[" not in text
    assert "output size: (4 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 8" in text
    out_row = next(
        line for line in text.splitlines() if line.startswith("  output │") and "░" in line
    )
    cells = out_row.split("│")[1].split()
    # cropped first cell, then the output, the output_padding cell marked
    assert cells[0] == "░" and cells[-1].endswith("*")
    assert [float(c.rstrip("*")) for c in cells[1:]] == reference(
        *reversed(s.example()), s
    ).tolist()
    assert "\033[" in render(data, color=True)
    monkeypatch.setenv("NO_COLOR", "1")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not supports_color(Tty())
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm")
    assert supports_color(Tty())
    two = render(explain_data(Settings.create((2, 3), 2, stride=2)))
    assert "overlap" in two and "output (4 x 6)" in two
