"""tconv's whole-model rewrites on published architectures: equality and same-run speed.

Each model is built from its published configuration with random weights (nothing is
downloaded) and rewritten with ``tconv.convert.to_tconv(model, "auto")`` (every
ConvTranspose{1,2,3}d computed by tconv's fastest exact method) then
``tconv.convert.fuse_resize`` (every nearest-resize -> convolution pair computed as the
transposed convolution it is):

- ``sd-vae-decoder``: diffusers' ``AutoencoderKL`` decoder with the Stable Diffusion VAE
  configuration (block_out_channels 128, 256, 512, 512; 4 latent channels; layers_per_block 2),
  a 1x4xLxL latent -> 8L x 8L image (three ``Upsample2D``: nearest x2 + 3x3 conv);
- ``ddpm-unet``: diffusers' ``UNet2DModel`` with the DDPM CIFAR-10 configuration
  (block_out_channels 128, 256, 256, 256; attention at 16x16), 32x32 images;
- ``hifigan-v1``: the HiFi-GAN V1 generator (Kong et al. 2020, the authors' reference code,
  weight norm removed as for inference): four ConvTranspose1d (rates 8, 8, 2, 2), 80 mel bins;
- ``pix2pix-unet``: the pix2pix U-Net generator (Isola et al. 2017, the authors' PyTorch
  code, ``unet_256``): eight ConvTranspose2d k4 s2 p1, BatchNorm, 256x256 images.

Per model it prints the pairs fused and layers converted, the largest difference from the
original relative to the original's largest magnitude (forward, and the parameters'
gradients where the model is trained), and the speed ratio original time / rewritten time
(above 1 = the rewrite is faster) from paired calls in the same run
(:func:`tconv.timing.paired_speed`: each call of the rewrite timed back to back with one of
the original, the order alternating). Then the same for one resize-convolution layer alone
(``ResizeConv2d`` against ``nn.Upsample`` + ``nn.Conv2d``) at 128, 256 and 512 channels, with
what ``method="auto"`` ran (the phase path, the transposed convolution or the unfused pair).

Usage::

    .venv/bin/python benchmarks/real_models.py [--quick] [--latent 32] [--repeat 5] [--threads 2]

``--quick`` runs small configurations of the same architectures in seconds, with ``"auto"``
deciding by its rule rather than by measuring, and checks equality only (no timing; the test
suite runs it). diffusers is a benchmark dependency (the ``models`` extra), not tconv's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tconv import set_autotune
from tconv.convert import fuse_resize, to_tconv
from tconv.nn import ResizeConv2d
from tconv.timing import paired_speed, paired_timings

# ---------------------------------------------------------------------------------------------
# HiFi-GAN generator (Kong, Kim, Bae 2020), after the authors' models.py (jik876/hifi-gan),
# without weight norm (removed for inference, as the authors' inference script does)

LRELU_SLOPE = 0.1


def _padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """HiFi-GAN's multi-receptive-field residual block (type 1)."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation: tuple[int, ...] = (1, 3, 5)):
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, _padding(kernel_size, d), d)
            for d in dilation
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, 1, _padding(kernel_size, 1))
            for _ in dilation
        )

    def forward(self, x: Tensor) -> Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            xt = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
            x = xt + x
        return x


class HiFiGANGenerator(nn.Module):
    """HiFi-GAN generator: mel spectrogram (N, 80, T) -> waveform (N, 1, T * prod(rates))."""

    def __init__(
        self,
        initial_channel: int = 512,
        rates: tuple[int, ...] = (8, 8, 2, 2),
        kernels: tuple[int, ...] = (16, 16, 4, 4),
        resblock_kernels: tuple[int, ...] = (3, 7, 11),
        resblock_dilations: tuple[tuple[int, ...], ...] = ((1, 3, 5),) * 3,
        mels: int = 80,
    ) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernels)
        self.conv_pre = nn.Conv1d(mels, initial_channel, 7, 1, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(
                initial_channel // 2**i, initial_channel // 2 ** (i + 1), k, u, padding=(k - u) // 2
            )
            for i, (u, k) in enumerate(zip(rates, kernels, strict=True))
        )
        self.resblocks = nn.ModuleList()
        ch = initial_channel
        for i in range(len(self.ups)):
            ch = initial_channel // 2 ** (i + 1)
            for k, d in zip(resblock_kernels, resblock_dilations, strict=True):
                self.resblocks.append(ResBlock1(ch, k, d))
        self.conv_post = nn.Conv1d(ch, 1, 7, 1, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


# ---------------------------------------------------------------------------------------------
# pix2pix U-Net generator (Isola et al. 2017), after the authors' networks.py
# (junyanz/pytorch-CycleGAN-and-pix2pix, UnetGenerator / UnetSkipConnectionBlock, BatchNorm)


class UnetSkipConnectionBlock(nn.Module):
    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=False)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = nn.BatchNorm2d(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = nn.BatchNorm2d(outer_nc)
        model: list[nn.Module]
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            assert submodule is not None
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=False)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=False)
            assert submodule is not None
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
        self.model = nn.Sequential(*model)

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix's generator: (N, 3, 2^d, 2^d) -> (N, 3, 2^d, 2^d), d = num_downs."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetSkipConnectionBlock(
            output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


# ---------------------------------------------------------------------------------------------
# the models and their inputs


@dataclass
class Case:
    model: nn.Module
    inputs: tuple[Any, ...]
    train: bool  # people train it: also time forward + backward
    what: str


def sd_vae_decoder(quick: bool, latent: int) -> Case:
    from diffusers import AutoencoderKL

    channels = (32, 32, 32, 32) if quick else (128, 256, 512, 512)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=channels,
        layers_per_block=1 if quick else 2,
        latent_channels=4,
        norm_num_groups=32,
    )
    size = 4 if quick else latent
    z = torch.randn(1, 4, size, size)
    return Case(vae.decoder, (z,), False, f"1x4x{size}x{size} latent -> {8 * size}x{8 * size}")


def ddpm_unet(quick: bool, latent: int) -> Case:
    from diffusers import UNet2DModel

    if quick:
        unet = UNet2DModel(
            sample_size=16,
            block_out_channels=(32, 64),
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=1,
            norm_num_groups=8,
        )
        size, batch = 16, 1
    else:
        unet = UNet2DModel(
            sample_size=32,
            block_out_channels=(128, 256, 256, 256),
            down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
            layers_per_block=2,
        )
        size, batch = 32, 1
    x = torch.randn(batch, 3, size, size)
    t = torch.full((batch,), 10, dtype=torch.long)
    return Case(unet, (x, t), True, f"{batch}x3x{size}x{size}")


def hifigan_v1(quick: bool, latent: int) -> Case:
    if quick:
        gen = HiFiGANGenerator(32, resblock_kernels=(3,), resblock_dilations=((1, 3, 5),))
        frames = 8
    else:
        gen = HiFiGANGenerator()
        frames = 32
    mel = torch.randn(1, 80, frames)
    return Case(gen, (mel,), True, f"1x80x{frames} mel -> {frames * 256} samples")


def pix2pix_unet(quick: bool, latent: int) -> Case:
    gen = UnetGenerator(num_downs=5, ngf=8) if quick else UnetGenerator()
    size = 32 if quick else 256
    return Case(gen, (torch.randn(1, 3, size, size),), True, f"1x3x{size}x{size}")


MODELS: dict[str, Callable[[bool, int], Case]] = {
    "sd-vae-decoder": sd_vae_decoder,
    "ddpm-unet": ddpm_unet,
    "hifigan-v1": hifigan_v1,
    "pix2pix-unet": pix2pix_unet,
}


# ---------------------------------------------------------------------------------------------
# measuring


def output(value: Any) -> Tensor:
    """The main tensor of a model's output (diffusers returns a dataclass)."""
    if isinstance(value, Tensor):
        return value
    sample = getattr(value, "sample", None)
    if isinstance(sample, Tensor):
        return sample
    return output(value[0])


def rel(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max() / a.abs().max().clamp_min(1e-30))


def rewrite(model: nn.Module, example: tuple[Any, ...]) -> tuple[nn.Module, int, int]:
    """to_tconv then fuse_resize (checked against the original on the example)."""
    converted = sum(isinstance(m, nn.modules.conv._ConvTransposeNd) for m in model.modules())
    new, report = fuse_resize(to_tconv(model, "auto"), example=example, report=True)
    return new, converted, len(report.fused)


def train_step(model: nn.Module, inputs: tuple[Any, ...], grad: Tensor) -> Callable[[], object]:
    params = [p for p in model.parameters() if p.requires_grad]

    def step() -> None:
        for p in params:
            p.grad = None
        (output(model(*inputs)) * grad).sum().backward()

    return step


def grads_rel(a: nn.Module, b: nn.Module) -> float:
    """The largest gradient difference, per parameter relative to its largest gradient (or to
    1e-3 of the model's largest, for gradients that are zero up to rounding: an attention's key
    bias)."""
    gb = dict(b.named_parameters())
    pairs = [(p.grad, gb[n].grad) for n, p in a.named_parameters() if p.grad is not None]
    top = max(float(g.abs().max()) for g, _ in pairs)
    worst = 0.0
    for g, h in pairs:
        assert h is not None, "a parameter lost its gradient"
        scale = max(float(g.abs().max()), 1e-3 * top)
        worst = max(worst, float((g - h).abs().max()) / scale)
    return worst


def speed(base: Callable[[], object], fn: Callable[[], object], repeat: int) -> str:
    """``**ratio**`` from paired calls; ``-`` when ``repeat`` is 0 (``--quick``: not timed)."""
    if repeat == 0:
        return "-"
    return f"**{paired_speed(paired_timings(base, [fn], repeat=repeat, warmup=2)[0]):.2f}**"


def bench_model(name: str, case: Case, repeat: int) -> list[str]:
    model = case.model.eval()
    with torch.no_grad():
        new, converted, fused = rewrite(model, case.inputs)
        err = rel(output(model(*case.inputs)), output(new(*case.inputs)))
        fwd = speed(lambda: model(*case.inputs), lambda: new(*case.inputs), repeat)
    row = [
        name,
        case.what,
        str(fused),
        str(converted),
        f"{err:.1e}",
        fwd,
    ]
    if case.train:
        model.train()
        new.train()
        with torch.no_grad():
            grad = torch.randn_like(output(model(*case.inputs)))
        torch.manual_seed(0)
        base, step = train_step(model, case.inputs, grad), train_step(new, case.inputs, grad)
        base()
        step()
        gerr = grads_rel(model, new)
        row += [f"{gerr:.1e}", speed(base, step, repeat)]
    else:
        row += ["-", "-"]
    return row


def layer_row(channels: int, size: int, repeat: int) -> list[str]:
    """ResizeConv2d against nn.Upsample + nn.Conv2d (the same parameters), one layer."""
    conv = nn.Conv2d(channels, channels, 3, padding=1)
    pair = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), conv)
    fused = ResizeConv2d.from_conv(conv, 2)  # shares conv's parameters
    x = torch.randn(1, channels, size, size)
    with torch.no_grad():
        err = rel(pair(x), fused(x))
        fwd = speed(lambda: pair(x), lambda: fused(x), repeat)
    xg = x.clone().requires_grad_()
    grad = torch.randn(1, channels, 2 * size, 2 * size)
    tensors = (conv.weight, conv.bias, xg)

    def step(m: nn.Module) -> Callable[[], object]:
        def run() -> None:
            for t in tensors:
                t.grad = None
            (m(xg) * grad).sum().backward()

        return run

    step(pair)()
    expected = [t.grad.clone() for t in tensors if t.grad is not None]
    step(fused)()
    got = [t.grad for t in tensors if t.grad is not None]
    gerr = max(rel(a, b) for a, b in zip(expected, got, strict=True))
    both = speed(step(pair), step(fused), repeat)
    with torch.no_grad():
        inference = fused.execution(x)
    return [
        f"{channels} ch, 1x{channels}x{size}x{size} -> {2 * size}x{2 * size}",
        f"{err:.1e}",
        fwd,
        f"{gerr:.1e}",
        both,
        f"{inference} / {fused.execution(xg)}",
    ]


def bench_layers(quick: bool, repeat: int) -> Iterator[list[str]]:
    for channels, size in ((128, 64), (256, 32), (512, 16), (512, 32)):
        yield layer_row(channels // 16 if quick else channels, 8 if quick else size, repeat)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small configurations (seconds)")
    parser.add_argument("--latent", type=int, default=32, help="the VAE's latent size")
    parser.add_argument("--repeat", type=int, default=5, help="timed pairs per ratio")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--models", nargs="*", choices=list(MODELS), default=list(MODELS))
    args = parser.parse_args(argv)
    try:
        import diffusers  # noqa: F401
    except ImportError:
        print(
            "benchmarks/real_models.py needs diffusers: pip install 'tconv[architectures]'",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(args.threads)
    if args.quick:  # auto's rule instead of its measurements: seconds, not minutes
        set_autotune(False)
    repeat = 0 if args.quick else args.repeat
    start = time.perf_counter()
    header = [
        "model",
        "input",
        "pairs fused",
        "ConvTranspose converted",
        "forward max diff",
        "forward speed",
        "gradient max diff",
        "forward+backward speed",
    ]
    print(table(header, []), flush=True)
    for name in args.models:
        torch.manual_seed(0)
        row = bench_model(name, MODELS[name](args.quick, args.latent), repeat)
        print("| " + " | ".join(row) + " |", flush=True)
    print()
    torch.manual_seed(0)
    header = [
        "nearest x2 + conv 3x3 (padding 1)",
        "forward max diff",
        "forward speed",
        "gradient max diff",
        "forward+backward speed",
        "auto ran (inference / training)",
    ]
    print(table(header, []), flush=True)
    for row in bench_layers(args.quick, repeat):
        print("| " + " | ".join(row) + " |", flush=True)
    print()
    print(
        f"float32, {torch.get_num_threads()} threads, torch {torch.__version__}; "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
