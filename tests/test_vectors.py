"""The optimizer's vector passes: compiled against NumPy and exact float64 sums."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsae_fast import _lbfgs, _vectors
from jsae_fast._threads import blas_limits

compiled_only = pytest.mark.skipif(not _vectors.COMPILED,
                                   reason="jsae_fast._vector_ops was not built")
OPS = [pytest.param(False, id="numpy"), pytest.param(True, id="compiled",
                                                     marks=compiled_only)]
DTYPES = [np.float32, np.float64]
CHUNK = 8192
# Lengths around the chunk and lane boundaries of the compiled module.
LENGTHS = [0, 1, 7, 8, 9, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]


def _vector(rng, n, dtype):
    return rng.standard_normal(n).astype(dtype)


def _rounded_products(a, b):
    # What both versions sum: products rounded to the input type.
    return np.multiply(a, b).astype(np.float64)


def _sum_tolerance(terms, dtype):
    # Float64 terms are summed in float64. The compiled rows_dot sums each
    # chunk in the input type, so float32 gets float32 slack.
    eps = np.finfo(dtype).eps if dtype == np.float32 else np.finfo(np.float64).eps
    return 4 * eps * np.abs(terms).sum() * max(1, np.sqrt(len(terms))) + 1e-300


@pytest.mark.parametrize("compiled", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", LENGTHS)
def test_dot_matches_float64_sum(compiled, dtype, n):
    ops = _vectors.get(compiled)
    rng = np.random.default_rng(n)
    a, b = _vector(rng, n, dtype), _vector(rng, n, dtype)
    exact = _rounded_products(a, b)
    got = ops.dot(a, b, 2)
    assert isinstance(got, float)
    assert abs(got - exact.sum()) <= 64 * np.finfo(np.float64).eps * np.abs(exact).sum() + 1e-300


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 9, CHUNK + 1])
def test_all_finite_finds_every_bad_value(dtype, n):
    # Both namespaces share NumPy's finiteness check.
    ops = _vectors.get()
    assert ops.all_finite is _vectors.NUMPY_OPS.all_finite
    a = np.ones(n, dtype=dtype)
    assert ops.all_finite(a, 2)
    for bad in (np.nan, np.inf, -np.inf):
        for where in {0, n // 2, n - 1}:
            b = a.copy()
            b[where] = bad
            assert not ops.all_finite(b, 2), (bad, where)
    # Large finite values are finite, also where their sum would overflow.
    big = np.full(n, np.finfo(dtype).max, dtype=dtype)
    assert ops.all_finite(big, 2)


@pytest.mark.parametrize("compiled", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", LENGTHS)
def test_step_point_rounds_like_numpy(compiled, dtype, n):
    ops = _vectors.get(compiled)
    rng = np.random.default_rng(n + 1)
    x, d = _vector(rng, n, dtype), _vector(rng, n, dtype)
    out = np.full(n, np.nan, dtype=dtype)
    ops.step_point(x, d, 0.37, out, 2)
    expected = d * dtype(0.37)
    expected += x
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("compiled", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", LENGTHS)
def test_curvature_pair(compiled, dtype, n):
    ops = _vectors.get(compiled)
    rng = np.random.default_rng(n + 2)
    x_new, x, g_new, g = (_vector(rng, n, dtype) for _ in range(4))
    s, y = np.empty(n, dtype), np.empty(n, dtype)
    sy, yy = ops.curvature_pair(x_new, x, g_new, g, s, y, 2)
    np.testing.assert_array_equal(s, x_new - x)
    np.testing.assert_array_equal(y, g_new - g)
    for got, terms in ((sy, _rounded_products(s, y)), (yy, _rounded_products(y, y))):
        bound = 64 * np.finfo(np.float64).eps * np.abs(terms).sum() + 1e-300
        assert abs(got - terms.sum()) <= bound


@pytest.mark.parametrize("compiled", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [0, 1, 2, 20])
@pytest.mark.parametrize("n", [0, 1, 9, CHUNK + 1, 3 * CHUNK + 5])
def test_rows_dot_and_combine_rows(compiled, dtype, rows, n):
    ops = _vectors.get(compiled)
    rng = np.random.default_rng(rows * 1000 + n)
    H = rng.standard_normal((rows, n)).astype(dtype)
    v = _vector(rng, n, dtype)
    with blas_limits(1):
        products = ops.rows_dot(H, v, 2)
    assert products.dtype == np.float64
    assert products.shape == (rows,)
    for r in range(rows):
        terms = _rounded_products(H[r], v)
        assert abs(products[r] - terms.sum()) <= _sum_tolerance(terms, dtype)

    coefficients = rng.standard_normal(rows)
    out = np.full(n, np.nan, dtype=dtype)
    with blas_limits(1):
        ops.combine_rows(H, coefficients, v, -0.5, out, 2)
    exact = -0.5 * v.astype(np.float64) + H.T.astype(np.float64) @ coefficients
    scale = np.abs(v).astype(np.float64) + np.abs(H.T).astype(np.float64) @ np.abs(coefficients)
    eps = np.finfo(dtype).eps
    np.testing.assert_array_less(np.abs(out - exact), 4 * (rows + 2) * eps * scale + 1e-300)


@compiled_only
@pytest.mark.parametrize("dtype", DTYPES)
def test_compiled_passes_ignore_thread_count(dtype):
    ops = _vectors.get(True)
    rng = np.random.default_rng(7)
    n = 5 * CHUNK + 3
    a, b = _vector(rng, n, dtype), _vector(rng, n, dtype)
    H = rng.standard_normal((6, n)).astype(dtype)
    coefficients = rng.standard_normal(6)
    results = []
    for threads in (1, 2, 3):
        s, y, out = (np.empty(n, dtype) for _ in range(3))
        with blas_limits(1):
            pair = ops.curvature_pair(a, b, b, a, s, y, threads)
            products = ops.rows_dot(H, a, threads)
            ops.combine_rows(H, coefficients, a, 2.0, out, threads)
        results.append((ops.dot(a, b, threads), pair, products.tobytes(), out.tobytes()))
    assert results[0] == results[1] == results[2]


@compiled_only
@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 3 * CHUNK), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from(DTYPES))
def test_compiled_dot_agrees_with_numpy_for_any_length(n, seed, dtype):
    rng = np.random.default_rng(seed)
    a, b = _vector(rng, n, dtype), _vector(rng, n, dtype)
    compiled = _vectors.get(True).dot(a, b, 2)
    reference = _vectors.get(False).dot(a, b, 2)
    terms = _rounded_products(a, b)
    bound = 128 * np.finfo(np.float64).eps * np.abs(terms).sum() + 1e-300
    assert abs(compiled - reference) <= bound


@compiled_only
def test_compiled_functions_reject_mismatched_shapes():
    ops = _vectors.get(True)
    a, b = np.zeros(5), np.zeros(6)
    with pytest.raises(ValueError, match="b has 6 elements, expected 5"):
        ops.dot(a, b)
    with pytest.raises(ValueError, match="out has 6 elements, expected 5"):
        ops.step_point(a, a, 1.0, b)
    with pytest.raises(ValueError, match="y has 6 elements, expected 5"):
        ops.curvature_pair(a, a, a, a, a.copy(), b)
    with pytest.raises(ValueError, match="H has 5 columns but v has 6 elements"):
        ops.rows_dot(np.zeros((2, 5)), b)
    with pytest.raises(ValueError, match="H has 2 rows but there are 3 coefficients"):
        ops.combine_rows(np.zeros((2, 5)), np.zeros(3), a, 1.0, a.copy())
    with pytest.raises(ValueError, match="n_threads must be >= 1, got 0"):
        ops.dot(a, a, 0)
    # Mixed dtypes and non-contiguous views never reach the loops.
    with pytest.raises((TypeError, ValueError)):
        ops.dot(a, a.astype(np.float32))
    with pytest.raises(ValueError):
        ops.dot(np.zeros(10)[::2], a)


def test_get_rejects_a_missing_compiled_module(monkeypatch):
    monkeypatch.setattr(_vectors, "COMPILED_OPS", None)
    with pytest.raises(ImportError, match="reinstall jsae_fast with a C compiler"):
        _vectors.get(True)
    assert _vectors.get() is _vectors.NUMPY_OPS


@pytest.mark.parametrize("compiled", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_lbfgs_solves_a_quadratic_with_either_version(compiled, dtype):
    rng = np.random.default_rng(3)
    n = CHUNK + 17
    scales = rng.uniform(0.5, 4.0, n).astype(dtype)
    target = rng.standard_normal(n).astype(dtype)

    def fun(x):
        r = x - target
        return float(0.5 * np.dot((scales * r).astype(np.float64), r)), scales * r

    with blas_limits(1):
        result = _lbfgs.minimize(fun, np.zeros(n, dtype=dtype), tol=0.0, max_iter=60,
                                 n_threads=2, compiled=compiled)
    assert result.x.dtype == dtype
    tolerance = 1e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(result.x, target, atol=tolerance)


@compiled_only
def test_lbfgs_iterates_agree_between_versions():
    # The two versions sum in different orders, so they agree within
    # rounding over a few iterations of a well-conditioned problem.
    rng = np.random.default_rng(4)
    n = 2 * CHUNK + 3
    scales = rng.uniform(1.0, 3.0, n)
    target = rng.standard_normal(n)

    def fun(x):
        r = x - target
        return float(0.5 * np.dot(scales * r, r)), scales * r

    runs = [_lbfgs.minimize(fun, np.zeros(n), tol=0.0, max_iter=8, compiled=flag)
            for flag in (False, True)]
    assert runs[0].n_iter == runs[1].n_iter == 8
    np.testing.assert_allclose(runs[0].x, runs[1].x, rtol=1e-10, atol=1e-12)
