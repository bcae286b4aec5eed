"""A Griffe extension for the API reference (mkdocs.yml loads it into mkdocstrings).

tconv's docstrings are written for reading in a terminal and in ``help()``: they cross-reference
with Sphinx roles (``:func:`plan```, ``:class:`~tconv.shapes.Geometry```) and show doctests
where they fit. mkdocstrings reads Markdown, so before the docstrings are parsed this extension

- turns each role into an autorefs link when its target is a name the reference renders (a
  public name of a module in :data:`docstring_check.API_MODULES`), resolved the way Python
  would (the object itself, then its enclosing scopes, then absolute); into inline code when
  the target is outside the reference (torch, a private helper); and leaves a target that
  resolves nowhere as a link, so that ``mkdocs build --strict`` fails on the typo;
- gives a class whose docstring is assigned at run time (``__doc__ = ...``) that docstring;
- renames ``Example:`` (Griffe reads it as a Markdown admonition) to ``Examples:`` (doctests,
  rendered as code), and fences doctest blocks outside it as code (Markdown would read
  ``>>>`` as nested quotes).
"""

from __future__ import annotations

import inspect
import pathlib
import re
import sys
from typing import Any

import griffe

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from docstring_check import public_modules

ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const|func):`(~?)([^`<]+?)\s*(?:<([^>]+)>)?`"
)
HEADER = re.compile(r"^(\w[\w ]*):\s*$")


def _lookup(collection: Any, path: str) -> Any:
    try:
        return collection[path]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _module_of(obj: Any) -> Any:
    while obj is not None and not obj.is_module:
        obj = obj.parent
    return obj


def _rendered(found: Any, modules: set[str]) -> bool:
    """Whether the reference shows ``found``: public, all the way up to an API module."""
    obj = found
    while obj is not None:
        if obj.is_module:
            return obj.path in modules
        if not obj.is_public:
            return False
        obj = obj.parent
    return False


def rewrite_roles(obj: Any, text: str, collection: Any, modules: set[str]) -> str:
    """Replace the Sphinx roles of one docstring by Markdown (see the module docstring)."""

    def replace(match: re.Match[str]) -> str:
        tilde, first, explicit = match.group(1), match.group(2).strip(), match.group(3)
        target = (explicit or first).strip().lstrip("~")
        shown = first if explicit else (target.rsplit(".", 1)[-1] if tilde else target)
        if not (target.startswith("tconv") or "." not in target or target[0].isupper()):
            return f"`{shown}`"  # torch, numpy, ...: outside this site
        scope = obj
        candidates = []
        while scope is not None:
            candidates.append(f"{scope.path}.{target}")
            scope = scope.parent
        candidates.append(target)
        for path in candidates:
            found = _lookup(collection, path)
            if found is not None:
                if _rendered(found, modules):
                    return f"[`{shown}`][{path}]"
                return f"`{shown}`"
        return f"[`{shown}`][{target}]"  # resolves nowhere: strict autorefs reports it

    return ROLE.sub(replace, text)


def fence_doctests(text: str) -> str:
    """Fence doctest blocks (``>>>`` to the next blank line) outside Example sections."""
    out: list[str] = []
    section = ""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        header = HEADER.match(line)
        if header:
            section = header.group(1)
            if section == "Example":  # Griffe reads "Example:" as an admonition of Markdown
                line = "Examples:"
        if line.lstrip().startswith(">>>") and section not in ("Example", "Examples"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += [f"{indent}```pycon", *block, f"{indent}```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _runtime_docstring(obj: Any) -> None:
    """Give a class the docstring it has at run time (``__doc__ = ...`` assignments, which the
    static reading of the source does not see)."""
    try:
        runtime = griffe.dynamic_import(obj.path)
    except ImportError:
        return
    doc = runtime.__doc__ if runtime.__doc__ is not type.__doc__ else None
    if doc:
        obj.docstring = griffe.Docstring(inspect.cleandoc(doc), parent=obj)
        if "__doc__" in obj.members:  # the assignment itself is not a member to show
            del obj.members["__doc__"]


class SphinxRoles(griffe.Extension):
    """Rewrite tconv's docstrings for mkdocstrings once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "tconv":
            return
        modules = set(public_modules())
        stack: list[Any] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.docstring is None and obj.is_class:
                _runtime_docstring(obj)
            if obj.docstring is not None:
                text = rewrite_roles(obj, obj.docstring.value, loader.modules_collection, modules)
                obj.docstring.value = fence_doctests(text)
            stack += [m for m in obj.members.values() if not m.is_alias]
