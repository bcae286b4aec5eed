"""The seed article's examples in examples/: their shapes (checked against torch) and output."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_01_basic_upsampling():
    shapes = load("01_basic_upsampling.py").main()
    assert shapes == {"input": (1, 3, 16, 16), "predicted": (32, 32), "output": (1, 3, 32, 32)}


def test_02_padding_and_output_padding_corrects_the_article():
    module = load("02_padding_and_output_padding.py")
    shapes = module.main()
    assert shapes["output"] == (1, 3, 32, 32)
    assert shapes["torch_output"] == (1, 3, 32, 32)
    assert shapes["article_claim"] == (1, 3, 33, 33) != shapes["output"]
    assert len(shapes["gives_33"]) == len(module.GIVES_33) >= 3
    assert all(shape == (1, 3, 33, 33) for shape in shapes["gives_33"].values())
    assert "valid sizes range from (31, 31) to (32, 32)" in shapes["reach_error"]


def test_02_settings_for_33_are_true_in_torch():
    """Every setting the example offers for 33x33 gives 33x33 in torch.nn.ConvTranspose2d too."""
    module = load("02_padding_and_output_padding.py")
    x = torch.zeros(1, 3, 16, 16)
    for _, kwargs, output_size in module.GIVES_33:
        layer = torch.nn.ConvTranspose2d(3, 3, **kwargs)
        assert layer(x, output_size=output_size).shape == (1, 3, 33, 33)
    with pytest.raises(ValueError, match="valid sizes range"):
        torch.nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1)(x, output_size=(33, 33))


def test_03_sequential_model():
    shapes = load("03_sequential_model.py").main()
    assert shapes["input"] == (1, 3, 16, 16)
    assert shapes["layers"] == [
        ("Conv2d", (1, 64, 16, 16)),
        ("ReLU", (1, 64, 16, 16)),
        ("ConvTranspose2d", (1, 3, 32, 32)),
        ("ReLU", (1, 3, 32, 32)),
    ]
    assert shapes["predicted"] == (32, 32)
    assert shapes["output"] == (1, 3, 32, 32)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("01_basic_upsampling.py", ["output:    (1, 3, 32, 32)"]),
        (
            "02_padding_and_output_padding.py",
            [
                "per dimension: (16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32",
                "The seed article claims 33 x 33 for these settings; that is wrong: the output "
                "is 32 x 32.",
                "kernel_size=3, stride=2, padding=0",
            ],
        ),
        (
            "03_sequential_model.py",
            ["  ConvTranspose2d  (1, 3, 32, 32)", "output:             (1, 3, 32, 32)"],
        ),
    ],
)
def test_examples_run_as_scripts(name, expected):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for line in expected:
        assert any(line in printed for printed in lines), (line, done.stdout)
