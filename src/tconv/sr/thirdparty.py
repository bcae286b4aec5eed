"""Super-resolution checkpoints users already have: ESRGAN / Real-ESRGAN, natively; the rest
through spandrel.

tconv reads the file itself, safely (:func:`read_weights`: ``.pth``/``.pt`` with
``torch.load(weights_only=True)`` through :func:`tconv.loading.load_file`, ``.safetensors``
with safetensors; a full pickle only when trusted), unwraps the ``params_ema`` / ``params`` /
``state_dict`` / ``model`` wrappers of the releases, and recognises the state dict from its
keys (:func:`detect`):

- :class:`RRDBNet` -- ESRGAN (Wang et al., "ESRGAN: Enhanced Super-Resolution Generative
  Adversarial Networks", ECCVW 2018) and Real-ESRGAN (Wang et al. 2021): a 3x3 convolution,
  ``num_block`` residual-in-residual dense blocks (three 5-convolution dense blocks, LeakyReLU
  0.2, residuals scaled by 0.2), a 3x3 convolution with a skip over the body, then per x2
  stage nearest-neighbour x2 and a 3x3 convolution (LeakyReLU), a 3x3 convolution
  (LeakyReLU) and the last 3x3 convolution. Real-ESRGAN's x2 and x1 models first
  pixel-unshuffle the input by 2 and 4 (the input is reflect-padded to a multiple, then the
  output cropped). Keys of BasicSR / Real-ESRGAN (``conv_first``, ``body.N.rdbM.convK``,
  ``conv_body``, ``conv_upK``, ``conv_hr``, ``conv_last``), of the ESRGAN repository
  (``RRDB_trunk``, ``trunk_conv``, ``upconvK``, ``HRconv``) and of the original ESRGAN
  release (``model.0``, ``model.1.sub.N.RDBM.convK.0``, ...).
- :class:`SRVGGNetCompact` -- Real-ESRGAN's compact model (``realesr-general-x4v3``,
  ``realesr-animevideov3``): a 3x3 convolution and ``num_conv`` more, each followed by a
  PReLU, a last 3x3 convolution to ``3 * scale**2`` channels, pixel shuffle, plus the
  nearest-neighbour upscaling of the input. Keys ``body.N.weight``.

The scale comes from the weights (the channels of the first and last convolutions, the number
of upsampling stages). Any other architecture goes to spandrel (optional, imported only
then), handed the state dict tconv read; spandrel imports torchvision, so when either cannot
be imported one line says which and how to fix it (:func:`spandrel_model`).

Example:
    >>> import torch
    >>> net = SRVGGNetCompact(num_feat=8, num_conv=2, scale=4)
    >>> found = detect(net.state_dict())
    >>> found.name, found.scale, found.build()(torch.rand(1, 3, 5, 6)).shape
    ('SRVGGNetCompact', 4, torch.Size([1, 3, 20, 24]))
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "RRDB",
    "Architecture",
    "RRDBNet",
    "ResidualDenseBlock",
    "SRVGGNetCompact",
    "detect",
    "read_weights",
    "spandrel_model",
    "third_party_model",
    "unwrap",
]


# ---------------------------------------------------------------------------------------------
# ESRGAN / Real-ESRGAN: RRDBNet


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convolutions, each seeing the block's input and all earlier outputs
    (LeakyReLU 0.2 after the first four); ``x + 0.2 * conv5(...)``.

    A building block of :class:`RRDBNet` (three of them make an :class:`RRDB`); public so that
    its parameter names (``conv1`` to ``conv5``), which the checkpoints' keys use, are documented.

    Args:
        num_feat: channels in and out.
        num_grow_ch: channels each of the first four convolutions adds to the next one's input.

    Shape:
        - Input: ``(N, num_feat, H, W)``
        - Output: ``(N, num_feat, H, W)``

    Example:
        >>> import torch
        >>> ResidualDenseBlock(num_feat=4, num_grow_ch=2)(torch.rand(1, 4, 5, 6)).shape
        torch.Size([1, 4, 5, 6])
    """

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        x1 = F.leaky_relu(self.conv1(x), 0.2)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), 0.2)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), 0.2)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), 0.2)
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, ``x + 0.2 * rdb3(rdb2(rdb1(x)))``.

    The repeated block of :class:`RRDBNet`'s body (``body.N`` in the checkpoints' keys, its
    dense blocks ``rdb1`` to ``rdb3``, each a :class:`ResidualDenseBlock`).

    Args:
        num_feat: channels in and out.
        num_grow_ch: channels each dense-block convolution adds.

    Shape:
        - Input: ``(N, num_feat, H, W)``
        - Output: ``(N, num_feat, H, W)``

    Example:
        >>> import torch
        >>> RRDB(4, num_grow_ch=2)(torch.rand(1, 4, 5, 6)).shape
        torch.Size([1, 4, 5, 6])
    """

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: Tensor) -> Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator (BasicSR's state-dict layout); see the module docstring.

    Args:
        num_in_ch: image channels in.
        num_out_ch: image channels out.
        scale: the upscaling factor: ``2**stages / unshuffle``.
        num_feat: features of the body.
        num_block: RRDB blocks.
        num_grow_ch: channels each dense-block convolution adds.
        stages: nearest x2 + convolution stages (2 in every Real-ESRGAN model).

    Shape:
        - Input: ``(N, num_in_ch, H, W)``
        - Output: ``(N, num_out_ch, H * scale, W * scale)``

    Raises:
        ValueError: ``scale`` is not ``2**stages`` divided by 1, 2 or 4 (the pixel-unshuffle
            factors).

    Example:
        >>> import torch
        >>> RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=4)(torch.rand(1, 3, 5, 7)).shape
        torch.Size([1, 3, 10, 14])
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
        stages: int = 2,
    ) -> None:
        super().__init__()
        self.scale = scale
        top = 2**stages
        if top % scale or top // scale not in (1, 2, 4):
            raise ValueError(
                f"scale={scale} is invalid with {stages} upsampling stages: RRDBNet reaches "
                f"{top} // 1, 2 or 4 (pixel-unshuffle), i.e. {sorted({top, top // 2, top // 4})}"
            )
        self.unshuffle = top // scale
        self.conv_first = nn.Conv2d(num_in_ch * self.unshuffle**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        for k in range(1, stages + 1):
            self.add_module(f"conv_up{k}", nn.Conv2d(num_feat, num_feat, 3, 1, 1))
        self.stages = stages
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        f = self.unshuffle
        if f > 1:  # pixel-unshuffle needs multiples of f: reflect-pad, crop the output
            ph, pw = -h % f, -w % f
            if ph or pw:
                x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > f else "replicate")
            x = F.pixel_unshuffle(x, f)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for k in range(1, self.stages + 1):
            up = F.interpolate(feat, scale_factor=2, mode="nearest")
            feat = F.leaky_relu(getattr(self, f"conv_up{k}")(up), 0.2)
        out = self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))
        return out[..., : h * self.scale, : w * self.scale]


# ---------------------------------------------------------------------------------------------
# Real-ESRGAN's compact model


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact network (PReLU activations); see the module docstring.

    Args:
        num_in_ch: image channels in.
        num_out_ch: image channels out.
        num_feat: features.
        num_conv: 3x3 convolutions between the first and the last.
        scale: the upscaling factor (pixel shuffle).

    Shape:
        - Input: ``(N, num_in_ch, H, W)``
        - Output: ``(N, num_out_ch, H * scale, W * scale)``

    Example:
        >>> import torch
        >>> SRVGGNetCompact(num_feat=4, num_conv=1, scale=2)(torch.rand(1, 3, 5, 7)).shape
        torch.Size([1, 3, 10, 14])
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        scale: int = 4,
    ) -> None:
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)]
        layers.append(nn.PReLU(num_parameters=num_feat))
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        base = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return self.upsampler(out) + base


# ---------------------------------------------------------------------------------------------
# reading and recognising a file


class Architecture(NamedTuple):
    """A recognised state dict: the architecture's name, scale, a builder of the module with
    the weights loaded, and the hyperparameters read from the keys (what :func:`detect` returns).

    Attributes:
        name: the architecture, ``"RRDBNet"`` or ``"SRVGGNetCompact"``.
        scale: the upscaling factor the weights were trained for.
        build: makes the module with the state dict loaded (a fresh one per call); it raises
            ``RuntimeError`` when the weights do not fit (missing or unexpected keys, shapes).
        params: the constructor's keyword arguments, read from the keys and shapes.

    Example:
        >>> import torch
        >>> found = detect(RRDBNet(scale=2, num_feat=4, num_block=1, num_grow_ch=2).state_dict())
        >>> found.name, found.scale, found.params["num_block"], type(found.build()).__name__
        ('RRDBNet', 2, 1, 'RRDBNet')
    """

    name: str
    scale: int
    build: Callable[[], nn.Module]
    params: dict[str, int]


#: The wrappers released checkpoints put the state dict in, tried in this order.
WRAPPERS: tuple[str, ...] = ("params_ema", "params", "state_dict", "model", "net_g")


def read_weights(path: str, *, trust_pickle: bool = False) -> Any:
    """What the file holds, read without running code: ``.safetensors`` through safetensors,
    anything else through :func:`tconv.loading.load_file` (weights-only unless
    ``trust_pickle``).

    Args:
        path: the checkpoint: ``.safetensors``, or a file written by ``torch.save`` or
            ``torch.jit.save`` (``.pth``, ``.pt``, ...).
        trust_pickle: also unpickle arbitrary objects (a pickle can run any code while it
            loads, so only for files from a trusted source); ignored for ``.safetensors``.

    Returns:
        The file's content on the CPU: a dict of tensors for ``.safetensors``; otherwise what
        ``torch.save`` stored (often a state dict inside a wrapper, see :func:`unwrap`) or a
        ``torch.jit.ScriptModule``.

    Raises:
        ValueError: an unreadable or missing file, or a pickle that would run code (the
            message says how).
        ImportError: a ``.safetensors`` file without the safetensors package.

    Example:
        >>> import os, tempfile, torch
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "net.pth")
        ...     torch.save({"params_ema": {"body.0.weight": torch.zeros(2)}}, path)
        ...     read_weights(path)
        {'params_ema': {'body.0.weight': tensor([0., 0.])}}
    """
    from ..loading import LoadError, load_file

    if Path(path).suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file as load_safetensors
        except ImportError:
            raise ImportError(
                f"reading {path!r} needs safetensors: pip install 'tconv[models]'"
            ) from None
        try:
            return load_safetensors(path, device="cpu")
        except Exception as err:  # safetensors raises its own SafetensorError and OSError
            raise ValueError(f"cannot read {path!r} as safetensors: {err}") from None
    try:
        return load_file(path, trust_pickle=trust_pickle)
    except LoadError as err:
        raise ValueError(str(err)) from None


def unwrap(obj: Any) -> dict[str, Tensor] | None:
    """The state dict in ``obj`` (inside a release's wrapper key, or ``obj`` itself), with a
    ``module.`` prefix (DataParallel) removed; ``None`` when ``obj`` holds none.

    Args:
        obj: what a checkpoint held (see :func:`read_weights`): a state dict, a dict with the
            state dict under one of the wrapper keys ``params_ema``, ``params``,
            ``state_dict``, ``model``, ``net_g`` (tried in this order), or an ``nn.Module``.

    Returns:
        The tensors by name (entries that are not tensors dropped), or ``None`` when ``obj``
        is not a dict (or module) or holds no tensors under string keys.

    Shape:
        The tensors are returned as they are (same objects, any shapes).

    Example:
        >>> import torch
        >>> unwrap({"params_ema": {"module.conv.weight": torch.zeros(1)}, "iter": 5})
        {'conv.weight': tensor([0.])}
        >>> unwrap([1, 2]) is None
        True
    """
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        return None
    for key in WRAPPERS:
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, Tensor) for v in inner.values()):
            obj = inner
            break
    tensors = {k: v for k, v in obj.items() if isinstance(v, Tensor)}
    if not tensors or not all(isinstance(k, str) for k in tensors):
        return None
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


def _esrgan_keys(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """ESRGAN's other two layouts renamed to BasicSR's (unchanged when already so)."""
    if "RRDB_trunk.0.RDB1.conv1.weight" in sd:  # the ESRGAN repository's own names
        out = {}
        for k, v in sd.items():
            k = re.sub(r"^RRDB_trunk\.(\d+)\.RDB(\d)\.", r"body.\1.rdb\2.", k)
            k = k.replace("trunk_conv.", "conv_body.").replace("HRconv.", "conv_hr.")
            k = re.sub(r"^upconv(\d)\.", r"conv_up\1.", k)
            out[k] = v
        return out
    if "model.0.weight" in sd and "model.1.sub.0.RDB1.conv1.0.weight" in sd:  # the original
        out = {}
        subs = [int(m.group(1)) for k in sd if (m := re.match(r"model\.1\.sub\.(\d+)\.weight", k))]
        trunk = max(subs, default=-1)
        tail = sorted({int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.weight", k))})
        tail = [i for i in tail if i >= 2]  # after model.0 (conv_first) and model.1 (the body)
        names = {i: f"conv_up{n + 1}" for n, i in enumerate(tail[:-2])}
        if len(tail) >= 2:
            names[tail[-2]], names[tail[-1]] = "conv_hr", "conv_last"
        for k, v in sd.items():
            if k.startswith("model.0."):
                out["conv_first." + k.split(".")[-1]] = v
            elif m := re.match(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(\w+)$", k):
                out[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = v
            elif m := re.match(rf"model\.1\.sub\.{trunk}\.(\w+)$", k):
                out[f"conv_body.{m[1]}"] = v
            elif (m := re.match(r"model\.(\d+)\.(\w+)$", k)) and int(m[1]) in names:
                out[f"{names[int(m[1])]}.{m[2]}"] = v
            else:
                out[k] = v  # unknown: the strict load below names it
        return out
    return sd


def _rrdbnet(sd: dict[str, Tensor]) -> Architecture | None:
    sd = _esrgan_keys(sd)
    if "conv_first.weight" not in sd or "body.0.rdb1.conv1.weight" not in sd:
        return None
    if "conv_last.weight" not in sd or "conv_up1.weight" not in sd:
        return None
    blocks = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("body."))
    stages = sum(1 for k in sd if re.fullmatch(r"conv_up\d+\.weight", k))
    feat = int(sd["conv_first.weight"].shape[0])
    grow = int(sd["body.0.rdb1.conv1.weight"].shape[0])
    out_ch = int(sd["conv_last.weight"].shape[0])
    first_in = int(sd["conv_first.weight"].shape[1])
    unshuffle = math.isqrt(max(first_in // max(out_ch, 1), 1))
    in_ch = first_in // unshuffle**2
    if unshuffle not in (1, 2, 4) or in_ch * unshuffle**2 != first_in:
        return None
    scale = 2**stages // unshuffle
    if scale < 1:
        return None
    params = {
        "num_in_ch": in_ch,
        "num_out_ch": out_ch,
        "scale": scale,
        "num_feat": feat,
        "num_block": blocks,
        "num_grow_ch": grow,
        "stages": stages,
    }

    def build() -> nn.Module:
        net = RRDBNet(**params)
        net.load_state_dict(sd)
        return net

    return Architecture("RRDBNet", scale, build, params)


def _compact(sd: dict[str, Tensor]) -> Architecture | None:
    keys = set(sd)
    if not keys or not all(re.fullmatch(r"body\.\d+\.(weight|bias)", k) for k in keys):
        return None
    idx = sorted({int(k.split(".")[1]) for k in keys})
    last = idx[-1]
    if idx != list(range(last + 1)) or last % 2 or last < 2:
        return None
    if any(sd[f"body.{i}.weight"].dim() != 1 for i in range(1, last, 2)):
        return None  # not PReLU between the convolutions
    in_ch = int(sd["body.0.weight"].shape[1])
    feat = int(sd["body.0.weight"].shape[0])
    out = int(sd[f"body.{last}.weight"].shape[0])
    scale = math.isqrt(out // in_ch) if out % in_ch == 0 else 0
    if scale < 1 or scale * scale * in_ch != out:
        return None
    params = {
        "num_in_ch": in_ch,
        "num_out_ch": in_ch,
        "num_feat": feat,
        "num_conv": last // 2 - 1,
        "scale": scale,
    }

    def build() -> nn.Module:
        net = SRVGGNetCompact(**params)
        net.load_state_dict(sd)
        return net

    return Architecture("SRVGGNetCompact", scale, build, params)


def detect(state_dict: dict[str, Tensor]) -> Architecture | None:
    """The native architecture of a state dict (from its keys and shapes), or ``None``.

    :class:`RRDBNet` is recognised in its three key layouts (see the module docstring),
    :class:`SRVGGNetCompact` by its ``body.N`` keys; the hyperparameters and the scale come
    from the keys and the shapes.

    Args:
        state_dict: the tensors by name (as :func:`unwrap` returns them).

    Returns:
        An :class:`Architecture` (call its ``build`` for the module with the weights loaded),
        or ``None`` when the keys fit neither native architecture (see
        :func:`spandrel_model`).

    Shape:
        The tensors keep the shapes of the architecture's parameters (e.g.
        ``conv_first.weight``: ``(num_feat, num_in_ch * unshuffle**2, 3, 3)``); the built
        module maps ``(N, C, H, W)`` to ``(N, C, H * scale, W * scale)``.

    Example:
        >>> import torch
        >>> net = RRDBNet(scale=4, num_feat=4, num_block=1, num_grow_ch=2)
        >>> found = detect(net.state_dict())
        >>> found.name, found.scale, found.params["num_feat"]
        ('RRDBNet', 4, 4)
        >>> detect({"encoder.weight": torch.zeros(2, 2)}) is None
        True
    """
    for recognise in (_rrdbnet, _compact):
        found = recognise(state_dict)
        if found is not None:
            return found
    return None


def spandrel_model(path: str, state_dict: dict[str, Tensor]) -> tuple[nn.Module, int, str]:
    """The model spandrel builds from ``state_dict``: ``(module, scale, architecture name)``.

    For the architectures tconv does not run natively (:func:`detect` returns ``None``);
    spandrel is imported only here. Whether it (and the torchvision it imports) is installed
    depends on the environment, so the example shows only the state dict that comes here.

    Args:
        path: the checkpoint's path, for the messages only (the weights are ``state_dict``).
        state_dict: the tensors by name (as :func:`unwrap` returns them).

    Returns:
        ``(module in eval mode on the CPU, scale, spandrel's architecture name)``.

    Shape:
        The module maps ``(N, 3, H, W)`` to ``(N, 3, H * scale, W * scale)``.

    Raises:
        ImportError: spandrel, or the torchvision it imports, cannot be imported: one line
            naming which and how to fix it.
        ValueError: spandrel does not recognise the weights, or the model is not an image
            super-resolution model (3 channels in and out).

    Example:
        A state dict that goes to spandrel (neither RRDBNet nor SRVGGNetCompact):

        >>> import torch
        >>> detect({"encoder.weight": torch.zeros(2, 2)}) is None
        True
    """
    fix_tv = (
        "spandrel imports torchvision; install the build that matches your torch, e.g. for "
        "the CPU: pip install torchvision --index-url https://download.pytorch.org/whl/cpu "
        f"(PyPI's wheel is a CUDA build). Natively supported without it: RRDBNet (ESRGAN, "
        f"Real-ESRGAN), SRVGGNetCompact; {path!r} is neither"
    )
    try:
        import spandrel
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] == "torchvision":
            raise ImportError(f"torchvision is not installed: {fix_tv}") from None
        if err.name and err.name.split(".")[0] == "spandrel":
            raise ImportError(
                f"{path!r} is not an RRDBNet (ESRGAN, Real-ESRGAN) or SRVGGNetCompact "
                "checkpoint, the architectures tconv runs natively; for others install "
                "spandrel: pip install --no-deps spandrel && pip install 'tconv[models]' "
                "(and a torchvision for your torch)"
            ) from None
        raise ImportError(
            f"spandrel cannot be imported: module {err.name!r} is missing (pip install "
            f"{err.name}); it is needed for {path!r}"
        ) from None
    except Exception as err:  # a torchvision that does not match torch fails at import
        text = " ".join(str(err).split())[:160]
        raise ImportError(
            f"spandrel cannot be imported ({type(err).__name__}: {text}): torchvision does "
            f"not work with this torch; {fix_tv}"
        ) from None
    try:
        descriptor = spandrel.ModelLoader(device="cpu").load_from_state_dict(state_dict)
    except Exception as err:  # spandrel raises UnsupportedModelError and others
        text = " ".join(str(err).split())[:200]
        raise ValueError(
            f"checkpoint {path!r} is not a super-resolution model that tconv or spandrel "
            f"recognises: {text}"
        ) from None
    if descriptor.input_channels != 3 or descriptor.output_channels != 3:
        raise ValueError(
            f"checkpoint {path!r} is a {descriptor.architecture.name} model with "
            f"{descriptor.input_channels} channels in and {descriptor.output_channels} out: "
            "tconv upscale runs RGB models (3 in, 3 out)"
        )
    model = descriptor.model
    model.eval()
    return model, int(descriptor.scale), str(descriptor.architecture.name)


def third_party_model(path: str, obj: Any) -> tuple[nn.Module, int, dict[str, Any]]:
    """The SR model of what a third-party file held (see the module docstring).

    A native architecture (:func:`detect`) is built by tconv; anything else goes to
    :func:`spandrel_model`.

    Args:
        path: the checkpoint's path, for the messages only.
        obj: what the file held (:func:`read_weights`): a state dict, possibly wrapped (see
            :func:`unwrap`).

    Returns:
        ``(model in eval mode, scale, info)`` with ``info = {"task": "sr", "architecture",
        "source": "native" | "spandrel", "params"}``.

    Raises:
        ValueError: no state dict in the file, or weights that do not fit the recognised
            architecture.
        ImportError: see :func:`spandrel_model`.

    Example:
        >>> import os, tempfile, torch
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "compact.pth")
        ...     net = SRVGGNetCompact(num_feat=4, num_conv=1, scale=2)
        ...     torch.save({"params": net.state_dict()}, path)
        ...     model, scale, info = third_party_model(path, read_weights(path))
        >>> type(model).__name__, scale, info["source"], model(torch.rand(1, 3, 4, 5)).shape
        ('SRVGGNetCompact', 2, 'native', torch.Size([1, 3, 8, 10]))
        >>> third_party_model("notes.pth", {"epochs": 3})
        Traceback (most recent call last):
        ...
        ValueError: checkpoint 'notes.pth' holds no state dict (tensors by name): ...
    """
    if isinstance(obj, torch.jit.ScriptModule):
        raise ValueError(
            f"checkpoint {path!r} is a TorchScript module: tconv upscale --checkpoint reads "
            "state dicts (a tconv train sr checkpoint, ESRGAN/Real-ESRGAN .pth or "
            ".safetensors weights)"
        )
    sd = unwrap(obj)
    if sd is None:
        raise ValueError(
            f"checkpoint {path!r} holds no state dict (tensors by name): it is neither a "
            "tconv train sr checkpoint nor a super-resolution model's weights"
        )
    found = detect(sd)
    if found is None:
        model, scale, name = spandrel_model(path, sd)
        return model, scale, {"task": "sr", "architecture": name, "source": "spandrel"}
    try:
        model = found.build()
    except RuntimeError as err:  # missing/unexpected keys or shapes
        first = " ".join(str(err).split())[:200]
        raise ValueError(
            f"checkpoint {path!r} looks like {found.name} but its weights do not fit: {first}"
        ) from None
    model.eval()
    info = {
        "task": "sr",
        "architecture": found.name,
        "source": "native",
        "params": dict(found.params),
    }
    return model, found.scale, info
