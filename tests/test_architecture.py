"""The house rules, read from the sources (ast): no import circles inside tconv (imports inside
functions included), shapes imports only the standard library, the methods never import the
dispatcher, and ``import tconv`` stays light (only torch and numpy of the heavy packages)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tconv

SRC = Path(tconv.__file__).parent
HEAVY = (
    "matplotlib",
    "sklearn",
    "skimage",
    "PIL",
    "tqdm",
    "selenium",
    "keras",
    "tensorflow",
    "jax",
    "flax",
    "onnx",
    "onnxruntime",
    "onnxscript",
)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere (top level or inside functions)."""
    files = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name.split(".") if is_package else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                # `from pkg import sub` imports the submodule pkg.sub, else names of pkg
                subs = [f"{module}.{alias.name}" for alias in node.names]
                targets = [t for t in subs if t in files]
                if len(targets) < len(subs):
                    targets.append(module)
            else:
                continue
            edges.update(t for t in targets if t in files and t != name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The names a module imports (relative ones with their dots); with ``top_level_only``
    not those inside functions (which run only when called)."""
    names = set()
    todo: list[ast.AST] = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return names


def test_no_import_circle_inside_tconv():
    graph = import_graph(SRC)
    assert "tconv.shapes" in graph and "tconv.methods.subpixel" in graph  # the walk saw them
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph) or [])}"


def _outside_stdlib(path: Path, seen: frozenset[Path] = frozenset()) -> set[str]:
    """What a module imports (anywhere in it) from outside the standard library; a module of
    tconv counts as standard when it, in turn, imports only the standard library."""
    outside: set[str] = set()
    seen = seen | {path}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            outside.update(
                a.name for a in node.names if a.name.split(".")[0] not in sys.stdlib_module_names
            )
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if (node.module or "").split(".")[0] not in sys.stdlib_module_names:
                outside.add(node.module or "")
        elif isinstance(node, ast.ImportFrom):
            names = [node.module] if node.module else [a.name for a in node.names]
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            for name in names:
                sibling = base / f"{name}.py"
                if sibling in seen:
                    continue
                if not sibling.exists() or _outside_stdlib(sibling, seen):
                    outside.add("." * node.level + name)
    return outside


def test_shapes_imports_only_the_standard_library():
    # its cache keys live in a module of their own, which imports only the standard library
    assert "..cache_keys" in _imports(SRC / "shapes" / "geometry.py")
    for path in sorted((SRC / "shapes").glob("*.py")):
        outside = _outside_stdlib(path)
        assert not outside, f"tconv.shapes.{path.stem} imports {sorted(outside)}"


def test_no_method_imports_the_dispatcher():
    graph = import_graph(SRC)
    methods = [name for name in graph if name.startswith("tconv.methods")]
    assert len(methods) >= 6
    offenders = [name for name in methods if "tconv.functional" in graph[name]]
    assert not offenders, f"{offenders} import tconv.functional"


def test_the_checks_can_fail(tmp_path):
    # a circle through an import inside a function, and a method importing the dispatcher
    pkg = tmp_path / "tconv"
    (pkg / "methods").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "functional.py").write_text("from . import methods\n")
    (pkg / "methods" / "__init__.py").write_text("from . import fast\n")
    (pkg / "methods" / "fast.py").write_text("def f():\n    from .. import functional\n")
    graph = import_graph(pkg)
    assert graph["tconv.methods.fast"] == {"tconv.functional"}
    assert find_cycle(graph) == [
        "tconv.functional",
        "tconv.methods",
        "tconv.methods.fast",
        "tconv.functional",
    ]
    (pkg / "shapes.py").write_text("import math\nimport torch\ndef f():\n    import tqdm\n")
    assert _imports(pkg / "shapes.py") == {"math", "torch", "tqdm"}
    assert _imports(pkg / "shapes.py", top_level_only=True) == {"math", "torch"}
    (pkg / "keys.py").write_text("import math\n")
    (pkg / "shapes.py").write_text(
        "from . import keys\nfrom .keys import f\nfrom . import functional\n"
    )
    assert _outside_stdlib(pkg / "shapes.py") == {".functional"}  # which imports methods
    (pkg / "keys.py").write_text("import torch\n")
    assert _outside_stdlib(pkg / "shapes.py") == {".keys", ".functional"}


def test_modules_loaded_by_import_tconv_import_no_heavy_package_at_top_level():
    graph = import_graph(SRC)
    reached, todo = set(), ["tconv"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(graph[name])
    assert {"tconv.nn", "tconv.blocks", "tconv.convert"} <= reached
    files = {_module_name(p, SRC): p for p in SRC.rglob("*.py")}
    offenders = {
        name: heavy
        for name in sorted(reached)
        if (heavy := {n for n in _imports(files[name], True) if n.split(".")[0] in HEAVY})
    }
    assert not offenders, f"imported at the top level by `import tconv`: {offenders}"


def test_import_tconv_loads_no_heavy_optional_package():
    # torch itself may load some (torch.hub imports tqdm when installed): count what tconv adds
    code = (
        "import sys, torch, numpy\n"
        "before = set(sys.modules)\n"
        "import tconv, tconv.nn, tconv.convert, tconv.planning\n"
        "new = {n.split('.')[0] for n in set(sys.modules) - before}\n"
        f"print(','.join(n for n in {HEAVY!r} if n in new))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == ""


def private_task_imports(train_dir: Path, tasks: list[str]) -> list[str]:
    """``module: name`` for each private name (``_x``) a task module imports from another task
    module (``from .seg import _x``, ``from tconv.train.seg import _x``)."""
    found = []
    for task in tasks:
        for node in ast.walk(ast.parse((train_dir / f"{task}.py").read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            source = node.module.split(".")[-1]
            inside = node.level == 1 or node.module.startswith("tconv.train.")
            if inside and source in tasks and source != task:
                found += [
                    f"{task}: {source}.{a.name}" for a in node.names if a.name.startswith("_")
                ]
    return found


def test_no_task_imports_another_tasks_private_names(tmp_path):
    from tconv.train import TASK_MODULES

    tasks = [module.rsplit(".", 1)[1] for module in TASK_MODULES.values()]
    assert {"sr", "seg", "gan"} <= set(tasks)
    offenders = private_task_imports(SRC / "train", tasks)
    assert not offenders, f"a task imports another task's private names: {offenders}"
    # the check can fail
    (tmp_path / "a.py").write_text("from .b import _helper, PUBLIC\n")
    (tmp_path / "b.py").write_text("from tconv.train.a import _x\nfrom .data import _y\n")
    assert private_task_imports(tmp_path, ["a", "b"]) == ["a: b._helper", "b: a._x"]
