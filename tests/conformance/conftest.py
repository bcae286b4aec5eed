"""Conformance tests run the real frameworks on CPU: Keras 3 on its torch backend (no
TensorFlow), JAX/Flax on CPU, onnx's reference implementation and onnxruntime.

The environment is set before any framework is imported: Keras's backend and home, JAX's
platform, and a throw-away XDG cache (onnxruntime and friends write under ~/.cache).
"""

import os
import shutil
import tempfile

import pytest
import torch

_SCRATCH = tempfile.mkdtemp(prefix="tconv-conformance-")
os.environ["KERAS_BACKEND"] = "torch"
os.environ["KERAS_HOME"] = os.path.join(_SCRATCH, "keras")
os.environ["XDG_CACHE_HOME"] = os.path.join(_SCRATCH, "cache")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(autouse=True)
def _small_tensor_speed():
    """These tests run thousands of tiny convolutions: one thread and torch's plain CPU kernels
    (oneDNN's setup dominates at these sizes) keep them fast on a shared 2-core machine."""
    threads, mkldnn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    yield
    torch.backends.mkldnn.enabled = mkldnn
    torch.set_num_threads(threads)
