"""Every public name of tconv has a complete docstring.

    python docs/docstring_check.py    # list the problems; exit 1 if there are any

The API reference is generated from the docstrings, so a public name without one is a hole in
the documentation. "Public" means: the modules of :data:`API_MODULES` (the ones users import),
and in each the names of ``__all__`` (or, without ``__all__``, the functions and classes defined
there). For each public function and class the docstring must
have a summary line and the Google-style sections that apply:

- ``Args:`` naming every parameter, when the signature has parameters (``Attributes:`` for
  the fields of a NamedTuple or dataclass);
- ``Returns:`` or a ``Shape:`` block, when a function returns something;
- ``Shape:``, when tensors are involved (``Tensor`` in the signature, or an ``nn.Module``);
- ``Raises:``, when the function (or the class's ``__init__``) has a ``raise`` statement;
- an example: a doctest (``>>>``; the suite runs them), best under an ``Example:`` header
  (docs/griffe_roles.py renders one outside it as code too).

Public methods and properties defined by tconv need at least a docstring (methods that only
override one of a base class outside tconv, such as ``forward``, are exempt).

The mkdocs hooks (docs/site_hooks.py) log each problem as a warning, so ``mkdocs build
--strict`` fails on them; tests/test_docs_site.py calls :func:`problems` directly too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from typing import Any

SECTION = re.compile(r"^(\w[\w ]*):\s*$", re.M)  # a Google-style section header line
PARAMETER = re.compile(r"^\s+\**(\w+)(?:\s*\([^)]*\))?\s*:", re.M)  # "name (type): ..." entries


# The modules whose names users import (docs/index.md; /work-wide design: the public names).
# The rest of the package (methods, bench, inspection, cli) is reached through these or the
# command line; it keeps docstrings but is not part of the reference.
API_MODULES = (
    "tconv",
    "tconv.shapes",
    "tconv.functional",
    "tconv.nn",
    "tconv.init",
    "tconv.planning",
    "tconv.artifacts",
    "tconv.convert",
    "tconv.interop",
    "tconv.interop.keras",
    "tconv.interop.jax",
    "tconv.interop.onnx",
    "tconv.viz",
    "tconv.viz.figures",
    "tconv.viz.page",
    "tconv.viz.terminal",
    "tconv.train",
    "tconv.train.trainer",
    "tconv.train.data",
    "tconv.train.sr",
    "tconv.train.seg",
    "tconv.train.gan",
    "tconv.train.quality",
    "tconv.train.report",
    "tconv.train.figures",
    "tconv.sr",
    "tconv.sr.thirdparty",
    "tconv.upscaling",
)


def public_modules() -> list[str]:
    """Dotted names of the modules of the API reference, ``tconv`` first."""
    return list(API_MODULES)


def public_names(module: Any) -> list[str]:
    """The public names of a module: ``__all__``, or the functions and classes defined there."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]


def sections(doc: str) -> dict[str, str]:
    """The Google-style sections of a docstring: header -> body (the summary under "")."""
    parts: dict[str, str] = {}
    headers = list(SECTION.finditer(doc))
    parts[""] = doc[: headers[0].start()] if headers else doc
    for header, after in zip(headers, [*headers[1:], None]):
        body = doc[header.end() : after.start() if after else len(doc)]
        parts[header.group(1).strip()] = body
    return parts


def _raises(func: Callable[..., Any]) -> bool:
    """Whether a function's own body has a ``raise`` statement."""
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return False
    tree = ast.parse(source)
    return any(isinstance(node, ast.Raise) for node in ast.walk(tree))


def _parameters(obj: Any) -> list[str]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, p in signature.parameters.items()
        if name not in ("self", "cls")
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def _mentions_tensor(obj: Any) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    annotations = [str(p.annotation) for p in signature.parameters.values()]
    annotations.append(str(signature.return_annotation))
    return any("Tensor" in a for a in annotations)


def _returns_something(func: Callable[..., Any]) -> bool:
    annotation = inspect.signature(func).return_annotation
    return annotation not in (None, "None", inspect.Signature.empty)


def check_callable(obj: Any, where: str) -> list[str]:
    """Problems of one public function or class docstring (empty list: complete)."""
    doc = inspect.getdoc(obj) if obj.__doc__ else None
    if not doc or not doc.strip():
        return [f"{where}: no docstring"]
    found = sections(doc)
    problems = []
    if not found[""].strip():
        problems.append(f"{where}: no summary line before the sections")
    is_class = inspect.isclass(obj)
    init = obj.__init__ if is_class and "__init__" in vars(obj) else None
    parameters = _parameters(obj)
    if parameters:
        # a NamedTuple's or dataclass's fields may be described as its Attributes instead
        described = found.get("Args", "") + found.get("Attributes", "")
        if not described:
            problems.append(f"{where}: no Args section (parameters {', '.join(parameters)})")
        else:
            named = set(PARAMETER.findall(described))
            missing = [p for p in parameters if p not in named]
            if missing:
                problems.append(f"{where}: Args does not describe {', '.join(missing)}")
    import torch

    module_like = is_class and issubclass(obj, torch.nn.Module)
    if (module_like or _mentions_tensor(obj)) and "Shape" not in found:
        problems.append(f"{where}: tensors are involved but there is no Shape section")
    if not is_class and _returns_something(obj) and not {"Returns", "Shape"} & set(found):
        problems.append(f"{where}: no Returns (or Shape) section")
    if (_raises(init) if init is not None else not is_class and _raises(obj)) and (
        "Raises" not in found
    ):
        problems.append(f"{where}: raises but has no Raises section")
    if ">>>" not in doc:
        problems.append(f"{where}: no example (a doctest, >>>)")
    return problems


def check_members(cls: type, where: str) -> list[str]:
    """Problems of the public methods and properties a tconv class defines."""
    problems = []
    foreign = [base for base in cls.__mro__[1:] if not base.__module__.startswith("tconv")]
    for name, member in vars(cls).items():
        if name.startswith("_") or any(name in vars(base) for base in foreign):
            continue
        func = member.fget if isinstance(member, property) else member
        func = getattr(func, "__func__", func)  # classmethod / staticmethod
        if not callable(func):
            continue
        if not (func.__doc__ or "").strip():
            problems.append(f"{where}.{name}: no docstring")
    return problems


def problems(modules: list[str] | None = None) -> list[str]:
    """Every problem found in the public modules (all of them by default)."""
    found: list[str] = []
    seen: set[int] = set()
    for module_name in modules or public_modules():
        module = importlib.import_module(module_name)
        if not (module.__doc__ or "").strip():
            found.append(f"{module_name}: no module docstring")
        for name in public_names(module):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            where = f"{obj.__module__}.{obj.__qualname__}"
            found += check_callable(obj, where)
            if inspect.isclass(obj):
                found += check_members(obj, where)
    return found


if __name__ == "__main__":
    listed = problems()
    print("\n".join(listed) or "every public name has a complete docstring")
    sys.exit(1 if listed else 0)
