"""Seed article, example 3: upsampling inside a Sequential model.

Conv2d(3 -> 64, k3, p1) keeps 16x16; ReLU; ConvTranspose2d(64 -> 3, k2, s2) doubles it to
32x32; ReLU. The transposed convolution is tconv's drop-in ``tconv.nn.ConvTranspose2d``: it
has the same parameters and state_dict keys as ``torch.nn.ConvTranspose2d``.

Run: python examples/03_sequential_model.py
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import tconv


def main() -> dict[str, Any]:
    """Run the example, print the shape after every layer and return the shapes."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3, stride=1, padding=1),
        nn.ReLU(),
        tconv.nn.ConvTranspose2d(in_channels=64, out_channels=3, kernel_size=2, stride=2),
        nn.ReLU(),
    )
    x = torch.randn(1, 3, 16, 16)
    print(f"input:              {tuple(x.shape)}")
    layers: list[tuple[str, tuple[int, ...]]] = []
    h = x
    for layer in model:
        h = layer(h)
        layers.append((type(layer).__name__, tuple(h.shape)))
        print(f"  {type(layer).__name__:<16} {tuple(h.shape)}")
    predicted = tconv.output_size((16, 16), kernel_size=2, stride=2)
    y = model(x)
    print(f"predicted upsample: {predicted[0]} x {predicted[1]} (tconv.output_size)")
    print(f"output:             {tuple(y.shape)}")
    return {
        "input": tuple(x.shape),
        "layers": layers,
        "predicted": predicted,
        "output": tuple(y.shape),
    }


if __name__ == "__main__":
    main()
