"""Draw docs/figures/resize-conv.png: resize-convolution as the transposed convolution it is.

Usage::

    python docs/resize_conv_figure.py [--out docs/figures/resize-conv.png]

Every number drawn comes from the library: the tied kernel from
:func:`tconv.modules.resize_conv_weight`, the crop from
:func:`tconv.shapes.resize_conv_geometry`, the responses to a constant input from
:class:`tconv.nn.ResizeConv2d` and ``torch.nn.ConvTranspose2d``, their checkerboard scores from
:func:`tconv.artifacts.checkerboard_score`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from tconv.artifacts import checkerboard_score
from tconv.modules import resize_conv_weight
from tconv.nn import ResizeConv2d
from tconv.shapes import resize_conv_geometry

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "resize-conv.png"))
    args = parser.parse_args(argv)
    torch.manual_seed(3)

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.3), gridspec_kw={"width_ratios": [1.25, 1, 1, 1]})

    # (a) 1-D: nearest x2 then a 3-tap convolution = a stride-2 transposed conv with 4 tied taps
    ax = axes[0]
    w = torch.tensor([[[1.0, 2.0, 0.5]]])  # w0, w1, w2
    tied = resize_conv_weight(w, 2).flatten().tolist()
    geom = resize_conv_geometry(3, 2, padding=1)
    names = ["w2", "w1 + w2", "w0 + w1", "w0"]
    colors = ["tab:blue", "tab:orange"]
    for m, (value, name) in enumerate(zip(tied, names, strict=True)):
        ax.bar(m, value, color=colors[m % 2], width=0.7)
        ax.text(m, value + 0.05, f"{name}\n= {value:g}", ha="center", va="bottom", fontsize=9)
    even, odd = sum(tied[0::2]), sum(tied[1::2])
    ax.set_xticks(range(4), [f"tap {m}\nphase {m % 2}" for m in range(4)])
    ax.set_ylim(0, max(tied) + 1.0)
    ax.set_title(
        f"(a) nearest x2 + conv [w0, w1, w2] (padding 1)\n= transposed conv k{geom.kernel_size[0]} "
        f"s{geom.stride[0]}, crop {geom.crop[0]}",
        fontsize=10,
    )
    ax.text(
        1.5,
        max(tied) + 0.65,
        f"phase 0 taps sum {even:g}, phase 1 taps sum {odd:g}",
        ha="center",
        fontsize=9,
    )

    # (b) 2-D: the tied 4x4 kernel of a random 3x3 conv; each output phase's 2x2 taps
    ax = axes[1]
    w2 = torch.randn(1, 1, 3, 3)
    k = resize_conv_weight(w2, 2)[0, 0]
    ax.imshow(k, cmap="coolwarm", vmin=-k.abs().max(), vmax=k.abs().max())
    for i in range(4):
        for j in range(4):
            ax.text(j, i, f"{k[i, j]:.2f}", ha="center", va="center", fontsize=9)
    sums = [float(k[a::2, b::2].sum()) for a in range(2) for b in range(2)]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        "(b) 3x3 conv after nearest x2: tied 4x4 kernel\n"
        f"phase sums {', '.join(f'{s:.2f}' for s in sums)}",
        fontsize=10,
    )

    # (c, d) a constant input: the tied kernel stays flat, an untied k3 s2 one paints a checkerboard
    x = torch.ones(1, 1, 12, 12)
    resize = ResizeConv2d(1, 1, 3, padding=1, bias=False, method="native")
    untied = torch.nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1, bias=False)
    panels = (
        (axes[2], resize, "(c) ResizeConv2d (tied kernel)"),
        (axes[3], untied, "(d) ConvTranspose2d k3 s2 (untied)"),
    )
    with torch.no_grad():  # the interior (away from the zero padding), over its mean
        images = [layer(x)[0, 0, 2:-2, 2:-2] for _, layer, _ in panels]
    for (ax, layer, label), y in zip(panels, images, strict=True):
        score = checkerboard_score(layer, (1, 1, 16, 16))
        ax.imshow(y / y.mean(), cmap="gray", vmin=0, vmax=2)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{label}\nconstant input, output / its mean: score {score:.3f}", fontsize=10)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
