"""Tests of the compiled Cython kernel and its backend wrapper.

The kernel is checked against the naive reference and against finite
differences, with block sizes small enough that every test runs several blocks
per thread, ends on a partial block, and exercises the one-pass, cached and
recomputing paths.  The public API is tested generically elsewhere; these
tests call ``jsae_fast._jsae_kernels.loss_and_grad`` directly so that
``block_size`` and ``cache_bytes`` can be varied.  The last section repeats
the main checks on every instruction-set build that exists and runs on this
CPU (the AVX2 and AVX-512 builds on x86-64), compares the builds with each other, and
tests how the backend chooses among them.
"""

import importlib
import logging
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import expit
from threadpoolctl import threadpool_info

kernels = pytest.importorskip(
    "jsae_fast._jsae_kernels", reason="the Cython extension is not built"
)

from jsae_fast import _cython_backend, reference  # noqa: E402
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

# Block layouts as (block_size, cache_bytes): one block per thread with H
# cached, several blocks with nothing cached, and several blocks with only
# the first block of H cached (the others encoded twice).
LAYOUTS = [
    pytest.param((256, 1 << 20), id="large-blocks"),
    pytest.param((4, 0), id="blocks=4-no-cache"),
    pytest.param((3, 3 * 5 * 8), id="blocks=3-partial-cache"),
]


def make_problem(m, n, s, dtype, tied, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    X = rng.random((m, n)).astype(dtype)
    W = (scale * rng.standard_normal((s, n))).astype(dtype)
    b = (scale * rng.standard_normal(s)).astype(dtype)
    V = None if tied else (scale * rng.standard_normal((n, s))).astype(dtype)
    c = (scale * rng.standard_normal(n)).astype(dtype)
    return X, W, b, V, c


def run_kernel(problem, penalties, *, n_threads=1, block_size=4, cache_bytes=1 << 20,
               module=kernels):
    X, W, b, V, c = problem
    return module.loss_and_grad(
        X, W, b, V, c, *penalties,
        block_size=block_size, cache_bytes=cache_bytes, n_threads=n_threads,
    )


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


def assert_matches(result, expected, rtol):
    names = ("loss", "gW", "gb", "gV", "gc")
    for name, got, want in zip(names, result, expected):
        if want is None:
            assert got is None, f"{name} should be None for tied weights"
            continue
        err = normalized_error(got, want)
        assert err <= rtol, f"{name}: normalized error {err:.3g} > {rtol:.3g}"


# ---------------------------------------------------------------------------
# Agreement with the reference


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("penalties", PENALTY_PARAMS)
@pytest.mark.parametrize("tied", TIED)
def test_kernel_float64_matches_reference(tied, penalties, n_threads, layout):
    block_size, cache_bytes = layout
    problem = make_problem(23, 7, 5, np.float64, tied)
    result = run_kernel(problem, penalties, n_threads=n_threads,
                        block_size=block_size, cache_bytes=cache_bytes)
    # Both compute in float64; the reference builds explicit Jacobians, so
    # only rounding separates them.
    assert_matches(result, run_reference(problem, penalties), rtol=1e-8)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("penalties", PENALTY_PARAMS)
@pytest.mark.parametrize("tied", TIED)
def test_kernel_float32_matches_reference(tied, penalties, n_threads):
    problem = make_problem(29, 9, 6, np.float32, tied)
    result = run_kernel(problem, penalties, n_threads=n_threads, block_size=4)
    for array in result[1:]:
        assert array is None or array.dtype == np.float32
    # The reference receives the same float32 values converted to float64.  The kernel
    # rounds every product and activation to float32 (eps = 6e-8); errors
    # grow with the summation lengths (at most m = 29 here) and pass through
    # three chained products, which stays well below 1e-4, while a wrong
    # term would be off by order one.
    assert_matches(result, run_reference(problem, penalties), rtol=1e-4)


@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize(
    "shape",
    [(1, 1, 1), (1, 6, 3), (7, 1, 2), (5, 4, 1), (2, 3, 2), (10, 3, 4)],
    ids=lambda shape: "m={},n={},s={}".format(*shape),
)
@pytest.mark.parametrize("n_threads", THREADS)
def test_kernel_edge_shapes_match_reference(shape, tied, n_threads):
    # m = 1 or 2 leaves threads without a block; m = 10 with blocks of 3
    # ends on a block of one row.
    problem = make_problem(*shape, np.float64, tied, seed=3)
    penalties = PENALTIES["all"]
    result = run_kernel(problem, penalties, n_threads=n_threads, block_size=3,
                        cache_bytes=8)
    assert_matches(result, run_reference(problem, penalties), rtol=1e-8)


@pytest.mark.parametrize("tied", TIED)
def test_kernel_saturated_units_match_reference(tied):
    # Large weights push pre-activations to +-hundreds: the sigmoids saturate
    # without overflow, and a bias of +40 drives rho_hat of unit 0 to 1 so
    # the KL clip is active there (zero KL gradient for that unit).
    problem = make_problem(12, 5, 4, np.float64, tied, seed=5, scale=60.0)
    X, W, b, V, c = problem
    b[0] = 40.0
    W[0] = np.abs(W[0])
    penalties = PENALTIES["all"]
    with np.errstate(all="raise"):
        result = run_kernel((X, W, b, V, c), penalties, n_threads=2, block_size=5)
    assert all(np.all(np.isfinite(a)) for a in result if a is not None)
    rho_hat_0 = expit(X @ W[0] + b[0]).mean()
    assert rho_hat_0 >= 1 - KL_EPS
    assert_matches(result, run_reference((X, W, b, V, c), penalties), rtol=1e-8)


# ---------------------------------------------------------------------------
# Finite differences


@pytest.mark.parametrize("penalties", PENALTY_PARAMS)
@pytest.mark.parametrize("tied", TIED)
def test_kernel_gradient_matches_finite_differences(tied, penalties):
    X, W, b, V, c = make_problem(9, 4, 3, np.float64, tied, seed=7)
    params = {"W": W, "b": b, "c": c}
    if not tied:
        params["V"] = V
    result = run_kernel((X, W, b, V, c), penalties, n_threads=2, block_size=2,
                        cache_bytes=3 * 8)
    analytic = dict(zip(("W", "b", "V", "c"), result[1:]))

    step = 1e-6
    for name, array in params.items():
        numeric = np.empty_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + step
            loss_plus = run_kernel((X, W, b, V, c), penalties, block_size=2)[0]
            array[index] = saved - step
            loss_minus = run_kernel((X, W, b, V, c), penalties, block_size=2)[0]
            array[index] = saved
            numeric[index] = (loss_plus - loss_minus) / (2 * step)
        # Central differences with step 1e-6 on an O(1) smooth cost are
        # accurate to about 1e-9 absolute.
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-5, atol=1e-8,
                                   err_msg=f"gradient of {name}")


# ---------------------------------------------------------------------------
# Threads, blocks and caching


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tied", TIED)
def test_kernel_thread_counts_agree(tied, dtype):
    problem = make_problem(200, 12, 7, dtype, tied, seed=11)
    penalties = PENALTIES["all"]
    results = {t: run_kernel(problem, penalties, n_threads=t, block_size=16)
               for t in (1, 2, 3)}
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for t in (2, 3):
        assert_matches(results[t], results[1], rtol=rtol)


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_fixed_threads_bitwise_reproducible(dtype, n_threads):
    problem = make_problem(300, 16, 9, dtype, False, seed=13)
    penalties = PENALTIES["all"]
    first = run_kernel(problem, penalties, n_threads=n_threads, block_size=8,
                       cache_bytes=9 * 64 * np.dtype(dtype).itemsize)
    for _ in range(3):
        again = run_kernel(problem, penalties, n_threads=n_threads, block_size=8,
                           cache_bytes=9 * 64 * np.dtype(dtype).itemsize)
        assert again[0] == first[0]
        for got, want in zip(again[1:], first[1:]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_cache_budget_does_not_change_result(dtype, tied):
    problem = make_problem(50, 10, 6, dtype, tied, seed=17)
    penalties = PENALTIES["all"]
    itemsize = np.dtype(dtype).itemsize
    full = run_kernel(problem, penalties, n_threads=2, block_size=7,
                      cache_bytes=50 * 6 * itemsize)
    # Cached rows and recomputed rows go through the same products, so only
    # the location of H in memory differs between these runs.
    for cache_bytes in (0, 7 * 6 * itemsize, 30 * 6 * itemsize):
        other = run_kernel(problem, penalties, n_threads=2, block_size=7,
                           cache_bytes=cache_bytes)
        assert_matches(other, full, rtol=1e-6 if dtype == np.float32 else 1e-14)


# ---------------------------------------------------------------------------
# Inputs, outputs and argument checks


@pytest.mark.parametrize("tied", TIED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_leaves_inputs_unchanged(dtype, tied):
    problem = make_problem(20, 6, 4, dtype, tied, seed=19)
    copies = [None if a is None else a.copy() for a in problem]
    result = run_kernel(problem, PENALTIES["all"], n_threads=2, block_size=3)
    for original, copy in zip(problem, copies):
        if original is None:
            continue
        np.testing.assert_array_equal(original, copy)
    for output in result[1:]:
        if output is None:
            continue
        assert output.dtype == dtype
        assert output.flags.c_contiguous
        assert output.flags.writeable
        for original in problem:
            assert original is None or not np.shares_memory(output, original)


def test_kernel_returns_python_float_loss():
    result = run_kernel(make_problem(5, 3, 2, np.float32, False), PENALTIES["all"])
    assert type(result[0]) is float


def _bad_arguments():
    X, W, b, V, c = make_problem(6, 4, 3, np.float64, False)
    cases = {
        "X-1d": (X[0], W, b, V, c),
        "X-int": (X.astype(np.int64), W, b, V, c),
        "X-empty": (X[:0], W, b, V, c),
        "X-fortran": (np.asfortranarray(X), W, b, V, c),
        "W-columns": (X, W[:, :3].copy(), b, V, c),
        "W-dtype": (X, W.astype(np.float32), b, V, c),
        "b-length": (X, W, b[:2].copy(), V, c),
        "V-shape": (X, W, b, V.T.copy(), c),
        "V-dtype": (X, W, b, V.astype(np.float32), c),
        "c-length": (X, W, b, V, np.zeros(5)),
        "c-2d": (X, W, b, V, c[None, :]),
    }
    return [pytest.param(args, id=name) for name, args in cases.items()]


@pytest.mark.parametrize("args", _bad_arguments())
def test_kernel_rejects_bad_arrays(args):
    with pytest.raises(ValueError):
        kernels.loss_and_grad(*args, *PENALTIES["all"], n_threads=2)


def test_kernel_rejects_non_arrays():
    X, W, b, V, c = make_problem(6, 4, 3, np.float64, False)
    with pytest.raises(TypeError, match="X"):
        kernels.loss_and_grad(X.tolist(), W, b, V, c, *PENALTIES["all"])
    with pytest.raises(TypeError, match="b"):
        kernels.loss_and_grad(X, W, list(b), V, c, *PENALTIES["all"])


@pytest.mark.parametrize(
    "option",
    [{"block_size": 0}, {"n_threads": 0}, {"cache_bytes": -1}],
    ids=["block_size=0", "n_threads=0", "cache_bytes=-1"],
)
def test_kernel_rejects_bad_options(option):
    X, W, b, V, c = make_problem(6, 4, 3, np.float64, False)
    name = next(iter(option))
    with pytest.raises(ValueError, match=name):
        kernels.loss_and_grad(X, W, b, V, c, *PENALTIES["all"], **option)


@pytest.mark.parametrize("target", [0.0, 1.0], ids=["target=0", "target=1"])
def test_kernel_rejects_bad_sparsity_target(target):
    X, W, b, V, c = make_problem(6, 4, 3, np.float64, False)
    with pytest.raises(ValueError, match="sparsity_target"):
        kernels.loss_and_grad(X, W, b, V, c, target, 0.1, 1.0, 0.1)


# ---------------------------------------------------------------------------
# Sigmoid accuracy


def test_sigmoid_float64_within_two_ulp():
    x = np.linspace(-700.0, 700.0, 200_001)
    expected = expit(x)
    relative = np.abs(kernels.sigmoid(x) - expected) / expected
    assert np.max(relative) <= 2 * np.finfo(np.float64).eps


def test_sigmoid_float32_within_two_ulp():
    x = np.linspace(-86.0, 86.0, 200_001).astype(np.float32)
    expected = expit(x.astype(np.float64))
    relative = np.abs(kernels.sigmoid(x) - expected) / expected
    assert np.max(relative) <= 2 * np.finfo(np.float32).eps


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_extreme_inputs(dtype):
    x = np.array([-np.inf, -1e4, 0.0, 1e4, np.inf, np.nan], dtype=dtype)
    with np.errstate(all="raise"):
        y = kernels.sigmoid(x)
    tiny = np.finfo(dtype).tiny
    # Below the exponential's clamp the result is at most a few times the
    # smallest normal number instead of exactly zero.
    assert 0.0 <= y[0] <= 4 * tiny
    assert 0.0 <= y[1] <= 4 * tiny
    assert y[2] == 0.5
    assert y[3] == 1.0
    assert y[4] == 1.0
    assert np.isnan(y[5])


# ---------------------------------------------------------------------------
# Backend wrapper


def test_kernel_kl_eps_matches_model():
    assert kernels.KL_EPS == KL_EPS


def test_backend_reports_openmp_flag():
    assert isinstance(_cython_backend.OPENMP_ENABLED, bool)
    assert _cython_backend.OPENMP_ENABLED == kernels.OPENMP_ENABLED


@pytest.mark.parametrize("tied", TIED)
def test_backend_matches_reference(tied):
    problem = make_problem(40, 8, 5, np.float64, tied, seed=23)
    penalties = PENALTIES["all"]
    result = _cython_backend.loss_and_grad(*problem, *penalties, n_threads=2)
    assert_matches(result, run_reference(problem, penalties), rtol=1e-8)


def test_backend_restores_blas_threads():
    before = [info["num_threads"] for info in threadpool_info()
              if info["user_api"] == "blas"]
    problem = make_problem(40, 8, 5, np.float32, False, seed=29)
    _cython_backend.loss_and_grad(*problem, *PENALTIES["all"], n_threads=2)
    after = [info["num_threads"] for info in threadpool_info()
             if info["user_api"] == "blas"]
    assert after == before


# ---------------------------------------------------------------------------
# Instruction-set builds and their dispatch

# Only builds that the CPU supports are imported: a wider build may crash the
# process with an illegal instruction elsewhere.
SUPPORTED_LEVELS = _cython_backend.supported_simd_levels()
BUILDS = [
    pytest.param(module_name, id=name)
    for name, module_name, _ in _cython_backend.SIMD_LEVELS
    if name in SUPPORTED_LEVELS
]
WIDE_BUILDS = [build for build in BUILDS if build.id != "baseline"]
AVX2_FEATURES = {"AVX": True, "AVX2": True, "FMA3": True}
AVX512_FEATURES = dict(AVX2_FEATURES, AVX512F=True, AVX512DQ=True, AVX512VL=True)


def _is_built(module_name):
    # Built means next to the baseline build, as the backend requires.
    folder = _cython_backend._extension_dir(module_name)
    return folder is not None and folder == _cython_backend._extension_dir(kernels.__name__)


def _import_build(module_name):
    return importlib.import_module(module_name)


@pytest.mark.parametrize("module_name", BUILDS)
@pytest.mark.parametrize("n_threads", [1, 2], ids=["threads=1", "threads=2"])
@pytest.mark.parametrize("penalties", PENALTY_PARAMS)
@pytest.mark.parametrize("tied", TIED)
def test_build_float64_matches_reference(tied, penalties, n_threads, module_name):
    module = _import_build(module_name)
    problem = make_problem(23, 7, 5, np.float64, tied)
    result = run_kernel(problem, penalties, n_threads=n_threads, block_size=3,
                        cache_bytes=3 * 5 * 8, module=module)
    assert_matches(result, run_reference(problem, penalties), rtol=1e-8)


@pytest.mark.parametrize("module_name", BUILDS)
@pytest.mark.parametrize("n_threads", [1, 2], ids=["threads=1", "threads=2"])
@pytest.mark.parametrize("tied", TIED)
def test_build_float32_matches_reference(tied, n_threads, module_name):
    module = _import_build(module_name)
    problem = make_problem(29, 9, 6, np.float32, tied)
    penalties = PENALTIES["all"]
    result = run_kernel(problem, penalties, n_threads=n_threads, module=module)
    for array in result[1:]:
        assert array is None or array.dtype == np.float32
    assert_matches(result, run_reference(problem, penalties), rtol=1e-4)


@pytest.mark.parametrize("module_name", BUILDS)
@pytest.mark.parametrize(
    "shape", [(1, 1, 1), (1, 6, 3), (7, 1, 2), (5, 4, 1), (10, 3, 4)],
    ids=lambda shape: "m={},n={},s={}".format(*shape),
)
def test_build_edge_shapes_match_reference(shape, module_name):
    module = _import_build(module_name)
    problem = make_problem(*shape, np.float64, False, seed=3)
    penalties = PENALTIES["all"]
    result = run_kernel(problem, penalties, n_threads=2, block_size=3,
                        cache_bytes=8, module=module)
    assert_matches(result, run_reference(problem, penalties), rtol=1e-8)


@pytest.mark.parametrize("module_name", BUILDS)
def test_build_saturated_units_stay_finite(module_name):
    module = _import_build(module_name)
    X, W, b, V, c = make_problem(12, 5, 4, np.float64, False, seed=5, scale=60.0)
    b[0] = 40.0
    W[0] = np.abs(W[0])
    penalties = PENALTIES["all"]
    with np.errstate(all="raise"):
        result = run_kernel((X, W, b, V, c), penalties, n_threads=2,
                            block_size=5, module=module)
    assert all(np.all(np.isfinite(a)) for a in result if a is not None)
    assert_matches(result, run_reference((X, W, b, V, c), penalties), rtol=1e-8)


@pytest.mark.parametrize("module_name", WIDE_BUILDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tied", TIED)
def test_wide_build_agrees_with_baseline(tied, dtype, module_name):
    module = _import_build(module_name)
    # Large enough (n = 37, s = 19) that the epilogue loops run full vectors
    # and a scalar remainder.
    problem = make_problem(300, 37, 19, dtype, tied, seed=31)
    penalties = PENALTIES["all"]
    for n_threads in (1, 2):
        wide = run_kernel(problem, penalties, n_threads=n_threads,
                          block_size=16, cache_bytes=100 * 19 * 8, module=module)
        base = run_kernel(problem, penalties, n_threads=n_threads,
                          block_size=16, cache_bytes=100 * 19 * 8)
        # Fused multiply-adds round once where the baseline rounds twice, so
        # the builds differ by a few units in the last place of each step.
        assert_matches(wide, base, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("module_name", BUILDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_build_fixed_threads_bitwise_reproducible(dtype, module_name):
    module = _import_build(module_name)
    problem = make_problem(300, 16, 9, dtype, False, seed=13)
    penalties = PENALTIES["all"]
    first = run_kernel(problem, penalties, n_threads=2, block_size=8, module=module)
    again = run_kernel(problem, penalties, n_threads=2, block_size=8, module=module)
    assert again[0] == first[0]
    for got, want in zip(again[1:], first[1:]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("module_name", BUILDS)
@pytest.mark.parametrize(
    "dtype, limit",
    [pytest.param(np.float32, 86.0, id="float32"),
     pytest.param(np.float64, 700.0, id="float64")],
)
def test_build_sigmoid_within_two_ulp(dtype, limit, module_name):
    module = _import_build(module_name)
    x = np.linspace(-limit, limit, 200_001).astype(dtype)
    expected = expit(x.astype(np.float64))
    relative = np.abs(module.sigmoid(x) - expected) / expected
    assert np.max(relative) <= 2 * np.finfo(dtype).eps


@pytest.mark.parametrize("module_name", BUILDS)
def test_build_rejects_bad_arrays(module_name):
    module = _import_build(module_name)
    X, W, b, V, c = make_problem(6, 4, 3, np.float64, False)
    with pytest.raises(ValueError, match="W"):
        module.loss_and_grad(X, W[:, :3].copy(), b, V, c, *PENALTIES["all"])


@pytest.mark.parametrize("module_name", BUILDS)
def test_build_reports_its_instruction_set(module_name):
    module = _import_build(module_name)
    name = next(n for n, m, _ in _cython_backend.SIMD_LEVELS if m == module_name)
    if name == "baseline" and "-m" in os.environ.get("CFLAGS", ""):
        pytest.skip("CFLAGS may widen the baseline build")
    assert module.SIMD == name
    assert module.OPENMP_ENABLED == kernels.OPENMP_ENABLED


@pytest.mark.parametrize("module_name", ["jsae_fast._jsae_kernels_avx2",
                                         "jsae_fast._jsae_kernels_avx512"])
def test_wide_builds_exist_on_x86_64_linux(module_name):
    # setup.py skips a wide build only where the compiler cannot target it.
    if platform.machine() not in ("x86_64", "AMD64") or sys.platform != "linux":
        pytest.skip("the wide builds are expected on x86-64 Linux only")
    assert _is_built(module_name)


def test_supported_levels_follow_cpu_features():
    avx2_built = _is_built("jsae_fast._jsae_kernels_avx2")
    avx512_built = _is_built("jsae_fast._jsae_kernels_avx512")
    assert _cython_backend.supported_simd_levels({}) == ["baseline"]
    no_fma = dict(AVX2_FEATURES, FMA3=False)
    assert _cython_backend.supported_simd_levels(no_fma) == ["baseline"]
    avx2 = ["avx2"] if avx2_built else []
    assert _cython_backend.supported_simd_levels(AVX2_FEATURES) == avx2 + ["baseline"]
    avx512 = ["avx512"] if avx512_built else []
    assert (_cython_backend.supported_simd_levels(AVX512_FEATURES)
            == avx512 + avx2 + ["baseline"])
    # AVX-512 without one of the three subsets it is compiled for.
    for missing in ("AVX512F", "AVX512DQ", "AVX512VL"):
        partial = dict(AVX512_FEATURES, **{missing: False})
        assert _cython_backend.supported_simd_levels(partial) == avx2 + ["baseline"]


def test_supported_levels_read_numpy_cpu_features():
    features = _cython_backend._numpy_cpu_features()
    assert isinstance(features, dict)
    assert features, "NumPy reports no CPU features; wider builds are never used"
    assert _cython_backend.supported_simd_levels() == \
        _cython_backend.supported_simd_levels(features)


def test_backend_uses_widest_supported_build():
    if os.environ.get(_cython_backend.SIMD_ENV_VAR, "auto") not in ("", "auto"):
        pytest.skip(f"{_cython_backend.SIMD_ENV_VAR} is set for this run")
    assert _cython_backend.SIMD == SUPPORTED_LEVELS[0]
    assert _cython_backend.KERNELS.SIMD == _cython_backend.SIMD


@pytest.mark.parametrize("value", ["baseline", " Baseline ", "avx2", "AVX512", "auto", ""])
def test_simd_env_var_caps_choice(monkeypatch, value):
    monkeypatch.setenv(_cython_backend.SIMD_ENV_VAR, value)
    name, module = _cython_backend._load_kernels()
    requested = value.strip().lower()
    levels = [n for n, _, _ in _cython_backend.SIMD_LEVELS]
    if requested in ("", "auto"):
        allowed = levels
    else:
        allowed = levels[levels.index(requested):]
    expected = next(level for level in SUPPORTED_LEVELS if level in allowed)
    assert name == expected
    assert module.SIMD == expected


def test_simd_env_var_unavailable_level_falls_back(monkeypatch, caplog):
    monkeypatch.setenv(_cython_backend.SIMD_ENV_VAR, "avx2")
    monkeypatch.setattr(_cython_backend, "supported_simd_levels", lambda: ["baseline"])
    with caplog.at_level(logging.WARNING, logger="jsae_fast.cython_backend"):
        name, module = _cython_backend._load_kernels()
    assert name == "baseline"
    assert module is kernels
    assert "JSAE_FAST_SIMD=avx2" in caplog.text


def test_simd_env_var_rejects_unknown_value(monkeypatch, caplog):
    monkeypatch.setenv(_cython_backend.SIMD_ENV_VAR, "sse9")
    with caplog.at_level(logging.WARNING, logger="jsae_fast.cython_backend"):
        with pytest.raises(ImportError, match="JSAE_FAST_SIMD is 'sse9'"):
            _cython_backend._load_kernels()
    # Logged too, because backend="auto" would silently fall back to Numba.
    assert "JSAE_FAST_SIMD='sse9' is not one of" in caplog.text


@pytest.mark.parametrize("args", [(0, 512, 1), (5, 0, 1), (5, -3, 2), (5, 512, 0),
                                  (-1, 512, 1), (5, 512, -1)])
def test_block_layout_rejects_bad_arguments(args):
    with pytest.raises(ValueError, match="at least 1"):
        kernels.block_layout(*args)


@pytest.mark.parametrize("m", [1, 2, 3, 9, 511, 512, 513, 2000, 60000])
@pytest.mark.parametrize("n_threads", [1, 2, 3, 4, 8])
def test_block_layout_covers_rows_evenly(m, n_threads):
    block_rows, n_blocks = kernels.block_layout(m, 512, n_threads)
    assert 1 <= block_rows <= 512
    assert (n_blocks - 1) * block_rows < m <= n_blocks * block_rows
    # Only the last block may be shorter, by less than the number of blocks.
    assert n_blocks * block_rows - m < n_blocks
    if m >= 512 * n_threads:
        assert n_blocks % n_threads == 0


def test_simd_env_var_read_at_import():
    # A fresh interpreter, because the choice is made once at import.
    code = ("from jsae_fast import _cython_backend as cb; "
            "print(cb.SIMD, cb.KERNELS.__name__)")
    env = dict(os.environ, JSAE_FAST_SIMD="baseline")
    completed = subprocess.run([sys.executable, "-P", "-c", code], env=env,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["baseline", "jsae_fast._jsae_kernels"]
