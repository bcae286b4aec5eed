"""Hashable cache keys for call arguments (:func:`freeze_args`, its inverse :func:`thaw`) and
the package's one kind of cache (:func:`lru_cache`).

``Geometry.create`` (:mod:`tconv.shapes`) memoises on them, so a layer that builds its
geometry on every call resolves its settings once. A key tells apart what Python's ``==``
would merge: ``1.0`` and ``True`` never share an entry with ``1`` (they are TypeErrors there).
Standard library only, like :mod:`tconv.shapes`, which imports it.

Every cache in tconv holds values computed from plain settings (ints, tuples, geometries),
never from tensor data: a tensor can change in place without any trace a key could read
(writes through ``.data`` move neither its storage, its data pointer nor its version counter).

Example:
    >>> key = freeze_args((3, [2, 2], "same", None, 1.0))
    >>> key == freeze_args((3, (2, 2), "same", None, 1)), thaw(key)
    (False, (3, (2, 2), 'same', None, 1.0))
    >>> freeze_args(({"a": 1},)) is UNHASHABLE
    True
"""

from __future__ import annotations

import functools
import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

__all__ = [
    "UNHASHABLE",
    "freeze",
    "freeze_args",
    "immutable",
    "lru_cache",
    "set_tracing_check",
    "thaw",
    "tracing",
]

#: What :func:`freeze` returns for a value that cannot be part of a key (a dict, a list of them).
UNHASHABLE = object()


class _Leaf:
    """A non-int argument in a cache key: equal only to the same type and value, so that
    ``1.0`` and ``True`` never share a cache entry with ``1``."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Leaf)
            and type(other.value) is type(self.value)
            and other.value == self.value
        )

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


def _int_like(value: object) -> int | None:
    """``value`` as an int when it is int-like (a numpy integer, a 0-d integer tensor), never
    for a bool."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(cast(Any, value))
    except TypeError:
        return None


def freeze(value: object) -> Any:
    """A hashable key for one argument, or :data:`UNHASHABLE`.

    ints (and int-likes) become ``int``; sequences become tuples; strings and None stay;
    anything else hashable is wrapped so that it equals only the same type and value.
    """
    if type(value) is int or value is None or type(value) is str:
        return value
    if type(value) is tuple and all(type(v) is int for v in value):  # the common case
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = [freeze(v) for v in value]
        return UNHASHABLE if any(v is UNHASHABLE for v in items) else tuple(items)
    as_int = _int_like(value)
    if as_int is not None:
        return as_int
    try:
        hash(value)
    except TypeError:
        return UNHASHABLE
    return _Leaf(value)


def freeze_args(args: tuple[object, ...]) -> Any:
    """:func:`freeze` of an argument tuple, with the common plain values handled inline (a
    layer's forward builds its geometry on every call)."""
    out = []
    for v in args:
        t = type(v)
        plain = t is int or t is str or v is None
        if plain or (t is tuple and all(type(e) is int for e in cast(tuple[object, ...], v))):
            out.append(v)
            continue
        f = freeze(v)
        if f is UNHASHABLE:
            return UNHASHABLE
        out.append(f)
    return tuple(out)


def immutable(value: object) -> bool:
    """Whether ``value`` can never change: an integer (numpy's too), a str, None, or tuples of
    them. A value kept by identity (a layer's settings) must be one, or a change in place
    would go unseen.

    >>> immutable((3, (1, 0), "same")), immutable([2, 2]), immutable(((1, 0), [0, 1]))
    (True, False, False)
    """
    if isinstance(value, (numbers.Integral, str)) or value is None:
        return True
    return type(value) is tuple and all(immutable(v) for v in cast(tuple[object, ...], value))


def thaw(key: Any) -> Any:
    """The arguments a key was frozen from (int-likes come back as ints, sequences as
    tuples)."""
    if isinstance(key, _Leaf):
        return key.value
    if isinstance(key, tuple):
        return tuple(thaw(v) for v in key)
    return key


def _never() -> bool:
    return False


#: True while a compiler traces the calling code: ``torch.compiler.is_dynamo_compiling``, set
#: by :mod:`tconv.methods` (this module imports only the standard library); False before.
tracing: Callable[[], bool] = _never


def set_tracing_check(check: Callable[[], bool]) -> None:
    """Make :data:`tracing` (and so every :func:`lru_cache`) ask ``check``."""
    global tracing
    tracing = check


_F = TypeVar("_F", bound=Callable[..., Any])


def lru_cache(maxsize: int) -> Callable[[_F], _F]:
    """:func:`functools.lru_cache` for pure functions of hashable settings, bypassed while
    :data:`tracing`: compiled code computes the value itself (torch.compile traces plain code
    and keeps the result as a constant of the graph) and holds no cached lookup it could
    only trace around (Dynamo warns about each one).

    >>> @lru_cache(maxsize=8)
    ... def square(n):
    ...     return n * n
    >>> square(3), square.cache_info().hits, square(3), square.cache_info().hits
    (9, 0, 9, 1)
    """

    def decorate(fn: _F) -> _F:
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if tracing():
                return fn(*args, **kwargs)
            return cached(*args, **kwargs)

        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return cast(_F, call)

    return decorate
