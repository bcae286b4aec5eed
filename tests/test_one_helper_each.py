"""One helper per job, found by reading the sources: one message formatter
(``tconv._messages.one_line``), one optional-import mechanism naming the extra
(``tconv._optional``), one loader of torch files (``tconv.loading``), one atomic writer
(``tconv._files.write_atomic``)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

import tconv
from tconv._files import write_atomic
from tconv._optional import MissingExtra, missing_extra, optional

SRC = Path(tconv.__file__).resolve().parent
# upscale.py is being split into sr/ and upscaling/ (issue 28); its own writer and optional
# imports move to these helpers there
LATER = ("upscale.py", "cli/upscale.py")


def _where(pattern: str) -> set[str]:
    found = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel not in LATER and re.search(pattern, path.read_text()):
            found.add(rel)
    return found


@pytest.mark.parametrize(
    ("pattern", "home"),
    [
        (r"\bdef _?one_line\(", {"_messages.py"}),
        (r"os\.umask\(", {"_files.py"}),
        (r"class \w*Missing\w*\((ModuleNotFound|Import)Error\)", {"_optional.py"}),
    ],
)
def test_each_job_has_one_home(pattern, home):
    assert _where(pattern) == home


def test_torch_files_are_read_by_the_one_loader():
    callers = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                callers.add(rel)
    assert callers == {"loading.py"}


def test_optional_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    with pytest.raises(MissingExtra, match=r"pip install 'tconv\[image\]'") as exc:
        optional("PIL.Image")
    assert missing_extra(exc.value) == "this command needs Pillow: pip install 'tconv[image]'"
    with pytest.raises(MissingExtra, match=r"tconv\[train\]"):  # the caller's extra wins
        optional("PIL", extra="train")
    assert optional("json").__name__ == "json"


def test_an_import_error_inside_an_optional_module_is_not_disguised(monkeypatch, tmp_path):
    (tmp_path / "PIL_broken_probe.py").write_text("import a_module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as exc:
        optional("PIL_broken_probe")
    assert not isinstance(exc.value, MissingExtra)


def test_write_atomic_leaves_the_old_file_on_error(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(path, broken)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]
