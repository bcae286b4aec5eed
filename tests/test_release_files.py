"""The files a release ships with agree with each other and with the package: one version
(``tconv.__version__``), the changelog, the citation file, the licence and the metadata."""

from __future__ import annotations

import datetime
import importlib.metadata
import pathlib
import re
import sys

import yaml
from packaging.version import Version

import tconv

if sys.version_info >= (3, 11):
    import tomllib
else:  # the 'release' extra installs tomli there
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", re.M)


def _releases() -> list[tuple[str, str]]:
    return RELEASE.findall((ROOT / "CHANGELOG.md").read_text())


def test_the_version_lives_in_one_place():
    project = PYPROJECT["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tconv.__version__"}
    assert str(Version(tconv.__version__)) == tconv.__version__  # PEP 440, normalised
    # the installed metadata (editable here; tests/test_wheel.py checks the wheel) agrees
    assert importlib.metadata.version("tconv") == tconv.__version__


def test_changelog_has_unreleased_and_each_release_in_order():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "\n## [Unreleased]\n" in text
    releases = _releases()
    assert releases, "no released version in CHANGELOG.md"
    versions = [Version(v) for v, _ in releases]
    dates = [datetime.date.fromisoformat(d) for _, d in releases]
    assert versions == sorted(versions, reverse=True)
    assert dates == sorted(dates, reverse=True)
    # the package is the latest release, or a development version after it
    current, latest = Version(tconv.__version__), versions[0]
    assert current == latest or (current.is_devrelease and current > latest)
    for name in ["Unreleased", *(v for v, _ in releases)]:  # each heading has its link
        assert re.search(rf"^\[{re.escape(name)}\]: \S+$", text, re.M), name
    for line in re.findall(r"^### (.+)$", text, re.M):
        assert line in ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def test_citation_file_names_the_latest_release():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "type", "license", "version", "date-released"):
        assert citation.get(key), key
    version, date = _releases()[0]
    assert str(citation["version"]) == version
    assert str(citation["date-released"]) == date
    assert citation["license"] == PYPROJECT["project"]["license"]


def test_license_is_bsd_3_clause_everywhere():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, the tconv authors" in text
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    # with a licence expression, a "License ::" classifier is redundant (and refused by builds)
    assert not [c for c in PYPROJECT["project"]["classifiers"] if c.startswith("License ::")]


def test_classifiers_cover_the_supported_pythons():
    project = PYPROJECT["project"]
    low = Version(project["requires-python"].removeprefix(">="))
    listed = [
        Version(c.rsplit(" ", 1)[1])
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert listed and min(listed) == low
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "src" / "tconv" / "py.typed").is_file()
    assert project["keywords"] and set(project["urls"]) >= {"Homepage", "Documentation"}
