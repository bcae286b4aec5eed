"""The docs' generated tables are up to date, and their code examples run."""

from __future__ import annotations

import doctest
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_generated_tables_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "docs").glob("*.md")))
def test_docs_examples_run(name):
    failures, _ = doctest.testfile(
        str(ROOT / "docs" / name),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert failures == 0


def _module_table() -> dict[str, str]:
    """docs/index.md's table of modules: `tconv.x` -> the row's text."""
    text = (ROOT / "docs" / "index.md").read_text()
    rows = re.findall(r"^\| `(tconv(?:\.\w+)?)` \| (.+) \|$", text, re.M)
    return dict(rows)


def _registered_modules() -> set[str]:
    """The modules a registry lists (a method, a subcommand): the registry is their list, so
    the table need not name each (its row says where the registry is)."""
    import tconv.cli
    import tconv.methods

    methods = {m.forward.__module__ for m in tconv.methods.REGISTRY}
    return methods | {row.module for row in tconv.cli.COMMANDS.values()}


def test_the_module_table_lists_every_module():
    # a top-level module has its row; a module of a subpackage is named in its package's row,
    # unless a registry lists it
    src = ROOT / "src" / "tconv"
    table = _module_table()
    registered = _registered_modules()
    missing = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] in ("__init__", "__main__") and len(parts) == 1:
            continue  # tconv itself (its row names __main__ too)
        top = f"tconv.{parts[0]}"
        name = ".".join(("tconv", *parts))
        if top not in table:
            missing.append(top)
        elif len(parts) == 2 and parts[1] != "__init__" and f"`{parts[1]}`" not in table[top]:
            missing += [] if name in registered else [name]
    assert not missing, f"docs/index.md's module table lacks {missing}"
    modules = {f"tconv.{p.relative_to(src).parts[0].removesuffix('.py')}" for p in src.iterdir()}
    stale = set(table) - modules - {"tconv"}
    assert not stale, f"docs/index.md's module table names modules that do not exist: {stale}"
