import os
import sys

import pytest
import torch
from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))

# Default: a small profile that keeps `make test` under 10 minutes on 2 cores.
# TCONV_HYPOTHESIS=thorough (make test-thorough) runs many more examples.
settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough",
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("TCONV_HYPOTHESIS", "default"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """sdist and wheel from `python -m build` (the wheel built from the unpacked sdist), once
    for the session: tests/test_wheel.py and tests/test_extras_alone.py share them."""
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(root)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("tconv-*.whl")
    (sdist,) = out.glob("tconv-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}
