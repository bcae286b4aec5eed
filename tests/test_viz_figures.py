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


def test_animation_draws_its_figure_once_at_a_screens_size(tmp_path, monkeypatch):
    """`tconv explain --out` took minutes: every GIF frame was a new figure laid out and drawn
    (144 frames of 2458x1998 for a 6x6 input). Now each view's figure is drawn once and every
    frame redraws only what moves; at most MAX_FRAMES frames and MAX_FIGURE inches."""
    from matplotlib.figure import Figure
    from PIL import Image

    draws = []
    original = Figure.draw

    def counted(self, renderer):
        draws.append(self)
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    s = Settings.create((5, 5), 3, stride=2, padding=1, output_padding=1)
    for view, frames in (("matrix", 60), ("zero_insertion", 60), ("scatter", 26)):
        draws.clear()
        path = tmp_path / f"{view}.gif"
        info = F.animate(view, s, path)
        assert len(draws) == 1, view
        with Image.open(path) as im:
            assert im.n_frames == info["frames"] == frames
            assert im.size[0] <= 100 * F.MAX_FIGURE[0] and im.size[1] <= 100 * F.MAX_FIGURE[1]


def test_animation_frames_show_the_view_at_each_step(tmp_path):
    """A frame of the GIF is the figure of that step: its moving parts are where the still
    figure draws them (compared on pixels, both drawn at the GIF's resolution)."""
    from PIL import Image

    s = Settings.create((3, 3), 3, stride=2, padding=1)
    F.animate("scatter", s, tmp_path / "s.gif")
    F.animate("matrix", s, tmp_path / "m.gif")
    with Image.open(tmp_path / "s.gif") as im:
        im.seek(4)
        frame = np.asarray(im.convert("RGB"), dtype=float)
    still = F._scatter_parts(s, scatter_data(s), 4)[0]
    still.canvas.draw()
    expected = np.asarray(still.canvas.buffer_rgba())[..., :3].astype(float)
    assert frame.shape == expected.shape
    assert np.abs(frame - expected).mean() < 2.0  # the palette's rounding, antialiasing
    with Image.open(tmp_path / "m.gif") as im:
        im.seek(7)
        frame = np.asarray(im.convert("RGB"), dtype=float)
    _, still = F._draw_matrix(s, matrix_data(s), 7)
    still.canvas.draw()
    expected = np.asarray(still.canvas.buffer_rgba())[..., :3].astype(float)
    assert np.abs(frame - expected).mean() < 2.0


def test_large_outputs_are_summarised_and_fit_the_screen():
    s = Settings.create((8, 8), 8, stride=8)  # the largest drawable: 64 inputs, 64x64 outputs
    for drawing in (F.matrix_figure(s), F.scatter_figure(s), F.zero_insertion_figure(s)):
        width, height = drawing.figure.get_size_inches()
        assert width <= F.MAX_FIGURE[0] + 1e-9 and height <= F.MAX_FIGURE[1] + 1e-9
        # the 64x64 panels in colours, without numbers (the 8x8 kernel keeps its numbers)
        big = [ax for ax in drawing.figure.axes if len(ax.images[0].get_array()) >= 64]
        assert big and all(not ax.texts for ax in big)
    assert F.frame_steps("matrix", s) == list(range(64))  # the first row of 64 positions


def test_figure_labels_show_pairs_as_a_reader_writes_them():
    s = Settings.create((4, 4), 3, stride=2, padding="same")
    fig = F.scatter_figure(s).figure
    legend = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    assert legend[0] == "cropped: (lo, hi) = rows (0, 1), columns (0, 1)"
    fig = F.zero_insertion_figure(s).figure
    assert fig.axes[1].get_title() == "2. + border rows (2, 1), columns (2, 1)"
    text = render(D.explain_data(s))
    assert "[[" not in text and "cropped by (lo, hi) = rows (0, 1), columns (0, 1)" in text


def test_checkerboard_picture_sub_pixel_panel_is_its_structure_not_its_random_init():
    """The ICNR panel showed saturated borders and a shifted blob (a random 3x3 sub-kernel);
    with constant taps like the others, its response to a constant is flat inside the border
    and its response to the smooth image is centred where resize-conv's is."""
    layers = F.checkerboard_figure(size=12).data["layers"]
    sub = np.array(layers["sub-pixel, ICNR init"]["constant"])
    assert sub.min() >= 0 and np.allclose(sub[2:-2, 2:-2], sub[12, 12])
    peak = [np.unravel_index(np.argmax(layers[name]["smooth"]), (24, 24))
            for name in ("sub-pixel, ICNR init", "resize-conv (nearest + 3x3)")]  # fmt: skip
    assert abs(peak[0][0] - peak[1][0]) <= 2 and abs(peak[0][1] - peak[1][1]) <= 2
