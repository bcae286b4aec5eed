"""The interactive page in a real browser: headless Debian chromium driven by selenium.

One browser session moves the page's controls over a grid of settings and checks the displayed
output size, the overlap map, the output and the matrix Cᵀ against tconv's own computation
(1-D and 2-D), that an invalid setting shows the ShapeError text, and that the console stays
clean; it saves a screenshot to out/page-test.png.

`make test` installs chromium and chromium-driver (apt-get) when they are missing.
"""

from __future__ import annotations

import os
import pathlib
import random
import shutil
import tempfile

import numpy as np
import pytest
import torch

from tconv import ShapeError
from tconv.shapes import Geometry
from tconv.viz import Settings, matrix_data, scatter_data
from tconv.viz.page import RANGES, write_page

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
KEYS = ("input", "kernel", "stride", "padding", "output_padding", "dilation")

# what the page shows, read in one script call: sizes, error, and every table's cell texts
READ = """
const cells = (sel) => Array.from(document.querySelectorAll(sel)).map(
  (tr) => Array.from(tr.children).filter((c) => c.tagName === 'TD').map(
    (c) => ({text: c.textContent, cls: c.className, out: c.getAttribute('data-out')})));
return {
  size: document.getElementById('out-size').textContent,
  error: document.getElementById('error').textContent,
  coverage: document.getElementById('coverage').textContent,
  errorShown: getComputedStyle(document.getElementById('error')).display !== 'none',
  overlap: cells('#overlap tr'),
  scatter: cells('#scatter tr'),
  matrix: cells('#matrix tr'),
  matrixText: document.getElementById('matrix').textContent,
};
"""


@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the page test needs Debian's chromium and its "
            "driver; install them with `apt-get install chromium chromium-driver` (as root; "
            "`make test` does this)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tconv-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,2000",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _choose(driver, key: str, dim: int, value) -> None:
    from selenium.webdriver.support.ui import Select

    select = Select(driver.find_element("id", f"{key}{dim}"))
    index = str(RANGES[key].index(value))
    if select.first_selected_option.get_attribute("value") != index:
        select.select_by_value(index)


def _set(driver, dims: list[dict]) -> dict:
    from selenium.webdriver.support.ui import Select

    mode = Select(driver.find_element("id", "mode"))
    want = str(len(dims))
    if mode.first_selected_option.get_attribute("value") != want:
        mode.select_by_value(want)
    for d, setting in enumerate(dims):
        for key in KEYS:
            _choose(driver, key, d, setting[key])
    return driver.execute_script(READ)


def _settings_1d(v: dict) -> Settings:
    return Settings.create(
        v["input"], v["kernel"], v["stride"], v["padding"], v["output_padding"], v["dilation"]
    )


def _settings_2d(dims: list[dict]) -> tuple[Settings, torch.Tensor, torch.Tensor]:
    """The 2-D layer of two per-dimension settings (crops as explicit pairs), with the page's
    separable example weight and input."""
    per = [_settings_1d(v) for v in dims]
    s = Settings.create(
        tuple(p.input_size[0] for p in per),
        tuple(p.geometry.kernel_size[0] for p in per),
        tuple(p.geometry.stride[0] for p in per),
        tuple(p.geometry.crop[0] for p in per),
        0,
        tuple(p.geometry.dilation[0] for p in per),
    )
    k0, k1 = s.geometry.kernel_size
    i0, i1 = s.input_size
    w = torch.outer(torch.arange(1.0, k0 + 1), torch.arange(1.0, k1 + 1)).double()
    x = torch.outer(torch.arange(1.0, i0 + 1), torch.arange(1.0, i1 + 1)).double()
    return s, w, x


def _num(text: str) -> float:
    return float(text) if text.strip() else 0.0


def _grid_values(rows: list[list[dict]], skip_ext: bool = True) -> list[list[float]]:
    return [
        [_num(c["text"]) for c in row if not (skip_ext and "ext" in c["cls"].split())]
        for row in rows
        if row
    ]


def _coverage_text(s: Settings) -> str:
    """The warning the page shows: per dimension, the output cells no input reaches."""
    g, lines = s.geometry, []
    for d in range(g.rank):
        one = Geometry(g.kernel_size[d : d + 1], g.stride[d : d + 1], g.dilation[d : d + 1],
                       g.crop[d : d + 1])  # fmt: skip
        text = one.coverage(s.input_size[d : d + 1]).describe()
        if text:
            lines.append("warning: " + (f"dim {d}: " if g.rank == 2 else "") + text)
    return "\n".join(lines)


def _check_valid(shown: dict, s: Settings, w=None, x=None) -> None:
    assert not shown["errorShown"], shown["error"]
    assert shown["size"] == " × ".join(map(str, s.output_size))
    assert shown["coverage"] == _coverage_text(s)
    sc = scatter_data(s, w, x)
    counts = np.array(sc["counts"])
    # the overlap map: every full-output cell's tap count (1-D: one row; 2-D: the grid)
    shown_counts = np.array(_grid_values(shown["overlap"]))
    np.testing.assert_array_equal(shown_counts.reshape(counts.shape), counts)
    # the output cells of the scatter view, by their output position
    out = np.array(sc["output"])
    got = np.zeros_like(out)
    seen = np.zeros(out.shape, dtype=bool)
    for row in shown["scatter"]:
        for c in row:
            if c["out"] is not None:
                idx = tuple(int(v) for v in c["out"].split(","))
                got[idx] = _num(c["text"])
                seen[idx] = True
    assert seen.all()
    np.testing.assert_allclose(got, out)
    # the matrix Cᵀ and y = Cᵀx
    m = matrix_data(s, w, x)
    if "too large" in shown["matrixText"]:
        return
    n_in = len(m["x"])
    rows = [row for row in shown["matrix"] if row]
    CT = np.array([[_num(c["text"]) for c in row[:n_in]] for row in rows])
    np.testing.assert_allclose(CT, np.array(m["CT"]))
    np.testing.assert_allclose([_num(row[-1]["text"]) for row in rows], m["y"])


def _grid_of_settings(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{key: rng.choice(RANGES[key]) for key in KEYS} for _ in range(n)]


def test_page_in_browser(browser, tmp_path):
    page = tmp_path / "page.html"
    size = write_page(page)
    assert size < 1_000_000
    html = page.read_text()
    assert "http://" not in html and "https://" not in html  # nothing fetched from anywhere
    browser.get(page.as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1"
    )
    checked = invalid = warned = 0
    # 1-D: the seed article's layer, 'same' with a stride, a dilation, then random settings
    fixed = [
        {"input": 4, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "dilation": 1},
        {"input": 5, "kernel": 4, "stride": 3, "padding": "same", "output_padding": 0,
         "dilation": 1},
        {"input": 3, "kernel": 2, "stride": 3, "padding": "valid", "output_padding": 2,
         "dilation": 2},
        {"input": 6, "kernel": 5, "stride": 1, "padding": "same_lower", "output_padding": 0,
         "dilation": 2},
        {"input": 4, "kernel": 2, "stride": 2, "padding": 0, "output_padding": 1,
         "dilation": 1},  # the last output cell receives no input: a warning
    ]  # fmt: skip
    for v in fixed + _grid_of_settings(14, seed=9):
        shown = _set(browser, [v])
        try:
            s = _settings_1d(v)
        except ShapeError as err:
            assert shown["errorShown"] and shown["size"] == "invalid"
            assert shown["error"] == f"ShapeError: {err}"
            invalid += 1
            continue
        _check_valid(shown, s)
        checked += 1
        warned += bool(shown["coverage"])
    # 2-D: pairs of per-dimension settings
    pairs = list(zip(_grid_of_settings(10, seed=10), _grid_of_settings(10, seed=11)))
    pairs.insert(0, (fixed[0], fixed[0]))
    for v0, v1 in pairs:
        shown = _set(browser, [v0, v1])
        try:
            s, w, x = _settings_2d([v0, v1])
        except ShapeError:
            assert shown["errorShown"] and shown["error"].startswith("ShapeError: ")
            invalid += 1
            continue
        _check_valid(shown, s, w, x)
        checked += 1
    # an invalid setting shows the ShapeError text
    bad = dict(fixed[0], stride=1, output_padding=2)
    shown = _set(browser, [bad])
    with pytest.raises(ShapeError) as err:
        _settings_1d(bad)
    assert shown["errorShown"] and shown["error"] == f"ShapeError: {err.value}"
    assert "output_padding" in shown["error"]
    assert checked >= 12 and invalid >= 3  # (16 and 13 with these seeds)
    assert warned >= 1
    # back to the seed article's layer for the screenshot
    _set(browser, [fixed[0], fixed[0]])
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(out / "page-test.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
