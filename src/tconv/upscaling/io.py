"""Image files for :mod:`tconv.upscaling`: read and write with Pillow, 8/16-bit, alpha.

- :func:`read_image` / :func:`write_image` -- Pillow I/O (PNG, JPEG, TIFF, WebP; 16-bit colour
  PNG/TIFF through pypng/tifffile, since Pillow reduces it to 8 bits); writing goes to a
  temporary file in the target folder and is renamed into place (:func:`write_atomically`),
  so a failure leaves no partial file. 16-bit pixels are never silently reduced:
  :func:`check_depth` refuses them for JPEG/WebP unless asked.
- :func:`image_info` -- the size, channels and dtype from the header, decoding nothing.
- :func:`write_png_bands` -- a PNG written row of tiles by row of tiles (the output is never
  held whole).
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._files import write_atomic

__all__ = [
    "DEEP_FORMATS",
    "IMAGE_SUFFIXES",
    "check_depth",
    "from_float",
    "image_format",
    "image_info",
    "read_image",
    "to_float",
    "write_atomically",
    "write_image",
    "write_png_bands",
]

#: File suffixes read and written (via Pillow).
IMAGE_SUFFIXES: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the 'image' and 'train' extras
        raise ImportError(
            "reading and writing images needs Pillow: pip install 'tconv[image]'"
        ) from None
    return Image


def to_float(arr: np.ndarray) -> tuple[np.ndarray, float]:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0, 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0, 65535.0
    if arr.dtype == bool:
        return arr.astype(np.float32), 0.0
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float32), 1.0
    raise TypeError(
        f"image dtype {arr.dtype} is not supported: use uint8, uint16 or float in [0, 1]"
    )


def from_float(data: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """float32 in [0, 1] back to ``dtype`` (integers rounded and clipped; floats stay float32).

    ``data`` may be overwritten.
    """
    if np.dtype(dtype) == np.bool_:
        return data >= 0.5
    for kind, top in ((np.uint8, 255.0), (np.uint16, 65535.0)):
        if dtype == kind:  # in place: a band is large
            np.multiply(data, top, out=data)
            np.rint(data, out=data)
            np.clip(data, 0, top, out=data)
            return data.astype(kind)
    return data


def read_image(path: str | os.PathLike[str], *, limit_pixels: bool = True) -> np.ndarray:
    """Read an image file with Pillow into ``(H, W)`` or ``(H, W, C)`` uint8/uint16.

    Palette and other modes are converted to RGB/RGBA (L/LA for grey ones). 16-bit images
    stay uint16: greyscale through Pillow, 16-bit colour (RGB, RGBA, grey + alpha) PNG through
    pypng and TIFF through tifffile, because Pillow would reduce them to 8 bits.

    Args:
        path: a PNG, JPEG, TIFF, WebP (or any other Pillow-readable) file.
        limit_pixels: keep Pillow's guard against decompression bombs (an image of more
            than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels warns, twice that is refused); False
            for a caller that checked the memory the size needs (as :func:`upscale_file`).

    Returns:
        The pixels: ``(H, W)`` grey, ``(H, W, 2)`` grey + alpha, ``(H, W, 3)`` RGB or
        ``(H, W, 4)`` RGBA.

    Raises:
        OSError: missing or unreadable file.
        ValueError: not an image Pillow can decode (corrupt or unsupported).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     write_image(np.zeros((3, 4, 3), np.uint8), Path(folder) / "a.png")
        ...     read_image(Path(folder) / "a.png").shape
        (3, 4, 3)
    """
    Image = _pil()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"image {str(p)!r} is a folder")
    deep = _read_16bit_colour(p)
    if deep is not None:
        return deep
    try:
        with _pixel_limit(Image, limit_pixels), Image.open(p) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                return np.asarray(im).astype(np.uint16)
            if mode == "I":
                return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
            if mode == "F":
                return np.clip(np.asarray(im), 0, 1).astype(np.float32)
            if mode in ("1", "L"):
                return np.asarray(im.convert("L"))
            if mode in ("LA", "La"):
                return np.asarray(im.convert("LA"))
            if mode in ("RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
                return np.asarray(im.convert("RGBA"))
            return np.asarray(im.convert("RGB"))
    except (Image.UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise ValueError(f"image {str(p)!r} cannot be read: {err}") from None
    except (SyntaxError, ValueError, OSError) as err:  # truncated/corrupt data
        if isinstance(err, (FileNotFoundError, PermissionError)):
            raise
        raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None


@contextlib.contextmanager
def _pixel_limit(Image: Any, keep: bool) -> Iterator[None]:
    """Pillow's decompression-bomb limit as it is (``keep``), or lifted for the block."""
    saved = Image.MAX_IMAGE_PIXELS
    if not keep:
        Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


# 16-bit colour: Pillow has no 16-bit RGB/RGBA mode (it reduces such files to 8 bits), so PNG
# goes through pypng and TIFF through tifffile (the 'image' extra). Which files need them is
# decided from the file's own header, not from Pillow's mode.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: formats that hold 16-bit colour (and 16-bit grey) when written by :func:`write_image`
DEEP_FORMATS: tuple[str, ...] = ("PNG", "TIFF")


def _png_ihdr(p: Path) -> tuple[int, int] | None:
    """``(bit depth, colour type)`` from a PNG's IHDR chunk, or None if not a PNG."""
    with open(p, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _read_16bit_colour(p: Path) -> np.ndarray | None:
    """A 16-bit colour PNG or TIFF at full depth, or None for everything else (Pillow's)."""
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic == _PNG_SIGNATURE:
        ihdr = _png_ihdr(p)
        # colour types: 2 RGB, 4 grey + alpha, 6 RGBA (0 = grey and 3 = palette: Pillow's)
        if ihdr is None or ihdr[0] != 16 or ihdr[1] not in (2, 4, 6):
            return None
        try:
            import png
        except ImportError:  # pragma: no cover - pypng is in the 'image' and 'train' extras
            raise ImportError(
                "reading 16-bit colour PNG needs pypng: pip install 'tconv[image]'"
            ) from None
        try:
            with open(p, "rb") as f:  # pypng's own filename= leaves the file open
                width, height, rows, info = png.Reader(file=f).asDirect()
                planes = int(info["planes"])
                arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows])
        except (png.Error, ValueError, EOFError, zlib.error) as err:
            raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None
        return arr.reshape(height, width, planes)
    if magic[:4] in _TIFF_SIGNATURES:
        tifffile = _tifffile()
        try:
            with tifffile.TiffFile(p) as tif:
                page = tif.pages[0]
                if page.dtype != np.uint16 or page.samplesperpixel not in (2, 3, 4):
                    return None
                arr = page.asarray()
                if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
                    arr = np.moveaxis(arr, 0, -1)
        except (
            tifffile.TiffFileError,
            ValueError,
            OSError,
            KeyError,
            IndexError,
            zlib.error,
        ) as err:
            if isinstance(err, (FileNotFoundError, PermissionError)):
                raise
            raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None
        if arr.ndim != 3 or arr.shape[2] not in (2, 3, 4):
            raise ValueError(
                f"image {str(p)!r} has an unsupported 16-bit layout {arr.shape}: expected "
                "(H, W, C) with C in 2, 3 or 4"
            )
        return np.ascontiguousarray(arr, dtype=np.uint16)
    return None


def check_depth(
    dtype: np.dtype[Any] | type, path: str | os.PathLike[str], *, to_8bit: bool = False
) -> None:
    """Refuse to write 16-bit pixels to a format that holds only 8 bits (unless ``to_8bit``).

    Args:
        dtype: the dtype of the pixels to be written.
        path: the output file; its suffix picks the format.
        to_8bit: allow reducing uint16 to 8 bits (the high byte) for JPEG/WebP.

    Raises:
        ValueError: uint16 pixels for a JPEG or WebP file without ``to_8bit``, or an
            unsupported suffix.

    >>> check_depth(np.uint16, "big.png")
    >>> check_depth(np.uint16, "big.jpg")
    Traceback (most recent call last):
    ...
    ValueError: 'big.jpg': JPEG holds only 8 bits per channel, the image has 16: write PNG ...
    """
    fmt = image_format(path)
    if np.dtype(dtype) == np.uint16 and fmt not in DEEP_FORMATS and not to_8bit:
        raise ValueError(
            f"{str(path)!r}: {fmt} holds only 8 bits per channel, the image has 16: write PNG "
            "or TIFF (16-bit), or pass --to-8-bit (to_8bit=True) to reduce it to 8 bits"
        )


def _save_16bit_colour(arr: np.ndarray, fmt: str, f: Any) -> None:
    """Write uint16 ``(H, W, C)`` (C in 2, 3, 4) to the open file ``f`` as 16-bit PNG/TIFF."""
    h, w, c = arr.shape
    if fmt == "PNG":
        import png

        writer = png.Writer(width=w, height=h, greyscale=c == 2, alpha=c in (2, 4), bitdepth=16)
        writer.write(f, arr.reshape(h, w * c))
    else:
        import io

        import tifffile

        buffer = io.BytesIO()  # tifffile wants a named file or a BytesIO, not an fd's file
        tifffile.imwrite(
            buffer,
            arr,
            photometric="minisblack" if c == 2 else "rgb",
            planarconfig="contig",
            extrasamples=("unassalpha",) if c in (2, 4) else None,
            compression="zlib",
        )
        f.write(buffer.getvalue())


def image_format(path: str | os.PathLike[str]) -> str:
    """Pillow's format name for ``path``'s suffix.

    Args:
        path: an image file name; only its suffix counts (any case, see
            :data:`IMAGE_SUFFIXES`), the file need not exist.

    Returns:
        The format name Pillow saves with: ``"PNG"``, ``"JPEG"``, ``"TIFF"`` or ``"WEBP"``.

    Raises:
        ValueError: an unsupported suffix.

    Example:
        >>> image_format("a/b.JPG")
        'JPEG'
        >>> image_format("notes.txt")
        Traceback (most recent call last):
        ...
        ValueError: 'notes.txt': unsupported image type '.txt': supported are ...
    """
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(
            f"{str(path)!r}: unsupported image type {suffix or '(no suffix)'!r}: supported "
            f"are {', '.join(sorted(IMAGE_SUFFIXES))}"
        )
    return IMAGE_SUFFIXES[suffix]


def write_image(array: np.ndarray, path: str | os.PathLike[str], *, to_8bit: bool = False) -> None:
    """Write ``array`` to ``path`` (format from the suffix) via a temporary file + rename.

    uint16 is written at 16 bits: greyscale through Pillow, colour (grey + alpha, RGB, RGBA)
    PNG through pypng and TIFF through tifffile. JPEG and WebP hold only 8 bits, so uint16 is
    refused for them unless ``to_8bit`` (then the high byte is kept). Formats without alpha
    (JPEG) drop it.

    Args:
        array: ``(H, W)`` or ``(H, W, C)`` with C in 1 to 4; uint8, uint16, bool or float in
            [0, 1].
        path: the file to write; its suffix picks the format.
        to_8bit: allow reducing uint16 to 8 bits for JPEG/WebP (see :func:`check_depth`).

    Raises:
        ValueError: an unsupported suffix, or uint16 for JPEG/WebP without ``to_8bit``.
        OSError: the folder is missing or not writable.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     write_image(np.full((2, 2), 65535, np.uint16), Path(folder) / "g.png")
        ...     int(read_image(Path(folder) / "g.png").max())
        65535
    """
    Image = _pil()
    p = Path(path)
    fmt = image_format(p)
    check_depth(array.dtype, p, to_8bit=to_8bit)
    arr = array
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.clip(np.rint(arr * 255), 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype == np.uint16 and fmt not in DEEP_FORMATS:  # to_8bit was asked for
        arr = (arr >> 8).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] in (2, 4) and fmt == "JPEG":
        arr = arr[..., :-1] if arr.shape[2] == 4 else arr[..., 0]
    deep = arr.dtype == np.uint16 and arr.ndim == 3
    im = None if deep else Image.fromarray(np.ascontiguousarray(arr))

    def save(f: Any) -> None:
        if im is None:
            _save_16bit_colour(np.ascontiguousarray(arr), fmt, f)
        else:
            im.save(f, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))

    write_atomically(p, save)


def write_atomically(p: Path, save: Any) -> None:
    """``save(binary file)`` into a temporary file beside ``p``, renamed to ``p`` when done."""
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"output folder {str(folder)!r} is not writable")
    write_atomic(folder / p.name, save, suffix=p.suffix)  # the one atomic writer


def image_info(path: str | os.PathLike[str]) -> tuple[int, int, int, np.dtype[Any]]:
    """``(height, width, channels, dtype)`` of an image file from its header, decoding nothing.

    The values :func:`read_image` will return (``channels`` 1 for grey), so the memory a run
    needs is known before the work.

    Args:
        path: the image file.

    Returns:
        ``(height, width, channels, dtype)``.

    Raises:
        OSError: missing or unreadable file.
        ValueError: not an image Pillow can decode.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_image(np.zeros((3, 4, 4), np.uint8), Path(folder) / "a.png")
    ...     image_info(Path(folder) / "a.png")
    (3, 4, 4, dtype('uint8'))
    """
    Image = _pil()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"image {str(p)!r} is a folder")
    with open(p, "rb") as f:
        head = f.read(26)
    ihdr = _png_ihdr(p)
    if ihdr is not None and ihdr[0] == 16 and ihdr[1] in (2, 4, 6):
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        return height, width, {2: 3, 4: 2, 6: 4}[ihdr[1]], np.dtype(np.uint16)
    if head[:4] in _TIFF_SIGNATURES:
        deep = _tiff_16bit_colour_info(p)
        if deep is not None:
            return deep
    try:
        with _pixel_limit(Image, False), Image.open(p) as im:
            mode, (width, height) = im.mode, im.size
            alpha_palette = mode == "P" and "transparency" in im.info
    except Image.UnidentifiedImageError as err:
        raise ValueError(f"image {str(p)!r} cannot be read: {err}") from None
    except (SyntaxError, ValueError, OSError) as err:
        if isinstance(err, (FileNotFoundError, PermissionError)):
            raise
        raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return height, width, 1, np.dtype(np.uint16)
    if mode == "F":
        return height, width, 1, np.dtype(np.float32)
    channels = {"1": 1, "L": 1, "LA": 2, "La": 2, "RGBA": 4, "RGBa": 4}.get(mode, 3)
    return height, width, 4 if alpha_palette else channels, np.dtype(np.uint8)


def _tifffile() -> Any:
    """The tifffile module, or an ImportError naming the extra that brings it."""
    try:
        import tifffile
    except ImportError:  # pragma: no cover - tifffile is in the 'image' and 'train' extras
        raise ImportError(
            "reading 16-bit colour TIFF needs tifffile: pip install 'tconv[image]'"
        ) from None
    return tifffile


def _tiff_16bit_colour_info(p: Path) -> tuple[int, int, int, np.dtype[Any]] | None:
    tifffile = _tifffile()
    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages[0]
            if page.dtype != np.uint16 or page.samplesperpixel not in (2, 3, 4):
                return None
            return (
                int(page.imagelength),
                int(page.imagewidth),
                int(page.samplesperpixel),
                (np.dtype(np.uint16)),
            )
    except (tifffile.TiffFileError, ValueError, KeyError, IndexError) as err:
        raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None


def write_png_bands(
    shape: tuple[int, ...], scale: int, bands: Iterator[tuple[int, np.ndarray]], f: Any
) -> None:
    """Write the bands of an ``(H, W, C)`` image upscaled ``scale`` times as a PNG to ``f``.

    8 bits for uint8/bool/float (floats rounded), 16 bits for uint16; each row with PNG's
    "Up" filter, compressed as it comes (zlib level 6, like Pillow's default).
    """
    import struct

    h, w, c = shape[0] * scale, shape[1] * scale, shape[2]

    def chunk(kind: bytes, data: bytes | memoryview) -> None:
        f.write(struct.pack(">I", len(data)) + kind)
        f.write(data)
        f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF))

    first = True
    prev: np.ndarray | None = None
    z = zlib.compressobj(6)
    rows = 0
    for _, band in bands:
        if band.dtype == bool:
            band = band.astype(np.uint8) * 255
        elif np.issubdtype(band.dtype, np.floating):
            band = from_float(band, np.dtype(np.uint8))
        depth = 16 if band.dtype == np.uint16 else 8
        if first:
            f.write(_PNG_SIGNATURE)
            colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
            first = False
        raw = np.ascontiguousarray(band, dtype=">u2" if depth == 16 else np.uint8)
        raw = raw.reshape(band.shape[0], -1).view(np.uint8)
        up = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
        up[:, 0] = 2  # filter type "Up": each byte minus the one above (mod 256)
        np.subtract(raw[0], 0 if prev is None else prev, out=up[0, 1:])
        np.subtract(raw[1:], raw[:-1], out=up[1:, 1:])
        prev = raw[-1].copy()
        rows += raw.shape[0]
        data = z.compress(up.tobytes())
        if data:
            chunk(b"IDAT", data)
    assert rows == h, (rows, h)
    chunk(b"IDAT", z.flush())
    chunk(b"IEND", b"")
