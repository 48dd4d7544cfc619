"""Shared fixtures: available backends, penalty settings and the real-data folder."""

import os
from pathlib import Path

import numpy as np
import pytest

import jsae_fast

AVAILABLE_BACKENDS = [name for name, info in jsae_fast.backends().items() if info["available"]]

ALL_PENALTIES = {"sparsity_target": 0.2, "weight_decay": 0.01, "sparsity_weight": 2.0,
                 "jacobian_weight": 0.7}
NO_PENALTIES = {"sparsity_target": 0.2, "weight_decay": 0.0, "sparsity_weight": 0.0,
                "jacobian_weight": 0.0}


def real_data_home():
    """Return the folder of the real data sets, or None when it is absent."""
    env = os.environ.get("JSAE_FAST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@pytest.fixture(params=AVAILABLE_BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def data_home():
    path = real_data_home()
    if path is None:
        pytest.skip("real data sets not found: set JSAE_FAST_DATA or place them in ../shared/data")
    return path


def make_problem(m, n, s, *, tied=False, dtype=np.float64, seed=0):
    """Return random data in [0, 1] and parameters with non-zero biases."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, n)).astype(dtype)
    params = jsae_fast.init_params(n, s, tied=tied, dtype=dtype, random_state=seed)
    params["W"] *= 3  # larger weights make the sigmoid nonlinearity matter
    params["b"] = rng.normal(size=s).astype(dtype)
    params["c"] = rng.normal(size=n).astype(dtype)
    return X, params
