"""The API reference site builds strictly, and every public name has a complete docstring.

`make docs` runs the same build (mkdocs.yml; docs/site_hooks.py, docs/griffe_roles.py and
docs/docstring_check.py do the work).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys
from types import ModuleType

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


check = _load("docstring_check")
roles = _load("griffe_roles")


def test_every_public_name_has_a_complete_docstring():
    problems = check.problems()
    assert problems == [], "\n".join(problems)


def _complete(x, y):
    """Add.

    Args:
        x: a number.
        y (int): another.

    Returns:
        The sum.

    Raises:
        ValueError: never really.

    Example:
        >>> _complete(1, 2)
        3
    """
    if x is None:
        raise ValueError("x")
    return x + y


def _incomplete(x, y):
    """Add.

    Args:
        x: a number.
    """
    if x is None:
        raise ValueError("x")
    return x + y


def test_the_check_finds_what_is_missing():
    _complete.__annotations__ = {"x": int, "y": int, "return": int}
    _incomplete.__annotations__ = {"x": int, "y": int, "return": int}
    assert check.check_callable(_complete, "f") == []
    assert check.check_callable(_incomplete, "f") == [
        "f: Args does not describe y",
        "f: no Returns (or Shape) section",
        "f: raises but has no Raises section",
        "f: no example (a doctest, >>>)",
    ]
    _incomplete.__doc__ = None
    assert check.check_callable(_incomplete, "f") == ["f: no docstring"]


def test_every_module_of_the_reference_has_an_all():
    # the reference shows a module's __all__: without one it would show whatever is imported
    for name in check.public_modules():
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), list | tuple), name


def test_doctests_outside_examples_are_fenced_and_example_is_an_examples_section():
    text = "Summary.\n\n>>> 1 + 1\n2\n\nExample:\n    >>> 2\n    2\n"
    assert roles.fence_doctests(text) == (
        "Summary.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nExamples:\n    >>> 2\n    2\n"
    )


def test_site_builds_strict(tmp_path: pathlib.Path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    for module in check.public_modules():
        page = tmp_path / "reference" / module / "index.html"
        assert page.is_file(), module
    # the reference renders the docstrings: a signature and an example of the top-level API
    top = (tmp_path / "reference" / "tconv" / "index.html").read_text()
    assert 'id="tconv.conv_transpose"' in top
    assert "output_size" in top
    for page in ("overview", "changelog", "contributing", "license", "padding", "benchmarks"):
        assert (tmp_path / page / "index.html").is_file(), page
    # a repository link from the README became a link between pages of the site
    overview = (tmp_path / "overview" / "index.html").read_text()
    assert 'href="../padding/"' in overview
    assert "docs/padding.md" not in overview.split("href=")[1:]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (":func:`torch.nn.functional.pixel_shuffle`", "`torch.nn.functional.pixel_shuffle`"),
        (":class:`~tconv.shapes.Geometry`", "[`Geometry`][tconv.shapes.Geometry]"),
        (":func:`tconv.no_such_name`", "[`tconv.no_such_name`][tconv.no_such_name]"),
    ],
)
def test_roles_become_links_code_or_a_strict_failure(role, expected):
    import griffe

    loader = griffe.GriffeLoader(search_paths=[str(ROOT / "src")])
    package = loader.load("tconv")
    loader.resolve_aliases(implicit=False, external=False)
    modules = set(check.public_modules())
    text = roles.rewrite_roles(package, role, loader.modules_collection, modules)
    assert text == expected
