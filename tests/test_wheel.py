"""What ships works on its own: build the sdist and the wheel like a user, check their contents
and metadata, install the wheel (not editable) into a fresh virtual environment beside the
pinned torch, and run tconv from outside the source tree.

One build and one environment serve the whole module (module-scoped fixtures); the install
takes most of the time (torch, plus the extras the smoke commands need, which also puts heavy
packages at hand for the light-import check to catch).
"""

from __future__ import annotations

import email
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import venv
import zipfile

import numpy as np
import pytest
import torch

import tconv

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the extras the smoke commands need (explain: matplotlib; upscale: Pillow, and pypng/tifffile
# for 16-bit colour), and what they install
EXTRAS = "plots,image"
EXTRA_PACKAGES = ("matplotlib", "PIL", "png", "tifffile")

# Loaded by `import tconv` they would make it slow and fragile: the optional dependencies are
# imported inside the functions that need them (the editable suite checks the interop ones too).
HEAVY = (
    "matplotlib",
    "PIL",
    "png",
    "tifffile",
    "skimage",
    "sklearn",
    "scipy",
    "tqdm",
    "keras",
    "jax",
    "flax",
    "onnx",
    "onnxruntime",
    "onnxscript",
)


def _run(args: list[str], cwd: pathlib.Path, **kwargs: object) -> subprocess.CompletedProcess:
    """Run a command with an environment that cannot see the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kwargs
    )


def _tracked_package_files() -> set[str]:
    """Files of src/tconv that belong to the package: tracked by git (the fresh-clone view)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "src/tconv"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an unpacked sdist)
        out = [
            str(p.relative_to(ROOT))
            for p in (ROOT / "src" / "tconv").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    return {name.removeprefix("src/") for name in out}


@pytest.fixture(scope="module")
def dist(built_dist: dict[str, pathlib.Path]) -> dict[str, pathlib.Path]:
    """sdist and wheel from `python -m build` (tests/conftest.py: built once a session)."""
    return built_dist


@pytest.fixture(scope="module")
def env(dist: dict[str, pathlib.Path], tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A fresh virtual environment with the wheel installed next to the pinned torch."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)  # installed into by this suite's pip: no ensurepip
    python = root / "bin" / "python"
    torch_pin = "torch==" + torch.__version__.split("+")[0]  # the suite's own pinned torch
    wheel = f"{dist['wheel']}[{EXTRAS}]"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    command = [*pip, "--no-compile", torch_pin, wheel]
    result = _run(command, cwd=root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


@pytest.fixture
def elsewhere(tmp_path: pathlib.Path) -> pathlib.Path:
    """A working directory outside the source tree."""
    assert ROOT not in tmp_path.parents
    return tmp_path


def test_twine_check_passes(dist: dict[str, pathlib.Path]) -> None:
    result = _run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(dist["wheel"]),
            str(dist["sdist"]),
        ],
        cwd=dist["wheel"].parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_holds_the_package_and_nothing_else(dist: dict[str, pathlib.Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = whl.namelist()
    info = f"tconv-{tconv.__version__}.dist-info/"
    package = {n for n in names if n.startswith("tconv/")}
    others = [n for n in names if not n.startswith(("tconv/", info))]
    assert others == [], f"the wheel holds files outside the package: {others}"
    assert "tconv/py.typed" in package
    # every file of the package ships (modules and package data alike), and nothing else does:
    # no tests, docs, caches or build leftovers
    assert package == _tracked_package_files()
    assert not [n for n in names if re.search(r"__pycache__|\.pyc$|egg-info|(^|/)tests?/", n)]
    assert f"{info}licenses/LICENSE" in names


def test_wheel_metadata(dist: dict[str, pathlib.Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        info = f"tconv-{tconv.__version__}.dist-info/"
        meta = email.message_from_bytes(whl.read(info + "METADATA"))
        entry_points = whl.read(info + "entry_points.txt").decode()
    assert meta["Name"] == "tconv"
    assert meta["Version"] == tconv.__version__
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().startswith("# tconv")  # the README is the long description
    requires = meta.get_all("Requires-Dist")
    assert [r for r in requires if "extra ==" not in r] == ["torch>=2.1", "numpy>=1.23"]
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert "tconv = tconv.cli:main" in entry_points


def test_sdist_holds_the_sources_tests_and_release_files(dist: dict[str, pathlib.Path]) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "CITATION.cff",
        "CONTRIBUTING.md",
        "src/tconv/py.typed",
        "tests/test_wheel.py",
        "docs/index.md",
    ):
        assert needed in names, needed
    assert {f"src/{n}" for n in _tracked_package_files()} <= names
    assert not [n for n in names if re.search(r"__pycache__|\.pyc$|^\.venv/|^site/|^out/", n)]


def test_readme_renders_on_an_index(dist: dict[str, pathlib.Path]) -> None:
    """PyPI shows the README without the repository around it, so relative targets do not
    resolve there (no hosting yet to make them absolute). What the reader still gets: each
    relative image has alt text that says what it shows, each relative link names the file it
    points to in its text, and every such file ships in the sdist."""
    readme = (ROOT / "README.md").read_text()
    with tarfile.open(dist["sdist"]) as tar:
        shipped = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    images = re.findall(r"!\[([^\]]*)\]\(([^)\s]+)\)", readme)
    assert "<img" not in readme  # HTML images would need the same checks
    for alt, src in images:
        if "://" in src:
            continue
        assert len(alt.split()) >= 4, f"image {src} needs alt text that describes it: {alt!r}"
        assert src in shipped, f"{src} is shown in the README but not in the sdist"
    links = re.findall(r"(?<!!)\[([^\]]+)\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    for text, target in links:
        if "://" in target:
            continue
        assert text.strip("`") == target, f"link text {text!r} does not name {target!r}"
        assert target in shipped, f"{target} is linked from the README but not in the sdist"


def test_installed_import_is_light_and_versioned(
    env: pathlib.Path, elsewhere: pathlib.Path
) -> None:
    """From outside the tree, `import tconv` is the installed copy, its version is the one the
    metadata holds (one source), and it loads nothing heavy beyond what `import torch, numpy`
    loads itself (torch imports tqdm when it is installed, for instance: that one is not ours).
    """
    code = (
        "import importlib.metadata, importlib.util, pathlib, sys\n"
        "import numpy, torch\n"
        "before = set(sys.modules)\n"
        "import tconv\n"
        "new = {name.split('.')[0] for name in set(sys.modules) - before}\n"
        f"print(','.join(sorted(new & set({HEAVY!r}))))\n"
        # the check can only fail if heavy packages are there to import: the extras' are
        f"print(','.join(n for n in {EXTRA_PACKAGES!r} if importlib.util.find_spec(n) is None))\n"
        "print(tconv.__version__, importlib.metadata.version('tconv'))\n"
        "print(pathlib.Path(tconv.__file__).resolve())\n"
    )
    result = _run([str(env / "bin" / "python"), "-c", code], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    loaded, missing, versions, location = result.stdout.split("\n")[:4]
    assert loaded == "", f"import tconv loaded {loaded}"
    assert missing == "", f"the extras did not install {missing}"
    version, metadata_version = versions.split()
    assert version == metadata_version == tconv.__version__
    assert pathlib.Path(location).is_relative_to(env.resolve())  # the installed copy, not src/
    assert not pathlib.Path(location).is_relative_to(ROOT)


def test_version_command(env: pathlib.Path, elsewhere: pathlib.Path) -> None:
    result = _run([str(env / "bin" / "tconv"), "--version"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tconv {tconv.__version__}"


def test_shape_command_matches_torch(env: pathlib.Path, elsewhere: pathlib.Path) -> None:
    args = ["--input", "16", "12", "--kernel", "3", "--stride", "2", "--padding", "1"]
    args += ["--output-padding", "1", "--json"]
    result = _run([str(env / "bin" / "tconv"), "shape", *args], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    expected = torch.nn.functional.conv_transpose2d(
        torch.zeros(1, 1, 16, 12), torch.zeros(1, 1, 3, 3), stride=2, padding=1, output_padding=1
    ).shape[2:]
    assert tuple(reply["output"]) == tuple(expected)


def test_bad_input_is_one_line_and_exit_2(env: pathlib.Path, elsewhere: pathlib.Path) -> None:
    args = ["shape", "--input", "16", "--kernel", "3", "--stride", "2", "--output-padding", "2"]
    result = _run([str(env / "bin" / "tconv"), *args], cwd=elsewhere)
    assert result.returncode == 2
    assert result.stdout == ""
    assert re.fullmatch(r"tconv shape: error: output_padding=.*0\.\.1.*\n", result.stderr)


def test_explain_draws_from_the_installed_package(
    env: pathlib.Path, elsewhere: pathlib.Path
) -> None:
    """`tconv explain --out` writes the figures and the numbers; the numbers are torch's."""
    args = ["explain", "--input", "4", "--kernel", "3", "--stride", "2", "--padding", "1"]
    result = _run([str(env / "bin" / "tconv"), *args, "--out", "figs", "--no-gif"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    figures = sorted(p.name for p in (elsewhere / "figs").glob("*.png"))
    assert figures, result.stdout
    for name in figures:
        assert (elsewhere / "figs" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    numbers = json.loads((elsewhere / "figs" / "explain.json").read_text())
    x = torch.tensor(numbers["input"]).reshape(1, 1, -1)
    w = torch.tensor(numbers["weight"]).reshape(1, 1, -1)
    y = torch.nn.functional.conv_transpose1d(x, w, stride=2, padding=1)
    assert numbers["output_size"] == [y.shape[-1]]
    assert numbers["matrix"]["y"] == y.flatten().tolist()


def test_explain_page_uses_the_shipped_template(env: pathlib.Path, elsewhere: pathlib.Path) -> None:
    """The interactive page's template is package data: it must be in the installed wheel."""
    result = _run([str(env / "bin" / "tconv"), "explain", "--html", "page.html"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    page = (elsewhere / "page.html").read_text()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "/*TCONV_DATA*/null" not in page  # the records were embedded into the template
    assert len(page) > 20_000


def test_upscale_with_the_shipped_checkpoint(env: pathlib.Path, elsewhere: pathlib.Path) -> None:
    """`tconv upscale` from the installed wheel finds its shipped x2 model (package data) and
    gives the image the source tree's model gives."""
    from PIL import Image

    from tconv.upscale import upscale

    yy, xx = np.mgrid[0:20, 0:24]
    image = np.stack([yy * 12, xx * 10, (yy + xx) * 5], axis=-1).astype(np.uint8)
    Image.fromarray(image).save(elsewhere / "in.png")
    command = [str(env / "bin" / "tconv"), "upscale", "in.png", "-o", "out.png", "--scale", "2"]
    result = _run([*command, "--no-progress"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    with Image.open(elsewhere / "out.png") as written:
        out = np.asarray(written)
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8
    expected = upscale(image, 2)  # this tree's shipped checkpoint, in this process
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
