"""Training photographs from folders, and the free photographs Debian ships (``make sr-data``).

Any folder of photographs can train ``tconv train sr`` (``--photos-dir DIR``, repeatable):
:func:`find_photos` lists its JPEG/PNG/WebP/TIFF files recursively (sorted, so every run sees
them in one order) and leaves out the project's held-out photographs without reading them;
:func:`split` puts each photo into training or validation by a fixed rule on its file name
(never by patch); :func:`load_photos` reads them, skipping a bad or tiny file with one line.

The shipped super-resolution models train on photographs from two Debian packages,
``mate-backgrounds`` and ``plasma-workspace-wallpapers``. :data:`SR_DATA` lists the ones kept
(each looked at: photographs only, no drawings, renders or logos) and which of them are held
out; :func:`fetch` downloads the packages with ``apt-get download`` and unpacks them with
``dpkg-deb -x`` (no root needed) into a cache folder, then copies the kept photographs into
``train/`` and ``held_out/`` beside them. Run it as ``make sr-data`` or
``python -m tconv.train.photos``.

Example:
    >>> split(["a.jpg", "b.jpg", "c.jpg"])  # fewer than MIN_FOR_VALIDATION: all train
    (['a.jpg', 'b.jpg', 'c.jpg'], [])
    >>> is_held_out("photos/mate-LadyBird.jpg"), is_held_out("mate-Garden.jpg")
    (True, False)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "HELD_OUT_FILES",
    "MIN_FOR_VALIDATION",
    "PHOTO_SUFFIXES",
    "SR_DATA",
    "SRPhoto",
    "default_dir",
    "fetch",
    "find_photos",
    "is_held_out",
    "load_photos",
    "split",
]

#: File endings read as photographs (case-insensitive).
PHOTO_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")
#: A folder with fewer usable photos than this trains on all of them (no validation).
MIN_FOR_VALIDATION = 4
#: One photo in VALIDATION_EVERY (by a checksum of its file name) is a validation photo.
VALIDATION_EVERY = 8


class SRPhoto(NamedTuple):
    """One kept photograph of :data:`SR_DATA`."""

    package: str  #: the Debian package that ships it
    path: str  #: its path inside the package
    name: str  #: its file name in the cache folder's ``train/`` or ``held_out/``
    held_out: bool  #: measured on, never trained on
    subject: str  #: what it shows


_MATE = "usr/share/backgrounds/mate/nature/"
_PLASMA = "usr/share/wallpapers/{}/contents/images/2560x1600.jpg"

#: The photographs kept from the two packages (looked at one by one: the packages also ship
#: drawings, renders and logo wallpapers, left out). Four are held out beside scikit-image's
#: chelsea, coffee and camera.
SR_DATA: tuple[SRPhoto, ...] = (
    SRPhoto("mate-backgrounds", _MATE + "Aqua.jpg", "mate-Aqua.jpg", False, "a water drop"),
    SRPhoto("mate-backgrounds", _MATE + "Blinds.jpg", "mate-Blinds.jpg", False, "a leaf"),
    SRPhoto("mate-backgrounds", _MATE + "Dune.jpg", "mate-Dune.jpg", False, "dune grass"),
    SRPhoto(
        "mate-backgrounds", _MATE + "FreshFlower.jpg", "mate-FreshFlower.jpg", False, "a flower"
    ),
    SRPhoto("mate-backgrounds", _MATE + "Garden.jpg", "mate-Garden.jpg", False, "a marigold"),
    SRPhoto("mate-backgrounds", _MATE + "GreenMeadow.jpg", "mate-GreenMeadow.jpg", False, "grass"),
    SRPhoto("mate-backgrounds", _MATE + "LadyBird.jpg", "mate-LadyBird.jpg", True, "a ladybird"),
    SRPhoto("mate-backgrounds", _MATE + "RainDrops.jpg", "mate-RainDrops.jpg", True, "wet leaves"),
    SRPhoto("mate-backgrounds", _MATE + "Storm.jpg", "mate-Storm.jpg", False, "a storm"),
    SRPhoto("mate-backgrounds", _MATE + "TwoWings.jpg", "mate-TwoWings.jpg", False, "seed tufts"),
    SRPhoto("mate-backgrounds", _MATE + "Wood.jpg", "mate-Wood.jpg", False, "wood grain"),
    SRPhoto(
        "mate-backgrounds", _MATE + "YellowFlower.jpg", "mate-YellowFlower.jpg", False, "a flower"
    ),
    *(
        SRPhoto(
            "plasma-workspace-wallpapers",
            _PLASMA.format(n),
            f"plasma-{n}.jpg",
            n in ("EveningGlow", "Path"),
            subject,
        )
        for n, subject in (
            ("BytheWater", "a jetty"),
            ("ColdRipple", "a pier in fog"),
            ("ColorfulCups", "cups"),
            ("DarkestHour", "a lake at dusk"),
            ("EveningGlow", "rowing boats"),
            ("FallenLeaf", "autumn leaves"),
            ("Grey", "a building's facade"),
            ("OneStandsOut", "moss"),
            ("Path", "a forest path"),
            ("summer_1am", "a lake at night"),
        )
    ),
)

#: Path endings of the held-out photographs (in the cache folder and inside the packages):
#: a file ending so is never read for training.
HELD_OUT_FILES: tuple[str, ...] = tuple(
    end for p in SR_DATA if p.held_out for end in (p.name, p.path.removeprefix("usr/share/"))
)


def is_held_out(path: str | os.PathLike[str]) -> bool:
    """True for a file that is one of the held-out photographs (by its path, not read)."""
    text = Path(path).as_posix()
    return any(text == end or text.endswith("/" + end) for end in HELD_OUT_FILES)


def find_photos(folders: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    """The photo files under ``folders`` (recursive, sorted) and the held-out ones left out.

    Args:
        folders: folders to search; files with one of :data:`PHOTO_SUFFIXES` are photos.

    Returns:
        ``(photos, held_out)``: the files to use, and those skipped (never opened) because
        they are held-out photographs (:func:`is_held_out`).

    Raises:
        FileNotFoundError: a folder that does not exist.
        NotADirectoryError: a path that is not a folder.
    """
    photos: list[Path] = []
    held: list[Path] = []
    for folder in folders:
        root = Path(folder)
        if not root.exists():
            raise FileNotFoundError(f"--photos-dir {str(root)!r} does not exist")
        if not root.is_dir():
            raise NotADirectoryError(f"--photos-dir {str(root)!r} is not a folder")
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file():
                (held if is_held_out(p) else photos).append(p)
    return photos, held


def split(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Training and validation photos, by a fixed rule on each file name.

    A photo is for validation when the SHA-256 of its file name (the last path part) is a
    multiple of :data:`VALIDATION_EVERY`; with fewer than :data:`MIN_FOR_VALIDATION` photos,
    or when the rule would leave no training photo, all train. The rule depends on nothing
    else, so a photo stays on its side when photos are added or removed.

    Example:
        >>> names = [f"p{i}.jpg" for i in range(12)]
        >>> split(names)[1]
        ['p7.jpg', 'p8.jpg', 'p10.jpg']
    """
    names = list(names)
    if len(names) < MIN_FOR_VALIDATION:
        return names, []
    val = [n for n in names if _digest(Path(n).name) % VALIDATION_EVERY == 0]
    train = [n for n in names if n not in val]
    return (train, val) if train else (names, [])


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def _to_tensor(arr: np.ndarray) -> Tensor:
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0 if arr.dtype == np.uint8 else 1.0
    x = torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32) / scale)
    if x.dim() == 2:
        x = x[..., None]
    x = x[..., :1].expand(-1, -1, 3) if x.shape[-1] <= 2 else x[..., :3]
    return x.permute(2, 0, 1).contiguous().clamp(0, 1)


def load_photos(
    files: Sequence[Path],
    min_side: int,
    *,
    say: Callable[[str], None] | None = None,
) -> tuple[list[tuple[str, Tensor]], int]:
    """Read photo files as float32 ``(3, H, W)`` in ``[0, 1]``, skipping bad or tiny ones.

    Grey photos are repeated to three channels and an alpha channel is dropped; 16-bit files
    keep their depth until the conversion to float.

    Args:
        files: the files (from :func:`find_photos`).
        min_side: a photo whose shorter side is below this is tiny, and skipped.
        say: where each skipped file's one line goes (default: stderr).

    Returns:
        ``(photos, skipped)``: ``(file name, image)`` pairs, and how many files were skipped.
    """
    from ..upscaling.io import read_image

    say = say or (lambda line: print(line, file=sys.stderr))
    out: list[tuple[str, Tensor]] = []
    skipped = 0
    for f in files:
        try:
            arr = read_image(f)
        except (OSError, ValueError) as err:
            say(f"skipped {str(f)!r}: cannot be read ({err})")
            skipped += 1
            continue
        if min(arr.shape[:2]) < min_side:
            say(
                f"skipped {str(f)!r}: {arr.shape[1]}x{arr.shape[0]} is tiny (each side must be "
                f">= {min_side} pixels for one training patch)"
            )
            skipped += 1
            continue
        out.append((f.name, _to_tensor(arr)))
    return out, skipped


def default_dir() -> Path:
    """The cache folder of ``make sr-data``: ``$XDG_CACHE_HOME/tconv/sr-data`` (or
    ``~/.cache/tconv/sr-data``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tconv" / "sr-data"


def fetch(dest: str | os.PathLike[str] | None = None) -> Path:
    """Download and unpack the two packages, and copy the kept photographs (:data:`SR_DATA`).

    Uses ``apt-get download`` (no root) and ``dpkg-deb -x``; a package already downloaded
    is not fetched again. Writes ``DEST/debs/``, ``DEST/root/`` (the unpacked files),
    ``DEST/train/`` and ``DEST/held_out/`` (the kept photographs).

    Args:
        dest: the cache folder (default :func:`default_dir`).

    Returns:
        The folder of the training photographs, ``DEST/train``.

    Raises:
        OSError: ``apt-get`` or ``dpkg-deb`` missing or failing, or a listed photo absent
            from the unpacked package.
    """
    root = Path(dest) if dest is not None else default_dir()
    debs, unpacked = root / "debs", root / "root"
    debs.mkdir(parents=True, exist_ok=True)
    for package in sorted({p.package for p in SR_DATA}):
        have = sorted(debs.glob(f"{package}_*.deb"))
        if not have:
            with tempfile.TemporaryDirectory(dir=debs) as tmp:
                _run(["apt-get", "download", package], cwd=tmp)
                for deb in Path(tmp).glob("*.deb"):
                    deb.replace(debs / deb.name)
            have = sorted(debs.glob(f"{package}_*.deb"))
        if not have:
            raise OSError(f"apt-get download {package} wrote no .deb file into {str(debs)!r}")
        _run(["dpkg-deb", "-x", str(have[-1]), str(unpacked)])
    for part in ("train", "held_out"):
        (root / part).mkdir(exist_ok=True)
    for p in SR_DATA:
        src = unpacked / p.path
        if not src.is_file():
            raise OSError(
                f"{p.path!r} is not in package {p.package} (unpacked in {str(unpacked)!r})"
            )
        shutil.copyfile(src, root / ("held_out" if p.held_out else "train") / p.name)
    return root / "train"


def _run(cmd: list[str], cwd: str | None = None) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise OSError(
            f"{cmd[0]} is not installed: sr-data needs Debian's apt-get and dpkg-deb"
        ) from None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise OSError(f"{' '.join(cmd)} failed (exit {done.returncode}): {last}")


def main(argv: list[str] | None = None) -> int:
    """``python -m tconv.train.photos [--dest DIR]``: :func:`fetch`, then list what was kept."""
    parser = argparse.ArgumentParser(
        prog="python -m tconv.train.photos",
        description="Fetch the free photographs of Debian's mate-backgrounds and "
        "plasma-workspace-wallpapers into a cache folder, for tconv train sr --photos-dir.",
    )
    parser.add_argument("--dest", default=None, help=f"cache folder (default: {default_dir()})")
    args = parser.parse_args(argv)
    try:
        train_dir = fetch(args.dest)
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for p in SR_DATA:
        role = "held out" if p.held_out else "train"
        print(f"kept {p.name:28} {role:8} {p.subject} ({p.package})")
    n_held = sum(p.held_out for p in SR_DATA)
    print(
        f"{len(SR_DATA) - n_held} training photographs in {train_dir}, {n_held} held out in "
        f"{train_dir.parent / 'held_out'}; train with: tconv train sr --photos-dir {train_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
