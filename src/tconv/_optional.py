"""The one mechanism for optional modules: which distribution and extra installs each
(:data:`OPTIONAL_MODULES`), an import that names the extra when the module is missing
(:func:`optional`, :func:`require`) and the one line that says so (:func:`missing_extra`).
Standard library only."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["OPTIONAL_MODULES", "MissingExtra", "missing_extra", "optional", "require"]


#: each optional module a subcommand may import -> (the distribution that provides it, the
#: extra of pyproject.toml that installs it)
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "PIL": ("Pillow", "image"),
    "png": ("pypng", "image"),
    "tifffile": ("tifffile", "image"),
    "matplotlib": ("matplotlib", "plots"),
    "skimage": ("scikit-image", "train"),
    "sklearn": ("scikit-learn", "train"),
    "tqdm": ("tqdm", "train"),
    "keras": ("keras", "interop"),
    "jax": ("jax", "interop"),
    "jaxlib": ("jaxlib", "interop"),
    "flax": ("flax", "interop"),
    "onnx": ("onnx", "interop"),
    "onnxruntime": ("onnxruntime", "interop"),
    "onnxscript": ("onnxscript", "interop"),
}


class MissingExtra(ModuleNotFoundError):
    """An optional module is not installed; the message names the extra that installs it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"No module named {module!r}: pip install 'tconv[{extra}]'", name=module)
        self.extra = extra


def missing_extra(err: ImportError) -> str | None:
    """The one line for an optional module that is not installed, or None for another
    import error.

    >>> missing_extra(ModuleNotFoundError("No module named 'PIL'", name="PIL.Image"))
    "this command needs Pillow: pip install 'tconv[image]'"
    >>> missing_extra(MissingExtra("matplotlib", "train"))
    "this command needs matplotlib: pip install 'tconv[train]'"
    """
    name = (err.name or "").split(".")[0]
    if name not in OPTIONAL_MODULES:
        return None
    distribution, extra = OPTIONAL_MODULES[name]
    extra = getattr(err, "extra", extra)
    return f"this command needs {distribution}: pip install 'tconv[{extra}]'"


def require(*modules: str, extra: str | None = None) -> None:
    """Import the optional ``modules`` now, before any work, so that a missing one is said at
    once (:func:`missing_extra`) rather than after the work; ``extra``: the extra to name
    (default: the module's own in :data:`OPTIONAL_MODULES`).
    """
    for module in modules:
        optional(module, extra)


def optional(module: str, extra: str | None = None) -> ModuleType:
    """Import the optional ``module`` (``"PIL.Image"``); a missing one raises
    :class:`MissingExtra` naming the extra that installs it (``extra``, default: its own in
    :data:`OPTIONAL_MODULES`).

    >>> optional("json").__name__
    'json'
    """
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as err:
        if (err.name or "").split(".")[0] != top or top not in OPTIONAL_MODULES:
            raise  # another module's own import error, or not an optional module
        raise MissingExtra(top, extra or OPTIONAL_MODULES[top][1]) from err
