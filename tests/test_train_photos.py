"""Training photos from folders (``tconv train sr --photos-dir``) and ``make sr-data``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PIL  # the train extra, installed by make test

from tconv.cli import main
from tconv.train import photos
from tconv.train.photos import SR_DATA, find_photos, is_held_out, load_photos, split

TINY = [
    "--width",
    "4",
    "--depth",
    "1",
    "--patch",
    "8",
    "--batch-size",
    "2",
    "--patches-per-epoch",
    "4",
    "--epochs",
    "1",
    "--eval-size",
    "32",
    "--no-progress",
]


def _png(path: Path, h: int = 40, w: int = 44, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_sr_data_list_is_consistent():
    names = [p.name for p in SR_DATA]
    assert len(set(names)) == len(names)
    held = [p for p in SR_DATA if p.held_out]
    assert 3 <= len(held) <= 6 and len(SR_DATA) - len(held) >= 12
    assert {p.package for p in SR_DATA} == {"mate-backgrounds", "plasma-workspace-wallpapers"}
    for p in SR_DATA:  # a held-out photo is recognised by its cache name and package path
        assert is_held_out(f"x/{p.name}") is p.held_out
        assert is_held_out("/unpacked/" + p.path) is p.held_out


def test_find_photos_recursive_by_suffix_and_never_opens_held_out(tmp_path):
    a = _png(tmp_path / "a" / "deep" / "one.PNG")
    b = tmp_path / "b.JPEG"
    PIL.fromarray(np.zeros((40, 40, 3), np.uint8)).save(b, format="JPEG")
    (tmp_path / "notes.txt").write_text("not a photo")
    held = tmp_path / "mate-LadyBird.jpg"
    held.write_bytes(b"would fail to decode if it were read")
    found, skipped = find_photos([tmp_path])
    assert found == [a, b] and skipped == [held]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_photos([tmp_path / "nope"])
    with pytest.raises(NotADirectoryError, match="not a folder"):
        find_photos([a])


def test_split_by_file_name_fixed_and_stable():
    names = [f"dir/photo{i:02d}.jpg" for i in range(40)]
    train, val = split(names)
    assert sorted(train + val) == sorted(names) and not set(train) & set(val)
    assert 1 <= len(val) <= len(names) // 3
    # the rule reads each name alone: every photo keeps its side in any subset or order
    for subset in (names[::2], names[::-1], names[5:30]):
        assert split(subset)[1] == [n for n in subset if n in val]
    # a folder name does not move a photo; fewer than MIN_FOR_VALIDATION: all train
    assert split(["x/" + Path(n).name for n in names])[1] == ["x/" + Path(n).name for n in val]
    assert split(names[: photos.MIN_FOR_VALIDATION - 1]) == (names[:3], [])
    # the rule is a hash of the name (an independent recomputation)
    digest = [hashlib.sha256(Path(n).name.encode()).digest()[:8] for n in names]
    assert val == [n for n, d in zip(names, digest) if int.from_bytes(d, "big") % 8 == 0]


def test_load_photos_skips_bad_and_tiny_with_one_line_each(tmp_path):
    good = _png(tmp_path / "good.png")
    grey16 = tmp_path / "grey16.png"
    PIL.fromarray(np.full((40, 40), 65535 // 3, np.uint16)).save(grey16)
    tiny = _png(tmp_path / "tiny.png", 10, 30)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    lines: list[str] = []
    out, skipped = load_photos([good, grey16, tiny, bad], 16, say=lines.append)
    assert [n for n, _ in out] == ["good.png", "grey16.png"] and skipped == 2
    assert len(lines) == 2 and "tiny" in lines[0] and "30x10" in lines[0]
    assert "bad.jpg" in lines[1] and "cannot be read" in lines[1]
    x = out[1][1]
    assert x.shape == (3, 40, 40) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.full_like(x, (65535 // 3) / 65535))  # 16 bits kept
    rgb = np.asarray(PIL.open(good), np.float32) / 255
    torch.testing.assert_close(out[0][1], torch.from_numpy(rgb).permute(2, 0, 1))


def test_train_sr_photos_dir(tmp_path, capsys):
    data = tmp_path / "data"
    for i in range(6):
        _png(data / ("sub" if i % 2 else "") / f"p{i}.png", 40, 44, seed=i)
    _png(data / "tiny.png", 8, 8)
    (data / "broken.webp").write_bytes(b"RIFF....WEBP")
    _png(data / "plasma-Path.jpg")  # held out: never read, never trained on
    more = tmp_path / "more"
    _png(more / "q0.tif", 48, 40, seed=9)
    out = tmp_path / "run"
    args = ["train", "sr", *TINY, "--photos", "none", "--photos-dir", str(data)]
    assert main([*args, "--photos-dir", str(more), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "tiny.png" in err and "broken.webp" in err and "2 file(s) skipped" in err
    ckpt = torch.load(out / "model.pt", weights_only=True)
    prov = ckpt["provenance"]["data"]
    used = prov["train"] + prov["validation"]
    assert sorted(used) == sorted([f"p{i}.png" for i in range(6)] + ["q0.tif"])
    assert prov["train"] and "plasma-Path.jpg" not in used
    assert ckpt["config"]["photos_dir"] == [str(data), str(more)]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "psnr_y" in json.dumps(metrics)


def test_train_sr_photos_dir_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    for folder, rule in (
        (empty, "has no usable photo"),
        (tmp_path / "missing", "does not exist"),
    ):
        out = tmp_path / "run"
        code = main(["train", "sr", *TINY, "--photos-dir", str(folder), "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and rule in err and len(err.splitlines()) == 1, err
        assert not out.exists()
    assert main(["train", "sr", *TINY, "--photos", "none", "--out", str(tmp_path / "r")]) == 2
    assert "without --photos-dir" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")
def test_fetch_unpacks_and_keeps_the_listed_photos(tmp_path, monkeypatch, capsys):
    # two local packages holding every listed path, and an apt-get that hands them out:
    # fetch runs as it does for real, without the network
    debs = tmp_path / "built"
    for package in {p.package for p in SR_DATA}:
        root = tmp_path / "pkg" / package
        (root / "DEBIAN").mkdir(parents=True)
        (root / "DEBIAN" / "control").write_text(
            f"Package: {package}\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\n"
            "Description: test\n"
        )
        for p in SR_DATA:
            if p.package == package:
                (root / p.path).parent.mkdir(parents=True, exist_ok=True)
                (root / p.path).write_bytes(p.name.encode())
        debs.mkdir(exist_ok=True)
        subprocess.run(
            ["dpkg-deb", "-b", "--root-owner-group", str(root), str(debs / f"{package}_1_all.deb")],
            check=True,
            capture_output=True,
        )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\ncp "{debs}/$2"_1_all.deb .\n')
    (bin_dir / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    dest = tmp_path / "cache"
    assert photos.main(["--dest", str(dest)]) == 0
    printed = capsys.readouterr().out
    for p in SR_DATA:
        where = dest / ("held_out" if p.held_out else "train") / p.name
        assert where.read_bytes() == p.name.encode() and p.name in printed
    found, held = find_photos([dest])  # the cache folder: held-out ones found, left out
    assert len(held) == 2 * sum(p.held_out for p in SR_DATA)  # held_out/ and root/
    assert not any(is_held_out(f) for f in found)
