"""Tests of the Numba kernel and its backend wrapper.

The kernel is checked against the naive reference and against finite
differences.  Most tests use ``block_rows=4``, so that chunks run several
blocks and the last chunk ends on a partial block.  Small ``cache_bytes``
values make pass 2 encode blocks again on small shapes.  Each dtype compiles once
per machine (10-25 s measured on a 2-core machine), and later runs load the
compiled code from the Numba cache.
"""

import importlib
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

nb = pytest.importorskip(
    "jsae_fast._numba_backend", reason="the numba backend cannot be imported"
)

import numba  # noqa: E402

from jsae_fast import _numpy_backend as numpy_backend  # noqa: E402
from jsae_fast import reference  # noqa: E402
from jsae_fast._model import KL_EPS  # noqa: E402

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
TIED = [pytest.param(False, id="untied"), pytest.param(True, id="tied")]
THREADS = [pytest.param(t, id=f"threads={t}") for t in (1, 2, 3)]

# (sparsity_target, weight_decay, sparsity_weight, jacobian_weight)
PENALTIES = {
    "none": (0.1, 0.0, 0.0, 0.0),
    "weight_decay": (0.1, 0.3, 0.0, 0.0),
    "sparsity": (0.05, 0.0, 2.0, 0.0),
    "jacobian": (0.1, 0.0, 0.0, 0.7),
    "all": (0.1, 0.3, 2.0, 0.7),
}
PENALTY_PARAMS = [pytest.param(v, id=k) for k, v in PENALTIES.items()]
ALL = PENALTIES["all"]

# (m, n, s): single sample, single input, single hidden unit, and a sample
# count that is not a multiple of the block size.
SHAPES = [
    pytest.param((1, 5, 3), id="m=1"),
    pytest.param((9, 1, 3), id="n=1"),
    pytest.param((9, 5, 1), id="s=1"),
    pytest.param((23, 7, 4), id="m=23"),
]

# Normalized error bounds against the float64 reference.  float64 differs
# only by summation order (observed about 1e-15).  float32 rounds inputs,
# products and stored activations at 6e-8 relative and sums up to n or
# block_rows such terms in BLAS, so a few 1e-7 is expected (observed 4e-7).
# 2e-5 leaves room for other BLAS kernels and still fails on any
# wrong term, which costs O(1).
TOL = {np.float64: 1e-10, np.float32: 2e-5}


def make_problem(m, n, s, dtype, tied, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    X = rng.random((m, n)).astype(dtype)
    W = (scale * rng.standard_normal((s, n))).astype(dtype)
    b = (scale * rng.standard_normal(s)).astype(dtype)
    V = None if tied else (scale * rng.standard_normal((n, s))).astype(dtype)
    c = (scale * rng.standard_normal(n)).astype(dtype)
    return X, W, b, V, c


def run_numba(problem, penalties, *, n_threads=1, block_rows=4,
              cache_bytes=nb.H_CACHE_BYTES):
    X, W, b, V, c = problem
    return nb.loss_and_grad(X, W, b, V, c, *penalties, n_threads,
                            block_rows=block_rows, cache_bytes=cache_bytes)


def partial_cache_bytes(problem, n_threads, block_rows=4):
    """Return a budget that keeps one block of ``H`` per chunk."""
    X, W = problem[:2]
    return n_threads * block_rows * W.shape[0] * X.itemsize


def run_reference(problem, penalties):
    X, W, b, V, c = problem
    p, lam, beta, gamma = penalties
    loss, grads = reference.loss_and_grad(
        X.astype(np.float64), W.astype(np.float64), b.astype(np.float64),
        None if V is None else V.astype(np.float64), c.astype(np.float64),
        sparsity_target=p, weight_decay=lam, sparsity_weight=beta,
        jacobian_weight=gamma,
    )
    return loss, grads["W"], grads["b"], grads["V"], grads["c"]


def normalized_error(actual, expected):
    """Return max |actual - expected| divided by max |expected|."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(float(np.max(np.abs(expected))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(np.asarray(actual, dtype=np.float64) - expected))) / scale


def assert_matches_reference(result, expected, dtype):
    loss, gW, gb, gV, gc = result
    ref_loss, ref_gW, ref_gb, ref_gV, ref_gc = expected
    tol = TOL[dtype]
    assert isinstance(loss, float)
    assert abs(loss - ref_loss) <= tol * abs(ref_loss)
    assert normalized_error(gW, ref_gW) <= tol
    assert normalized_error(gb, ref_gb) <= tol
    assert normalized_error(gc, ref_gc) <= tol
    if ref_gV is None:
        assert gV is None
    else:
        assert normalized_error(gV, ref_gV) <= tol


@pytest.mark.parametrize("penalties", PENALTY_PARAMS)
@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_matches_reference(dtype, tied, penalties):
    problem = make_problem(17, 6, 4, dtype, tied)
    result = run_numba(problem, penalties, n_threads=2)
    assert_matches_reference(result, run_reference(problem, penalties), dtype)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_edge_shapes(dtype, tied, shape, n_threads):
    problem = make_problem(*shape, dtype, tied, seed=1)
    result = run_numba(problem, ALL, n_threads=n_threads)
    assert_matches_reference(result, run_reference(problem, ALL), dtype)


# With cache_bytes=0 every block is encoded twice.  "partial" keeps one block
# per chunk, and the default keeps all of H for these shapes.
CACHE_MODES = [pytest.param("none", id="cache=none"),
               pytest.param("partial", id="cache=partial"),
               pytest.param("full", id="cache=full")]


def cache_bytes_for(mode, problem, n_threads):
    if mode == "none":
        return 0
    if mode == "partial":
        return partial_cache_bytes(problem, n_threads)
    return nb.H_CACHE_BYTES


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("cache_mode", CACHE_MODES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_h_cache_modes(dtype, tied, shape, cache_mode, n_threads):
    problem = make_problem(*shape, dtype, tied, seed=12)
    cache_bytes = cache_bytes_for(cache_mode, problem, n_threads)
    result = run_numba(problem, ALL, n_threads=n_threads, cache_bytes=cache_bytes)
    assert_matches_reference(result, run_reference(problem, ALL), dtype)


@pytest.mark.parametrize("penalties", PENALTY_PARAMS)
@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_penalties_without_h_cache(dtype, tied, penalties):
    # Penalties without the KL term take the one-pass path.  The others
    # encode every block in both passes.
    problem = make_problem(17, 6, 4, dtype, tied, seed=13)
    result = run_numba(problem, penalties, n_threads=2, cache_bytes=0)
    assert_matches_reference(result, run_reference(problem, penalties), dtype)


def test_partial_cache_covers_some_rows():
    # The "partial" mode above must leave rows to encode again at m=23.
    X, W = make_problem(23, 7, 4, np.float64, False)[:2]
    for n_threads in (1, 2):
        cache_bytes = partial_cache_bytes((X, W), n_threads)
        rows = nb._chunk_cache_rows(23, 4, 8, n_threads, 4, cache_bytes)
        assert rows == 4
        assert rows * n_threads < 23


@pytest.mark.parametrize("m", [1, 23, 256, 1000])
@pytest.mark.parametrize("n_chunks", [1, 2, 3])
@pytest.mark.parametrize("cache_bytes", [0, 100, 4096, 10**5, 10**7])
def test_chunk_cache_rows_within_budget(m, n_chunks, cache_bytes):
    s, itemsize, block_rows = 7, 4, 16
    rows = nb._chunk_cache_rows(m, s, itemsize, n_chunks, block_rows, cache_bytes)
    if m * s * itemsize <= cache_bytes:
        assert rows == m
    else:
        assert rows % block_rows == 0
        assert n_chunks * rows * s * itemsize <= cache_bytes
        # No further whole block per chunk would fit.
        assert n_chunks * (rows + block_rows) * s * itemsize > cache_bytes


@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_h_cache_modes_agree(dtype, tied):
    # Encoding a block again repeats the same products, so the results agree
    # with the cached ones to rounding.
    problem = make_problem(41, 6, 5, dtype, tied, seed=14)
    full = run_numba(problem, ALL, n_threads=2)
    tol = 1e-13 if dtype == np.float64 else 1e-6
    for cache_bytes in (0, partial_cache_bytes(problem, 2)):
        other = run_numba(problem, ALL, n_threads=2, cache_bytes=cache_bytes)
        assert abs(other[0] - full[0]) <= tol * abs(full[0])
        for a, b in zip(other[1:], full[1:]):
            if b is None:
                assert a is None
            else:
                assert normalized_error(a, b) <= tol


@pytest.mark.parametrize("tied", TIED)
def test_kernel_default_cache_exceeded(tied):
    # H of 6400 x 1000 float32 values is 25.6 MB, above the default budget,
    # so the default call encodes some blocks twice.  The per-sample loops of
    # the reference take about a minute at this size, so the expected values
    # come from the NumPy backend in float64, which the reference checks on
    # small shapes.
    m, n, s = 6400, 3, 1000
    assert m * s * 4 > nb.H_CACHE_BYTES
    rows = nb._chunk_cache_rows(m, s, 4, 2, nb.BLOCK_ROWS, nb.H_CACHE_BYTES)
    assert 0 < 2 * rows < m
    problem = make_problem(m, n, s, np.float32, tied, seed=15, scale=0.1)
    X, W, b, V, c = problem
    result = nb.loss_and_grad(X, W, b, V, c, *ALL, 2)
    as64 = [None if a is None else a.astype(np.float64) for a in problem]
    expected = numpy_backend.loss_and_grad(*as64, *ALL, 1)
    assert_matches_reference(result, expected, np.float32)


@pytest.mark.parametrize("block_rows", [1, 5, 256])
def test_kernel_block_sizes(block_rows):
    problem = make_problem(23, 7, 4, np.float64, False, seed=2)
    result = run_numba(problem, ALL, n_threads=2, block_rows=block_rows)
    assert_matches_reference(result, run_reference(problem, ALL), np.float64)


def test_kernel_more_threads_than_blocks():
    problem = make_problem(5, 7, 4, np.float64, False, seed=3)
    result = run_numba(problem, ALL, n_threads=3, block_rows=4)
    assert_matches_reference(result, run_reference(problem, ALL), np.float64)


def test_kernel_default_block_size():
    problem = make_problem(300, 6, 4, np.float64, True, seed=4)
    X, W, b, V, c = problem
    result = nb.loss_and_grad(X, W, b, V, c, *ALL, 2)
    assert_matches_reference(result, run_reference(problem, ALL), np.float64)


def test_kernel_sparsity_clip_active():
    # Very negative biases drive some mean activations below KL_EPS, where the
    # KL term is clipped and contributes no gradient.
    X, W, b, V, c = make_problem(11, 5, 4, np.float64, False, seed=5)
    b[:2] = -60.0
    problem = (X, W, b, V, c)
    rho_hat = 1.0 / (1.0 + np.exp(-(X @ W.T + b)))
    assert np.any(rho_hat.mean(axis=0) < KL_EPS)
    result = run_numba(problem, ALL, n_threads=2)
    assert_matches_reference(result, run_reference(problem, ALL), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_saturated_units(dtype):
    # Inputs of the sigmoid far beyond +-40 must neither overflow nor warn.
    problem = make_problem(9, 5, 3, dtype, False, seed=6, scale=80.0)
    with np.errstate(all="raise"):
        result = run_numba(problem, ALL, n_threads=2)
    assert np.isfinite(result[0])
    for grad in result[1:]:
        assert np.all(np.isfinite(grad))
    assert_matches_reference(result, run_reference(problem, ALL), dtype)


@pytest.mark.parametrize("tied", TIED)
def test_kernel_finite_differences(tied):
    problem = make_problem(7, 4, 3, np.float64, tied, seed=7)
    loss, *grads = run_numba(problem, ALL, n_threads=2)
    names = ["W", "b", "V", "c"]
    params = dict(zip(names, problem[1:]))
    rng = np.random.default_rng(0)
    eps = 1e-6
    for name, grad in zip(names, grads):
        if params[name] is None:
            assert grad is None
            continue
        for flat in rng.choice(params[name].size, size=min(6, params[name].size),
                               replace=False):
            index = np.unravel_index(flat, params[name].shape)
            losses = []
            for step in (eps, -eps):
                shifted = {k: (None if v is None else v.copy()) for k, v in params.items()}
                shifted[name][index] += step
                shifted_problem = (problem[0], shifted["W"], shifted["b"],
                                   shifted["V"], shifted["c"])
                losses.append(run_numba(shifted_problem, ALL, n_threads=2)[0])
            numeric = (losses[0] - losses[1]) / (2 * eps)
            assert abs(grad[index] - numeric) <= 1e-6 * max(1.0, abs(numeric)), (name, index)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_bitwise_reproducible(dtype, n_threads):
    problem = make_problem(41, 6, 5, dtype, False, seed=8)
    first = run_numba(problem, ALL, n_threads=n_threads)
    second = run_numba(problem, ALL, n_threads=n_threads)
    assert first[0] == second[0]
    for a, b in zip(first[1:], second[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_thread_counts_agree(dtype):
    problem = make_problem(41, 6, 5, dtype, True, seed=9)
    single = run_numba(problem, ALL, n_threads=1)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for n_threads in (2, 3):
        other = run_numba(problem, ALL, n_threads=n_threads)
        assert abs(other[0] - single[0]) <= tol * abs(single[0])
        for a, b in zip(other[1:], single[1:]):
            if b is None:
                assert a is None
            else:
                assert normalized_error(a, b) <= tol


@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_returns_new_arrays_in_input_dtype(dtype, tied):
    problem = make_problem(13, 6, 4, dtype, tied, seed=10)
    copies = [None if a is None else a.copy() for a in problem]
    loss, gW, gb, gV, gc = run_numba(problem, ALL, n_threads=2)

    for original, copy in zip(problem, copies):
        if copy is not None:
            np.testing.assert_array_equal(original, copy)
    X, W, b, V, c = problem
    expected = [(gW, W), (gb, b), (gc, c)] + ([] if tied else [(gV, V)])
    for grad, param in expected:
        assert grad.dtype == dtype
        assert grad.shape == param.shape
        assert grad.flags.c_contiguous
        for array in problem:
            if array is not None:
                assert not np.shares_memory(grad, array)
    if tied:
        assert gV is None


def test_kernel_concurrent_python_threads():
    # Parallel kernels launched from two Python threads at once must not
    # crash the threading layer or mix up their results.
    problems = [make_problem(40, 6, 4, np.float64, tied, seed=11) for tied in (False, True)]
    expected = [run_numba(problem, ALL, n_threads=2) for problem in problems]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run_numba, problems[k % 2], ALL, n_threads=2)
                   for k in range(8)]
        results = [future.result() for future in futures]
    for k, result in enumerate(results):
        assert result[0] == expected[k % 2][0]
        np.testing.assert_array_equal(result[1], expected[k % 2][1])


def test_kernel_restores_numba_threads():
    problem = make_problem(9, 5, 3, np.float64, False)
    before = numba.get_num_threads()
    run_numba(problem, ALL, n_threads=1)
    assert numba.get_num_threads() == before


@pytest.mark.parametrize(
    "change, match",
    [
        pytest.param(lambda p: (p[0].astype(np.float32),) + p[1:], "dtype",
                     id="mixed-dtype"),
        pytest.param(lambda p: (p[0].astype(np.int64),) + p[1:], "float32 or float64",
                     id="integer-X"),
        pytest.param(lambda p: (p[0], p[1], p[2][:-1], p[3], p[4]), "b has shape",
                     id="short-b"),
        pytest.param(lambda p: (p[0], p[1], p[2], p[3][:, :-1].copy(), p[4]),
                     "V has shape", id="narrow-V"),
        pytest.param(lambda p: (np.asfortranarray(p[0]),) + p[1:], "C-contiguous",
                     id="fortran-X"),
        pytest.param(lambda p: (p[0][:0],) + p[1:], "at least one row",
                     id="empty-X"),
    ],
)
def test_kernel_rejects_bad_arrays(change, match):
    problem = change(make_problem(9, 5, 3, np.float64, False))
    with pytest.raises(ValueError, match=match):
        run_numba(problem, ALL)


@pytest.mark.parametrize("name, value", [("n_threads", 0), ("block_rows", 0),
                                         ("block_rows", 2.5), ("n_threads", True),
                                         ("cache_bytes", -1), ("cache_bytes", 2.5),
                                         ("cache_bytes", True)])
def test_kernel_rejects_bad_counts(name, value):
    X, W, b, V, c = make_problem(9, 5, 3, np.float64, False)
    kwargs = {"n_threads": 1, "block_rows": 4, "cache_bytes": 0, name: value}
    with pytest.raises(ValueError, match=name):
        nb.loss_and_grad(X, W, b, V, c, *ALL, kwargs["n_threads"],
                         block_rows=kwargs["block_rows"],
                         cache_bytes=kwargs["cache_bytes"])


def test_exp_matches_numpy():
    @numba.njit
    def exp_all(t, out):
        for i in range(t.shape[0]):
            out[i] = nb._exp_nonpositive(t[i])

    t = -np.concatenate([np.linspace(0.0, 1.0, 1001), np.geomspace(1.0, 700.0, 5001)])
    out = np.empty_like(t)
    exp_all(t, out)
    np.testing.assert_allclose(out, np.exp(t), rtol=1e-14, atol=0)

    special = np.array([-0.0, -708.0, -1000.0, -np.inf, np.nan])
    out = np.empty_like(special)
    exp_all(special, out)
    assert out[0] == 1.0
    assert 0.0 < out[2] < 1e-300
    assert 0.0 < out[3] < 1e-300
    assert np.isnan(out[4])


def test_import_without_numba_raises(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "jsae_fast._numba_backend")
    with pytest.raises(ImportError, match="needs the 'numba' package"):
        importlib.import_module("jsae_fast._numba_backend")
