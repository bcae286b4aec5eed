"""tconv.interop.onnx against the onnx package's reference implementation (onnx.reference), its
conformance data, and onnxruntime (CPU, float32).

Each case matches the reference and onnxruntime within 1e-5, except where the two disagree with
each other; there the test checks that the implementation that differs does exactly what
docs/conventions.md says it does (so the documented deviations are verified, not assumed):

- onnxruntime, SAME_UPPER/SAME_LOWER with a negative total padding t: crop (0, -op) without
  output_shape (no extension: the output is not input * stride), (0, t - op) with it;
- the reference, NOTSET/VALID with output_shape: pads' begin as the start crop, output_padding
  ignored (it fails when output_shape < the full size);
- the reference, group > 1: not compared (it slices the weight by output channels).
"""

from __future__ import annotations

import math
import os
import pickle

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import tconv
from reference import torch_reaches
from tconv.interop.jax import to_lax
from tconv.interop.keras import keras_arguments
from tconv.interop.onnx import (
    OnnxConvTranspose1d,
    export,
    from_model,
    from_node,
    onnx_attributes,
    output_shape_crop,
)
from tconv.shapes import Geometry, ShapeError

ort.set_default_logger_severity(4)
_OPTIONS = ort.SessionOptions()
_OPTIONS.log_severity_level = 4
_OPTIONS.intra_op_num_threads = 1


def node_model(attrs, with_bias):
    inputs = ["X", "W", "B"] if with_bias else ["X", "W"]
    node = helper.make_node("ConvTranspose", inputs, ["Y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in inputs],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run_reference(model, feeds):
    try:
        return ReferenceEvaluator(model).run(None, feeds)[0]
    except Exception:  # the reference fails on some nodes (see the module docstring)
        return None


def run_onnxruntime(model, feeds):
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), _OPTIONS, providers=["CPUExecutionProvider"]
        )
        return session.run(None, feeds)[0]
    except Exception:  # onnxruntime refuses some nodes (e.g. output_shape too large)
        return None


def with_crop(x, w, b, attrs, crop):
    """tconv on explicit crops (the documented alternatives)."""
    rank = w.ndim - 2
    return tconv.conv_transpose(
        torch.from_numpy(x),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        attrs.get("strides", [1] * rank),
        crop,
        0,
        attrs.get("group", 1),
        attrs.get("dilations", [1] * rank),
    ).numpy()


def close(a, b):
    return (
        a is not None
        and b is not None
        and a.shape == b.shape
        and np.allclose(a, b, rtol=1e-5, atol=1e-5)
    )


STATS = {"reference": 0, "onnxruntime": 0, "onnxruntime_deviation": 0, "reference_deviation": 0}


def check_node(attrs, x, w, b=None):
    """from_node(node) against the reference and onnxruntime, deviations included."""
    rank = w.ndim - 2
    model = node_model(attrs, b is not None)
    module = from_node(model.graph.node[0], w, b)
    feeds = {"X": x, "W": w} | ({} if b is None else {"B": b})
    ours = module(torch.from_numpy(x)).detach().numpy()
    ref, rt = run_reference(model, feeds), run_onnxruntime(model, feeds)

    size = x.shape[2:]
    strides = attrs.get("strides", [1] * rank)
    dilations = attrs.get("dilations", [1] * rank)
    ops = attrs.get("output_padding", [0] * rank)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    geometry = Geometry.create(w.shape[2:], strides, 0, 0, dilations, rank=rank)
    full = geometry.full_size(size)
    same = Geometry.create(w.shape[2:], strides, "same", 0, dilations, rank=rank)
    targets = attrs.get("output_shape") or same.output_size(size)
    totals = [L + op - t for L, op, t in zip(full, ops, targets, strict=True)]
    group = attrs.get("group", 1)

    # onnxruntime: SAME with a negative total pads nothing
    if auto_pad in ("SAME_UPPER", "SAME_LOWER") and min(totals) < 0:
        alternative = tuple(
            (0, (t if "output_shape" in attrs else 0) - op)
            if t < 0
            else output_shape_crop(L, op, L + op - t, auto_pad)
            for L, op, t in zip(full, ops, totals, strict=True)
        )
        if rt is not None:
            assert close(rt, with_crop(x, w, b, attrs, alternative)), "onnxruntime deviation"
            STATS["onnxruntime_deviation"] += 1
            rt = None if not close(rt, ours) else rt
    # the reference: NOTSET/VALID with output_shape uses pads' begin and ignores output_padding
    if "output_shape" in attrs and auto_pad in ("NOTSET", "VALID") and ref is not None:
        begins = attrs.get("pads", [0] * 2 * rank)[:rank]
        alternative = tuple((p, L - p - t) for p, L, t in zip(begins, full, targets, strict=True))
        assert close(ref, with_crop(x, w, b, attrs, alternative)), "reference deviation"
        STATS["reference_deviation"] += 1
        ref = None if not close(ref, ours) else ref
    if group > 1:
        ref = None  # the reference computes groups wrongly (it slices W by output channels)

    if ref is not None:
        assert ref.shape == ours.shape, (ref.shape, ours.shape)
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
        STATS["reference"] += 1
    if rt is not None:
        assert rt.shape == ours.shape, (rt.shape, ours.shape)
        np.testing.assert_allclose(ours, rt, rtol=1e-5, atol=1e-5)
        STATS["onnxruntime"] += 1
    return ref is not None or rt is not None


def data(rng, cin, cout_g, kernel, size, batch=2):
    x = rng.standard_normal((batch, cin, *size)).astype("float32")
    w = rng.standard_normal((cin, cout_g, *kernel)) / math.sqrt(cin * math.prod(kernel))
    return x, w.astype("float32")


def settings_1d(kernel, stride, dilation, size):
    """Every attribute form for one dimension (the full length L decides output_shapes)."""
    full = Geometry.create(kernel, stride, 0, 0, dilation).full_size(size)[0]
    top = max(stride, dilation) - 1
    out = []
    for pads in ([0, 0], [1, 2], [2, 0], [0, -1], [-1, 1]):
        for op in sorted({0, top}):
            if full + op - sum(pads) >= 1:
                out.append({"pads": pads, "output_padding": [op]})
    for auto_pad in ("VALID", "SAME_UPPER", "SAME_LOWER"):
        for op in sorted({0, stride - 1}):
            out.append({"auto_pad": auto_pad, "output_padding": [op]})
    for auto_pad in ("NOTSET", "SAME_UPPER", "SAME_LOWER"):
        for target in (full - 2, full - 1, full + 1, full + stride - 1):
            if target >= 1:
                out.append({"auto_pad": auto_pad, "output_shape": [target]})
        out.append({"auto_pad": auto_pad, "output_shape": [full], "output_padding": [stride - 1]})
    return out


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel", range(1, 8))
def test_from_node_1d_every_attribute(kernel, stride):
    rng = np.random.default_rng(kernel * 10 + stride)
    checked = 0
    for dilation in (1, 2):
        size = 5 + (kernel + dilation) % 2
        x, w = data(rng, 2, 3, (kernel,), (size,))
        b = rng.standard_normal(3).astype("float32") if kernel % 2 else None
        for attrs in settings_1d(kernel, stride, dilation, size):
            attrs = dict(attrs, strides=[stride], dilations=[dilation])
            if attrs.get("auto_pad") == "NOTSET":
                del attrs["auto_pad"]
            checked += check_node(attrs, x, w, b)
    assert checked >= 40


CASES_ND = [
    dict(strides=[2, 3], pads=[1, 0, 2, 1], output_padding=[1, 0]),
    dict(strides=[3, 2], auto_pad="SAME_UPPER", dilations=[1, 2]),
    dict(strides=[2, 2], auto_pad="SAME_LOWER", output_padding=[1, 0]),
    dict(strides=[1, 4], auto_pad="VALID"),
    dict(strides=[2, 3], output_shape=[9, 13]),
    dict(strides=[2, 2], auto_pad="SAME_UPPER", output_shape=[10, 7]),
    dict(strides=[3, 1], auto_pad="SAME_LOWER", output_shape=[11, 6], output_padding=[2, 0]),
    dict(strides=[2, 1], pads=[0, 1, 1, 0], group=2),
    dict(strides=[2, 3], auto_pad="SAME_UPPER", group=3),
    dict(strides=[1, 2, 3], pads=[0, 1, 2, 1, 0, 0], output_padding=[0, 1, 2]),
    dict(strides=[2, 1, 2], auto_pad="SAME_LOWER", dilations=[1, 2, 1]),
    dict(strides=[2, 2, 1], output_shape=[7, 8, 5], group=2),
]
KERNELS = {2: (3, 4), 3: (2, 3, 3)}


@pytest.mark.parametrize("attrs", CASES_ND, ids=lambda a: "-".join(f"{k}{v}" for k, v in a.items()))
def test_from_node_2d_3d_and_groups(attrs):
    rank = len(attrs["strides"])
    group = attrs.get("group", 1)
    rng = np.random.default_rng(rank)
    kernel = KERNELS[rank]
    b = rng.standard_normal(2 * group).astype("float32")
    checked = []
    for size in ((4, 5, 3)[:rank], (3, 4, 4)[:rank]):  # odd and even
        x, w = data(rng, 2 * group, 2, kernel, size)
        checked.append(check_node(attrs, x, w, b))
    assert any(checked)  # (a fixed output_shape cannot suit every input size)


@st.composite
def node_settings(draw):
    rank = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 7 if rank < 3 else 4)) for _ in range(rank))
    strides = [draw(st.integers(1, 4)) for _ in range(rank)]
    dilations = [draw(st.integers(1, 2)) for _ in range(rank)]
    size = tuple(draw(st.integers(1, {1: 8, 2: 5, 3: 3}[rank])) for _ in range(rank))
    group = draw(st.sampled_from([1, 1, 2]))
    attrs = {"strides": strides, "dilations": dilations, "group": group}
    ops = [draw(st.integers(0, s - 1)) for s in strides]
    full = Geometry.create(kernel, strides, 0, 0, dilations).full_size(size)
    form = draw(st.sampled_from(["pads", "VALID", "SAME_UPPER", "SAME_LOWER", "output_shape"]))
    if form == "pads":
        pads = [draw(st.integers(-2, 3)) for _ in range(2 * rank)]
        pads = [
            p if full[j % rank] + ops[j % rank] - pads[j % rank] - pads[j % rank + rank] >= 1 else 0
            for j, p in enumerate(pads)
        ]
        attrs |= {"pads": pads, "output_padding": ops}
    elif form == "output_shape":
        attrs["output_shape"] = [
            max(1, L + draw(st.integers(-3, s - 1))) for L, s in zip(full, strides, strict=True)
        ]
        attrs["output_padding"] = ops
        attrs["auto_pad"] = draw(st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER"]))
    else:
        attrs |= {"auto_pad": form, "output_padding": ops}
    return kernel, size, attrs


@settings(max_examples=max(20, settings.default.max_examples))
@given(case=node_settings())
def test_from_node_over_the_whole_space(case):
    kernel, size, attrs = case
    group = attrs["group"]
    rng = np.random.default_rng(0)
    x, w = data(rng, 2 * group, 1 + len(size) % 2, kernel, size)
    check_node(attrs, x, w, rng.standard_normal(w.shape[1] * group).astype("float32"))


def test_onnx_conformance_data():
    """The onnx package's own ConvTranspose cases (inputs and expected outputs)."""
    from onnx.backend.test.case.node import convtranspose

    captured = []
    original = convtranspose.expect
    convtranspose.expect = lambda node, inputs, outputs, name, **kw: captured.append(
        (name, node, inputs, outputs)
    )
    try:
        for name in dir(convtranspose.ConvTranspose):
            if name.startswith("export"):
                getattr(convtranspose.ConvTranspose, name)()
    finally:
        convtranspose.expect = original
    assert len(captured) >= 10
    for name, node, inputs, outputs in captured:
        module = from_node(node, inputs[1], inputs[2] if len(inputs) > 2 else None)
        got = module(torch.from_numpy(inputs[0])).detach().numpy()
        assert got.shape == outputs[0].shape, name
        np.testing.assert_allclose(got, outputs[0], rtol=1e-5, atol=1e-5, err_msg=name)


def test_output_shape_module_follows_the_input_size():
    node = helper.make_node(
        "ConvTranspose", ["X", "W"], ["Y"], strides=[2], auto_pad="SAME_UPPER", output_shape=[10]
    )
    w = np.random.default_rng(0).standard_normal((2, 3, 3)).astype("float32")
    module = from_node(node, w)
    assert isinstance(module, OnnxConvTranspose1d)
    assert isinstance(module, tconv.nn.ConvTranspose1d)
    assert module.geometry_for(5).crop == ((0, 1),)
    assert module.geometry_for(4).crop == ((-1, 0),)  # reference: floor(-1 / 2) at the start
    for size in (4, 5, 6):
        x = np.random.default_rng(size).standard_normal((1, 2, size)).astype("float32")
        assert check_node({"strides": [2], "auto_pad": "SAME_UPPER", "output_shape": [10]}, x, w)
    again = pickle.loads(pickle.dumps(module))
    x = torch.randn(1, 2, 5)
    assert torch.equal(again(x), module(x))
    assert "output_shape=(10,), auto_pad=SAME_UPPER" in repr(module)
    with pytest.raises(ShapeError, match="fixed by the ONNX output_shape"):
        module(x, output_size=(10,))
    for convert in (keras_arguments, to_lax):  # no fixed padding says it: refuse, don't guess
        with pytest.raises(ShapeError, match="depends on the input size"):
            convert(module)


def test_from_node_names_bad_nodes():
    w = np.zeros((2, 2, 3), "float32")
    with pytest.raises(ShapeError, match="pads cannot be used together with auto_pad"):
        from_node(
            helper.make_node(
                "ConvTranspose", ["X", "W"], ["Y"], pads=[1, 1], auto_pad="SAME_UPPER"
            ),
            w,
        )
    with pytest.raises(ShapeError, match="kernel_shape=\\[4\\] disagrees"):
        from_node(helper.make_node("ConvTranspose", ["X", "W"], ["Y"], kernel_shape=[4]), w)
    with pytest.raises(ShapeError, match="output_padding=\\(2,\\) is invalid"):
        from_node(
            helper.make_node("ConvTranspose", ["X", "W"], ["Y"], strides=[2], output_padding=[2]), w
        )
    with pytest.raises(ValueError, match="bias input 'B'"):
        from_node(helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"]), w)
    with pytest.raises(ValueError, match="expected an onnx ConvTranspose node"):
        from_node(helper.make_node("Conv", ["X", "W"], ["Y"]), w)


# ---------------------------------------------------------------------------------------------
# export: tconv -> ONNX -> onnxruntime, and back


EXPORT_PADDINGS = [0, 1, 2, "same", "valid", "same_lower", ((0, -1),), ((1, 2),), ((2, 0),)]


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel", range(1, 8))
def test_export_1d_every_padding_runs_in_onnxruntime(kernel, stride, tmp_path):
    rng = np.random.default_rng(kernel + 100 * stride)
    exported = 0
    for dilation in (1, 2):
        for padding in EXPORT_PADDINGS:
            ops = range(stride) if isinstance(padding, int) else (0,)
            for op in ops:
                groups = 2 if (exported + op) % 3 == 0 else 1
                try:
                    module = tconv.nn.ConvTranspose1d(
                        2,
                        2 * groups,
                        kernel,
                        stride,
                        padding,
                        op,
                        groups=groups,
                        bias=exported % 2 == 0,
                        dilation=dilation,
                    )
                    module.geometry.output_size(4)
                except ShapeError:
                    continue
                with torch.no_grad():
                    module.weight.normal_(0, 1 / math.sqrt(2 * kernel))
                lo, hi = module.geometry.crop[0]
                example = torch.from_numpy(rng.standard_normal((2, 2, 5)).astype("float32"))
                if lo < 0 or -hi >= stride:
                    with pytest.raises(ShapeError, match="cannot be expressed by ONNX"):
                        export(module, None, example)
                    continue
                path = tmp_path / "m.onnx"
                export(module, path, example)
                session = ort.InferenceSession(
                    str(path), _OPTIONS, providers=["CPUExecutionProvider"]
                )
                for size in (4, 5, 6):  # any input size: the node's pads are fixed
                    x = torch.from_numpy(rng.standard_normal((1, 2, size)).astype("float32"))
                    got = session.run(None, {"input": x.numpy()})[0]
                    want = module(x).detach().numpy()
                    assert got.shape == want.shape
                    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
                    # torch -> ONNX -> torch: identical outputs
                    assert torch.equal(from_model(path)(x), module(x))
                exported += 1
    assert exported >= 8


def test_export_2d_3d_torch_and_output_shape_modules(tmp_path):
    modules = [
        tconv.nn.ConvTranspose2d(4, 6, (3, 4), stride=(2, 3), padding=((1, 0), (2, -2)), groups=2),
        tconv.nn.ConvTranspose3d(
            2, 3, (2, 3, 1), stride=(2, 1, 3), padding="same", dilation=(1, 2, 1)
        ),
        torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
        from_node(
            helper.make_node(
                "ConvTranspose",
                ["X", "W"],
                ["Y"],
                strides=[2, 2],
                auto_pad="SAME_LOWER",
                output_shape=[9, 8],
                output_padding=[1, 0],
            ),
            np.random.default_rng(0).standard_normal((3, 2, 3, 3)).astype("float32"),
        ),
    ]
    for module in modules:
        rank = len(module.kernel_size)
        x = torch.randn(2, module.in_channels, *(4, 5, 3)[:rank])
        path = tmp_path / "m.onnx"
        model = export(module, path, x)
        assert [n.op_type for n in model.graph.node] == ["ConvTranspose"]
        session = ort.InferenceSession(str(path), _OPTIONS, providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, module(x).detach().numpy(), rtol=1e-5, atol=1e-5)
        assert torch.equal(from_model(model)(x), module(x))


def test_export_names_what_onnx_cannot_express():
    x = torch.randn(1, 2, 5)
    with pytest.raises(ShapeError, match="extends the start with 1 zeros, but pads must be >= 0"):
        export(tconv.nn.ConvTranspose1d(2, 2, 3, padding=((-1, 0),)), None, x)
    with pytest.raises(ShapeError, match="output_padding must be smaller than stride=2"):
        export(tconv.nn.ConvTranspose1d(2, 2, 3, stride=2, padding=((0, -2),)), None, x)
    with pytest.raises(ShapeError, match="padding_mode='circular' cannot be expressed by ONNX"):
        export(tconv.nn.ConvTranspose1d(2, 2, 3, padding=1, padding_mode="circular"), None, x)
    with pytest.raises(ShapeError, match="ONNX has no unbatched form"):
        export(tconv.nn.ConvTranspose1d(2, 2, 3), None, x[0])
    # 'same' with a kernel span shorter than the stride zero-extends the end: output_padding
    attrs = onnx_attributes(tconv.nn.ConvTranspose1d(2, 2, 2, stride=4, padding="same"))
    assert attrs["pads"] == [0, 0] and attrs["output_padding"] == [2]


def test_onnx_is_installed_as_declared():
    assert onnx.__version__ and ort.__version__
    assert os.environ["XDG_CACHE_HOME"].startswith(os.path.dirname(os.environ["KERAS_HOME"]))


def test_where_the_two_onnx_implementations_refuse_or_accept():
    rng = np.random.default_rng(7)
    x, w = data(rng, 2, 2, (3,), (5,))
    feeds = {"X": x, "W": w}

    def both(**attrs):
        model = node_model(attrs, False)
        return run_reference(model, feeds), run_onnxruntime(model, feeds)

    # negative pads (outside the spec): both extend with zeros, as tconv does
    for pads in ([0, -2], [-1, 1]):
        ref, rt = both(strides=[2], pads=pads)
        want = with_crop(x, w, None, {"strides": [2]}, ((pads[0], pads[1]),))
        assert close(ref, want) and close(rt, want)
        module = from_node(node_model({"strides": [2], "pads": pads}, False).graph.node[0], w)
        assert close(module(torch.from_numpy(x)).detach().numpy(), want)
    # output_padding >= stride with a larger dilation: both refuse (PyTorch would not)
    assert both(strides=[2], dilations=[3], output_padding=[2]) == (None, None)
    # pads with auto_pad: onnxruntime refuses, the reference uses the pads
    ref, rt = both(strides=[2], pads=[1, 1], auto_pad="SAME_UPPER")
    assert rt is None and close(ref, with_crop(x, w, None, {"strides": [2]}, ((1, 1),)))
    # output_shape extending by the stride: onnxruntime refuses, the reference (SAME) and
    # tconv compute it
    full = Geometry.create(3, 2).full_size(5)[0]
    attrs = {"strides": [2], "auto_pad": "SAME_UPPER", "output_shape": [full + 2]}
    ref, rt = both(**attrs)
    assert rt is None and ref is not None
    assert check_node(attrs, x, w)
    # group 2 with 2 output channels per group: the reference fails or is wrong, onnxruntime
    # and tconv agree
    x2, w2 = data(rng, 4, 2, (3,), (5,))
    model = node_model({"strides": [2], "group": 2}, False)
    ref = run_reference(model, {"X": x2, "W": w2})
    ours = from_node(model.graph.node[0], w2)(torch.from_numpy(x2)).detach().numpy()
    assert not close(ref, ours)
    assert close(run_onnxruntime(model, {"X": x2, "W": w2}), ours)


SAME_OUT_OF_TORCH_REACH = {  # docs/conventions.md
    "SAME_UPPER": {
        (2, 1),
        (3, 2),
        (4, 1),
        (4, 3),
        (5, 2),
        (5, 4),
        (6, 1),
        (6, 3),
        (7, 2),
        (7, 4),
        (1, 2),
        (2, 3),
        (3, 4),
        (1, 3),
        (1, 4),
        (2, 4),
    },
    "SAME_LOWER": {(2, 1), (4, 1), (6, 1), (1, 3), (1, 4), (2, 4)},
}


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_which_onnx_same_nodes_pytorch_arguments_cannot_express(auto_pad):
    """Brute force over PyTorch's padding/output_padding against the reference's output."""
    rng = np.random.default_rng(8)
    for kernel in range(1, 8):
        for stride in range(1, 5):
            x, w = data(rng, 1, 1, (kernel,), (6,), batch=1)
            ref = run_reference(
                node_model({"strides": [stride], "auto_pad": auto_pad}, False), {"X": x, "W": w}
            )
            found = torch_reaches(x, torch.from_numpy(w), stride, ref)
            expected = (kernel, stride) not in SAME_OUT_OF_TORCH_REACH[auto_pad]
            assert found == expected, (kernel, stride)
