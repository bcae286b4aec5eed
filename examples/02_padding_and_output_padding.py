"""Seed article, example 2: padding and output_padding, with the article's mistake corrected.

The article builds ``ConvTranspose2d(3, 3, kernel_size=3, stride=2, padding=1,
output_padding=1)``, runs it on a 1x3x16x16 input and says the output is 33x33. It is 32x32:
the full output is (16 - 1)*2 + (3 - 1) + 1 = 33 long, ``padding=1`` crops 1 at each end and
``output_padding=1`` gives 1 back at the end, so 33 - 1 - 0 = 32. This script shows the
formula filled in by :mod:`tconv.shapes`, checks it against torch itself, and shows settings
that really give 33x33.

Run: python examples/02_padding_and_output_padding.py
"""

from __future__ import annotations

from typing import Any

import torch

import tconv

ARTICLE_CLAIM = (1, 3, 33, 33)

# (what to print, constructor settings, output_size passed to forward)
GIVES_33: list[tuple[str, dict[str, Any], tuple[int, int] | None]] = [
    ("kernel_size=3, stride=2, padding=0", {"kernel_size": 3, "stride": 2}, None),
    (
        "kernel_size=4, stride=2, padding=1, output_padding=1",
        {"kernel_size": 4, "stride": 2, "padding": 1, "output_padding": 1},
        None,
    ),
    (
        "kernel_size=2, stride=2, output_padding=1",
        {"kernel_size": 2, "stride": 2, "output_padding": 1},
        None,
    ),
    (
        "kernel_size=2, stride=2, forward(x, output_size=(33, 33))",
        {"kernel_size": 2, "stride": 2},
        (33, 33),
    ),
]


def main() -> dict[str, Any]:
    """Run the example, print its shapes and return them."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 16, 16)
    settings: dict[str, Any] = {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}
    layer = tconv.nn.ConvTranspose2d(3, 3, **settings)
    y = layer(x)
    y_torch = torch.nn.ConvTranspose2d(3, 3, **settings)(x)

    geom = tconv.shapes.Geometry.create(rank=2, **settings)
    full = geom.full_size((16, 16))
    print(f"layer:         {layer}")
    print(f"input:         {tuple(x.shape)}")
    print(f"per dimension: {geom.explain((16, 16))[0]}")
    print(f"               (full length {full[0]}, cropped by (lo, hi) = {geom.crop[0]})")
    print(f"output:        {tuple(y.shape)} (torch.nn.ConvTranspose2d: {tuple(y_torch.shape)})")
    print(
        f"The seed article claims {ARTICLE_CLAIM[2]} x {ARTICLE_CLAIM[3]} for these settings; "
        f"that is wrong: the output is {y.shape[2]} x {y.shape[3]}."
    )

    print("Settings that do give 33 x 33 on a 16 x 16 input:")
    gives_33: dict[str, tuple[int, ...]] = {}
    for label, kwargs, output_size in GIVES_33:
        m = tconv.nn.ConvTranspose2d(3, 3, **kwargs)
        if output_size is None:
            predicted = tconv.output_size((16, 16), **kwargs)
            note = "tconv.output_size"
        else:
            predicted = output_size
            op = tconv.output_padding_for((16, 16), output_size, **kwargs)
            note = f"tconv.output_padding_for chooses output_padding={op}"
        shape = tuple(m(x, output_size=output_size).shape)
        gives_33[label] = shape
        print(f"  {label:<58} -> {shape}  (predicted {predicted}: {note})")

    print("With kernel_size=3, stride=2, padding=1 no output_padding reaches 33 x 33:")
    try:
        tconv.output_padding_for((16, 16), (33, 33), kernel_size=3, stride=2, padding=1)
        reach_error = ""
    except tconv.ShapeError as err:
        reach_error = str(err)
        print(f"  tconv.ShapeError: {reach_error}")

    return {
        "input": tuple(x.shape),
        "output": tuple(y.shape),
        "torch_output": tuple(y_torch.shape),
        "article_claim": ARTICLE_CLAIM,
        "gives_33": gives_33,
        "reach_error": reach_error,
    }


if __name__ == "__main__":
    main()
