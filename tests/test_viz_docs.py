"""The docs' figures: their stale check compares the numbers each figure drew, and can fail."""

from __future__ import annotations

import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _generate():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure_check_fails_on_changed_numbers_or_missing_png(tmp_path, monkeypatch):
    gen = _generate()
    from tconv.viz import Settings
    from tconv.viz import figures as F

    monkeypatch.setattr(
        gen, "_figure_makers", lambda: {"small": lambda: F.matrix_figure(Settings.create(2, 2))}
    )
    assert gen.figures(check=False, directory=tmp_path) == []
    assert (tmp_path / "small.png").exists()
    assert gen.figures(check=True, directory=tmp_path) == []
    data = json.loads((tmp_path / "figures.json").read_text())
    assert data["small"]["y"] == [1.0, 4.0, 4.0]  # x = 1, 2 and w = 1, 2: y = [1, 2 + 2, 4]
    data["small"]["y"][1] = 5.0
    (tmp_path / "figures.json").write_text(json.dumps(data))
    assert gen.figures(check=True, directory=tmp_path) == ["figures/small.png"]
    gen.figures(check=False, directory=tmp_path)
    (tmp_path / "small.png").unlink()
    assert gen.figures(check=True, directory=tmp_path) == ["figures/small.png"]


def test_docs_figures_are_committed():
    names = json.loads((ROOT / "docs" / "figures" / "figures.json").read_text())
    for name in names:
        assert (ROOT / "docs" / "figures" / f"{name}.png").exists(), name
    readme = (ROOT / "README.md").read_text()
    assert "docs/figures/two-views.png" in readme and "docs/figures/checkerboard.png" in readme
