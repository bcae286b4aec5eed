"""The upsampler registry (tconv.upsamplers): one meaning per name, every entry builds a module
that upsamples by its scale and reaches the sizes just below, and every user of upsamplers
(Upsample's modes, the training tasks, the checkerboard figure) takes its names from it."""

from __future__ import annotations

import pytest
import torch

from tconv import upsamplers
from tconv.blocks import UPSAMPLE_MODES, Upsample
from tconv.train import gan, seg, sr

NAMES = tuple(upsamplers.UPSAMPLERS)


def test_one_meaning_per_name():
    assert len(set(NAMES)) == len(NAMES)
    assert not set(upsamplers.ALIASES) & set(NAMES)  # an old spelling is not also an entry
    assert set(upsamplers.ALIASES.values()) <= set(NAMES)
    descriptions = [e.description for e in upsamplers.UPSAMPLERS.values()]
    assert len(set(descriptions)) == len(descriptions)
    assert all(d and "\n" not in d for d in descriptions)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("cin", "cout"), [(4, 4), (4, 2)])
def test_every_entry_upsamples_by_two_and_undoes_its_downsampling(name, cin, cout):
    torch.manual_seed(0)
    m = upsamplers.build(name, cin, cout, 2)
    x = torch.randn(2, cin, 5, 6)
    assert m(x).shape == (2, cout, 10, 12)
    # back to the size before the stride-2 convolution it mirrors, odd sizes included
    k, p = upsamplers.get(name).down
    for size in ((19, 20), (20, 19)):
        down = torch.nn.Conv2d(cout, cin, k, stride=2, padding=p)(torch.randn(1, cout, *size))
        assert m(down, output_size=size).shape == (1, cout, *size)
    no_bias = upsamplers.build(name, cin, cout, 2, bias=False)
    assert all(not n.endswith("bias") for n, _ in no_bias.named_parameters())


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
def test_upsample_modes_are_the_registry_entries_of_that_name(mode):
    torch.manual_seed(1)
    built = upsamplers.build(mode, 3, 2, (2, 3))
    torch.manual_seed(1)
    direct = Upsample(3, 2, (2, 3), mode)
    assert isinstance(built, Upsample) and repr(built) == repr(direct)
    x = torch.randn(1, 3, 4, 5)
    assert torch.equal(built(x), direct(x))


def test_the_fixed_kernels_say_what_they_are():
    # transposed_k3: the seed article's k3 s2 p1 op1; transposed_bilinear: exact bilinear
    k3 = upsamplers.build("transposed_k3", 1, 1)
    assert (k3.kernel_size, k3.stride, k3.padding, k3.output_padding) == (
        (3, 3),
        (2, 2),
        (1, 1),
        (1, 1),
    )
    bil = upsamplers.build("transposed_bilinear", 1, 1)
    x = torch.rand(1, 1, 6, 6)
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(bil(x)[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], atol=1e-6)


def test_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match=r"upsampler='fast' is invalid: valid upsamplers are"):
        upsamplers.build("fast", 1, 1)
    with pytest.raises(ValueError, match="upsampler 'transposed_k3': its init is fixed"):
        upsamplers.build("transposed_k3", 1, 1, 2, init="icnr")
    with pytest.raises(ValueError, match=r"scale=3 is invalid for upsampler 'transposed_k4'"):
        upsamplers.build("transposed_k4", 1, 1, 3)


def test_the_old_spelling_still_works():
    assert upsamplers.get("bilinear") is upsamplers.get("interpolate_bilinear")
    assert seg.SegConfig(upsampler="bilinear").upsampler == "interpolate_bilinear"
    assert gan.GanConfig(upsampler="bilinear").upsampler == "interpolate_bilinear"
    assert seg.UNet("bilinear", width=2, depth=1).upsampler == "interpolate_bilinear"


def test_the_tasks_compare_registry_entries():
    assert set(seg.UPSAMPLERS) <= set(NAMES)
    stages = set(sr.UPSAMPLERS) - {"example3", "bicubic"}  # whole models, not one stage
    assert stages <= set(NAMES)


def test_the_feature_map_tasks_compare_the_entries_marked_compared():
    marked = [e for e in upsamplers.UPSAMPLERS.values() if e.compared]
    assert len({e.compared for e in marked}) == len(marked)  # one place each in the tables
    # derived from the registry, not copied: the same tuple in both tasks, in the tables' order
    assert seg.UPSAMPLERS == gan.UPSAMPLERS == upsamplers.compared()
    assert seg.UPSAMPLERS == ("transposed_k2", "transposed_k3", "transposed_k4", "subpixel",
                              "resize_conv", "interpolate_bilinear")  # fmt: skip
    assert seg.SegTask.VARIANTS == gan.GanTask.VARIANTS == seg.UPSAMPLERS
