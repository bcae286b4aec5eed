"""Super-resolution models: what inference needs, apart from training.

- :mod:`tconv.sr.networks` -- SRNet (the project's design) and :mod:`tconv.sr.classic`
  (FSRCNN, ESPCN, EDSR), built by :func:`build_model`;
- :mod:`tconv.sr.ensembles` -- :class:`SelfEnsemble` and :class:`TwoPathX4`;
- :mod:`tconv.sr.checkpoint` -- tconv's checkpoint format and :func:`load_sr_model`;
- :mod:`tconv.sr.shipped` -- the shipped x2/x4 models and :func:`select_model`;
- :mod:`tconv.sr.thirdparty` -- ESRGAN/Real-ESRGAN checkpoints natively, others through
  spandrel (optional).

Both :mod:`tconv.upscaling` and ``tconv.train.sr`` import from here; nothing here imports
either.

Example:
    >>> import torch
    >>> build_model("subpixel", 2, width=8, depth=2)(torch.rand(1, 3, 4, 5)).shape
    torch.Size([1, 3, 8, 10])
"""

from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint
from .ensembles import SelfEnsemble, TwoPathX4
from .networks import ARCHS, SCALES, UPSAMPLERS, SRNet, build_model, model_from_config
from .shipped import (
    QUALITIES,
    SHIPPED_SCALES,
    load_sr_model,
    select_model,
    shipped_checkpoint,
    shipped_model,
)
from .thirdparty import RRDBNet, SRVGGNetCompact

__all__ = [
    "ARCHS",
    "CHECKPOINT_FORMAT",
    "QUALITIES",
    "SCALES",
    "SHIPPED_SCALES",
    "UPSAMPLERS",
    "RRDBNet",
    "SRNet",
    "SRVGGNetCompact",
    "SelfEnsemble",
    "TwoPathX4",
    "build_model",
    "load_checkpoint",
    "load_sr_model",
    "model_from_config",
    "select_model",
    "shipped_checkpoint",
    "shipped_model",
]
