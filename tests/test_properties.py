"""Property tests: random shapes, dtypes, penalties and data against the reference."""

import numpy as np
import pytest
from conftest import AVAILABLE_BACKENDS
from hypothesis import given, settings
from hypothesis import strategies as st

import jsae_fast
from jsae_fast import reference

_penalties = st.fixed_dictionaries({
    "sparsity_target": st.floats(0.01, 0.99),
    "weight_decay": st.one_of(st.just(0.0), st.floats(1e-4, 1.0)),
    "sparsity_weight": st.one_of(st.just(0.0), st.floats(1e-3, 5.0)),
    "jacobian_weight": st.one_of(st.just(0.0), st.floats(1e-3, 5.0)),
})


@st.composite
def problems(draw):
    """Draw data in [0, 1] (with exact 0s and 1s) and parameters of a small JSAE."""
    m = draw(st.integers(1, 10))
    n = draw(st.integers(1, 6))
    s = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    tied = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    weight_scale = draw(st.floats(0.1, 4.0))
    rng = np.random.default_rng(seed)
    X = rng.random((m, n))
    X[rng.random((m, n)) < 0.2] = 0.0
    X[rng.random((m, n)) < 0.1] = 1.0
    params = jsae_fast.init_params(n, s, tied=tied, dtype=dtype, random_state=seed % 2**31)
    params["W"] = (params["W"] * weight_scale).astype(dtype)
    params["b"] = rng.normal(scale=2.0, size=s).astype(dtype)
    params["c"] = rng.normal(scale=2.0, size=n).astype(dtype)
    if not tied:
        params["V"] = (params["V"] * weight_scale).astype(dtype)
    return X.astype(dtype), params, draw(_penalties)


def _relative_error(actual, expected):
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    return float(np.max(np.abs(actual.astype(np.float64) - expected)) / scale)


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
@settings(max_examples=40, deadline=None)
@given(problem=problems())
def test_backend_agrees_with_reference(backend, problem):
    X, params, penalties = problem
    loss, grads = jsae_fast.loss_and_grad(X, **params, **penalties, backend=backend,
                                          n_threads=2)
    as64 = {k: None if v is None else v.astype(np.float64) for k, v in params.items()}
    ref_loss, ref_grads = reference.loss_and_grad(X.astype(np.float64), as64["W"], as64["b"],
                                                  as64["V"], as64["c"], **penalties)
    # Same budget as the fixed-shape tests: float64 agrees to rounding, float32
    # carries float32 rounding of sums of at most 10 terms.
    tol = 1e-9 if X.dtype == np.float64 else 1e-4
    assert loss >= 0
    assert abs(loss - ref_loss) <= tol * max(abs(ref_loss), 1.0)
    for name in "WbVc":
        if params[name] is None:
            assert grads[name] is None
            continue
        assert grads[name].dtype == X.dtype
        assert _relative_error(grads[name], ref_grads[name]) <= tol, name


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
@settings(max_examples=30, deadline=None)
@given(problem=problems())
def test_backend_gradient_matches_finite_differences(backend, problem):
    X, params, penalties = problem
    errors = jsae_fast.check_gradient(X, **params, **penalties, backend=backend, n_threads=1)
    # check_gradient differentiates in float64 whatever the dtype; the float32
    # analytic gradient adds float32 rounding.
    tol = 1e-5 if X.dtype == np.float64 else 1e-3
    for name, error in errors.items():
        assert error < tol, name
