"""Backwards-compatible name of :mod:`tconv.sr.classic` (the classic SR networks moved there).

>>> from tconv.train.sr_models import EDSR
>>> EDSR.__module__
'tconv.sr.classic'
"""

from ..sr.classic import ARCHS, CLASSIC_ARCHS, EDSR, ESPCN, FSRCNN, build_arch

__all__ = ["ARCHS", "CLASSIC_ARCHS", "EDSR", "ESPCN", "FSRCNN", "build_arch"]
