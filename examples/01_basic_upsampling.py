"""Seed article, example 1: basic upsampling with a transposed convolution.

A ConvTranspose2d with kernel 2 and stride 2 doubles the spatial size: 1x3x16x16 -> 1x3x32x32.
Each input pixel paints its own 2x2 block of the output; the blocks tile without overlap.

Run: python examples/01_basic_upsampling.py
"""

from __future__ import annotations

import torch

import tconv


def main() -> dict[str, tuple[int, ...]]:
    """Run the example, print its shapes and return them."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 16, 16)  # batch, channels, height, width
    layer = tconv.nn.ConvTranspose2d(in_channels=3, out_channels=3, kernel_size=2, stride=2)
    y = layer(x)
    predicted = tconv.output_size((16, 16), kernel_size=2, stride=2)
    print(f"layer:     {layer}")
    print(f"input:     {tuple(x.shape)}")
    print(f"predicted: {predicted[0]} x {predicted[1]} (tconv.output_size)")
    print(f"output:    {tuple(y.shape)}")
    return {"input": tuple(x.shape), "predicted": predicted, "output": tuple(y.shape)}


if __name__ == "__main__":
    main()
