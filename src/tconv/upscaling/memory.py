"""The memory an upscaling run needs, estimated before the work; the time small tiles cost."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from ..sr.ensembles import TwoPathX4
from .tiles import tile_ranges

__all__ = [
    "DEFAULT_TILE",
    "available_memory",
    "features",
    "memory_needed",
    "parse_size",
    "tile_slowdown",
]

#: the tile size the time estimate of :func:`tile_slowdown` compares with (the CLI's default)
DEFAULT_TILE = 256
_GiB = 1024**3


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable, capped by a cgroup limit), or None.

    Returns:
        The bytes, or ``None`` where the system does not say (then no budget is enforced
        unless one is given).

    >>> available_memory() is None or available_memory() > 0
    True
    """
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(max(int(limit) - int(used), 0))
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(found) if found else None


def parse_size(text: str) -> int:
    """Bytes from ``"8G"``, ``"500M"``, ``"1.5GiB"``, ``"2048k"`` or plain ``"1000000"``.

    Units are powers of 1024 (K, M, G, T; an optional ``B``/``iB``).

    Args:
        text: the size as written on the command line.

    Returns:
        The size in bytes.

    Raises:
        ValueError: not a positive size in these units (the message names the text).

    >>> parse_size("8G"), parse_size("512m"), parse_size("1000")
    (8589934592, 536870912, 1000)
    """
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(
            f"memory size {text!r} is invalid: expected a positive number with an optional "
            "unit K, M, G or T (powers of 1024), e.g. 8G or 500M"
        )
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " "))


def _gib(n: float) -> str:
    return f"{n / _GiB:.2f} GiB" if n >= 0.1 * _GiB else f"{n / 1024**2:.0f} MiB"


def memory_needed(
    height: int,
    width: int,
    channels: int,
    dtype: Any,
    scale: int,
    fmt: str,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = 16,
    features: int = 64,
    streamed: bool | None = None,
) -> int:
    """Estimated peak bytes :func:`upscale_file` needs beyond the running interpreter.

    The input (twice while it is decoded), one row of tiles in float and in the output dtype,
    one tile's model activations (``features`` channels), and the whole output in its own
    dtype with the encoder's copy -- except for PNG, which is streamed to the file row of
    tiles by row of tiles (``streamed``, default: PNG), so the output is never held.

    Args:
        height: the input's height (as :func:`image_info` gives it).
        width: the input's width.
        channels: the input's channels (1 for grey).
        dtype: the input's dtype (the output keeps it).
        scale: the upscaling factor.
        fmt: the output format (``"PNG"``, ``"TIFF"``, ...; see :func:`image_format`).
        tile: the tile side of :func:`upscale`.
        overlap: the context around each tile, as in :func:`upscale`.
        features: the model's widest activation, in channels.
        streamed: whether the output is written row of tiles by row of tiles (default: PNG).

    Returns:
        The estimated peak, in bytes.

    >>> memory_needed(12000, 12000, 1, np.uint8, 4, "PNG") < 2 * 1024**3
    True
    >>> memory_needed(12000, 12000, 1, np.uint8, 4, "TIFF") > 2 * 48000**2
    True
    """
    item = np.dtype(dtype).itemsize
    pixels = height * width
    size = tile if tile else max(height, width)
    band_rows = min(size, height) * scale
    band_px = band_rows * width * scale
    th, tw = min(size, height) + 2 * overlap, min(size, width) + 2 * overlap
    model = th * tw * 4 * (4 * features + 3 * 3 * scale * scale)
    alpha = (band_rows + 6 * scale) * width * scale * 4 * 2 if channels in (2, 4) else 0
    out_item = 2 if item == 2 else 1  # what is written: uint16, else 8 bits
    band = band_px * channels * (4 + item) + alpha
    if streamed is None:
        streamed = fmt == "PNG"
    if streamed:
        write = band_px * channels * out_item * 3
        return pixels * channels * item + model + band + write
    out = pixels * scale * scale * channels
    whole = out * item
    save = out * 4 + out * out_item  # the encoder's copy (4 bytes a pixel) and a contiguous one
    work = max(model + band, save)
    return max(2 * pixels * channels * item, pixels * channels * item + whole + work)


def tile_slowdown(
    height: int, width: int, tile: int, overlap: int = 16, default: int = DEFAULT_TILE
) -> float:
    """How many times the model's work with ``tile`` is that with the ``default`` tile.

    Each tile is run with ``overlap`` pixels of context on each side, so small tiles repeat
    much of the work (plus a fixed cost per tile, counted as 32 x 32 pixels).

    Args:
        height: the input's height.
        width: the input's width.
        tile: the tile side asked for.
        overlap: the context around each tile.
        default: the tile it is compared with.

    Returns:
        The ratio of the work (1.0: the same).

    >>> round(tile_slowdown(1000, 1000, 8), 1)
    33.3
    >>> tile_slowdown(1000, 1000, 256)
    1.0
    """

    def work(size: int) -> float:
        size = size if size else max(height, width)

        def span(n: int) -> int:
            return sum(min(b + overlap, n) - max(a - overlap, 0) for a, b in tile_ranges(n, size))

        tiles = len(tile_ranges(height, size)) * len(tile_ranges(width, size))
        return float(span(height) * span(width) + tiles * 32 * 32)

    return work(tile) / work(default)


def features(model: nn.Module) -> int:
    """The widest layer's channels (for the memory estimate); :class:`TwoPathX4`'s second x2
    run works on an image of 4 times the area, counted as 4 times its channels, beside the
    x4 path's."""
    two = next((m for m in model.modules() if isinstance(m, TwoPathX4)), None)
    if two is not None:
        return features(two.x4) + 4 * features(two.x2)  # the x4 path's output is held
    weights = [getattr(m, "weight", None) for m in model.modules()]
    widths = [int(w.shape[0]) for w in weights if isinstance(w, Tensor) and w.dim() >= 2]
    return max(widths, default=64)
