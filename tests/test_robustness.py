"""Bad input at every public boundary, numerical edge cases and the command line."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import ALL_PENALTIES, AVAILABLE_BACKENDS, make_problem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jsae_fast
from jsae_fast import SoftmaxClassifier, Trainer, reference
from jsae_fast._model import KL_EPS
from jsae_fast._validation import check_X
from jsae_fast.compare import compare_models
from jsae_fast.trainer import NonFiniteCostError

# The folder that contains the jsae_fast under test, so that child processes
# import the same copy (the source tree or an installed one).
PACKAGE_PARENT = Path(jsae_fast.__file__).resolve().parents[1]


def _loss(X, params, **overrides):
    kwargs = dict(ALL_PENALTIES, **overrides)
    return jsae_fast.loss_and_grad(X, params["W"], params["b"], params.get("V"), params["c"],
                                   **kwargs)


# Data: dtypes, shapes, layouts.

@pytest.mark.parametrize("dtype,expected", [
    (np.bool_, np.float64), (np.int8, np.float64), (np.uint8, np.float64),
    (np.int32, np.float64), (np.int64, np.float64), (np.uint64, np.float64),
    (np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64),
    (np.longdouble, np.float64),
], ids=lambda v: np.dtype(v).name if isinstance(v, type) else None)
def test_check_X_converts_documented_dtypes(dtype, expected):
    X = (np.arange(12).reshape(3, 4) % 2).astype(dtype)
    converted = check_X(X)
    assert converted.dtype == expected
    assert converted.flags.c_contiguous
    np.testing.assert_array_equal(converted, X.astype(np.float64))


@pytest.mark.parametrize("values,match", [
    (np.array([[1 + 2j, 0]]), "complex dtype complex128; pass real-valued data"),
    (np.array([[0.5, None]], dtype=object), "unsupported dtype object"),
    (np.array([["0.5", "1"]]), "unsupported dtype <U3"),
    (np.array([["2020-01-01"]], dtype="datetime64[D]"), "unsupported dtype datetime64"),
], ids=["complex", "object", "str", "datetime"])
def test_check_X_rejects_other_dtypes(values, match):
    with pytest.raises(TypeError, match=match):
        check_X(values)


def test_check_X_rejects_integers_beyond_float64_precision():
    X = np.array([[0, 2**53 + 1]], dtype=np.int64)
    with pytest.raises(ValueError, match=r"integer values up to 9007199254740993.*2\*\*53"):
        check_X(X, unit_range=False)


def test_check_X_rejects_sparse_matrix():
    from scipy import sparse

    with pytest.raises(TypeError, match=r"X is a sparse matrix.*X.toarray\(\)"):
        check_X(sparse.csr_matrix(np.eye(3)))


@pytest.mark.parametrize("shape,match", [
    ((0, 5), r"X has 0 samples \(shape \(0, 5\)\)"),
    ((5, 0), r"X has 0 features \(shape \(5, 0\)\)"),
    ((5,), r"2-D array .* got an array with 1 dimension\(s\) and shape \(5,\)"),
    ((), r"got an array with 0 dimension\(s\)"),
    ((2, 2, 2), "3 dimension"),
], ids=["no-samples", "no-features", "1d", "0d", "3d"])
def test_check_X_rejects_bad_shapes(shape, match):
    with pytest.raises(ValueError, match=match):
        check_X(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_check_X_counts_nonfinite_values(bad, dtype):
    X = np.full((4, 3), 0.5, dtype=dtype)
    X[1, 1] = X[3, 0] = bad
    with pytest.raises(ValueError, match="X contains 2 NaN or infinite value"):
        check_X(X)


@pytest.mark.parametrize("low,high,shown", [(-0.5, 0.9, r"\[-0.5, 0.9\]"),
                                            (0.0, 255.0, r"\[0, 255\]")])
def test_check_X_out_of_range_names_range(low, high, shown):
    X = np.array([[low, high], [0.5, 0.5]])
    with pytest.raises(ValueError, match=shown + ".*dividing pixel values by 255"):
        check_X(X)


def test_check_X_feature_count_must_match_model():
    with pytest.raises(ValueError, match="X has 4 features, but the model was fitted with 5"):
        check_X(np.zeros((2, 4)), n_features=5)


def test_encode_rejects_wrong_feature_count():
    X, params = make_problem(10, 6, 4)
    with pytest.raises(ValueError, match=r"W has shape \(4, 6\), but X has 5 features"):
        jsae_fast.encode(X[:, :5], params)
    with pytest.raises(ValueError, match="H has 3 columns, but the model has 4 hidden units"):
        jsae_fast.decode(np.zeros((2, 3)), params)


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_layouts_read_correctly(tmp_path, backend, dtype):
    """Fortran order, strided views, read-only and memory-mapped X and parameters."""
    X, params = make_problem(25, 7, 4, dtype=dtype)
    expected, expected_grads = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES,
                                                       backend=backend)
    strided = np.zeros((50, 14), dtype=dtype)
    strided[::2, 1::2] = X
    frozen = X.copy()
    frozen.flags.writeable = False
    mapped = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=dtype,
                                       shape=X.shape)
    mapped[:] = X
    mapped.flush()
    del mapped
    reopened = np.load(tmp_path / "x.npy", mmap_mode="r")
    frozen_params = {k: v.copy() for k, v in params.items()}
    for value in frozen_params.values():
        value.flags.writeable = False
    cases = {"fortran": (np.asfortranarray(X), params), "strided": (strided[::2, 1::2], params),
             "read-only": (frozen, frozen_params), "memmap": (reopened, params),
             "fortran-params": (X, {k: np.asfortranarray(v) for k, v in params.items()})}
    for name, (data, p) in cases.items():
        loss, grads = jsae_fast.loss_and_grad(data, **p, **ALL_PENALTIES, backend=backend)
        assert loss == expected, name
        for key in "WbVc":
            np.testing.assert_array_equal(grads[key], expected_grads[key], err_msg=name)


# Parameters.

@pytest.mark.parametrize("name,value,error,match", [
    ("W", np.zeros((4, 6), dtype=np.int64), TypeError, "W has dtype int64, but X has dtype"),
    ("b", np.zeros((4, 1)), ValueError, r"b has shape \(4, 1\), expected \(4,\)"),
    ("W", np.zeros(6), ValueError, r"W must be a 2-D array .* got shape \(6,\)"),
    ("W", np.zeros((0, 6)), ValueError, "W has 0 rows"),
    ("c", None, ValueError, "c is required"),
    ("V", np.zeros((6, 4), dtype=np.float32), TypeError, "V has dtype float32"),
    ("b", np.array([0.0, np.nan, 0.0, 0.0]), ValueError, "b contains NaN"),
], ids=["int-W", "2d-b", "1d-W", "no-hidden", "none-c", "float32-V", "nan-b"])
def test_bad_params_rejected(name, value, error, match):
    X, params = make_problem(10, 6, 4)
    params[name] = value
    with pytest.raises(error, match=match):
        _loss(X, params)


# Hyperparameters of the Trainer and init_params.

@pytest.mark.parametrize("kwargs,error,match", [
    ({"max_iter": 0}, ValueError, "max_iter must be a positive integer, got 0"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be a positive integer, got 2.5 of type float"),
    ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0, got -1.0"),
    ({"learning_rate": 0.0}, ValueError, "learning_rate must be > 0, got 0"),
    ({"learning_rate": -1.0}, ValueError, "learning_rate must be a finite number >= 0"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ({"batch_size": "32"}, TypeError, "batch_size must be a positive integer, got '32'"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change must be a positive integer"),
    ({"n_threads": 0}, ValueError, "n_threads must be a positive integer or None"),
    ({"n_threads": 1.5}, TypeError, "n_threads must be a positive integer or None"),
    ({"backend": "fortran"}, ValueError, "unknown backend 'fortran'; valid backends are "
                                         "'auto', 'cython', 'numba', 'numpy'"),
    ({"solver": "sgd"}, ValueError, "unknown solver 'sgd'; valid solvers are 'lbfgs'"),
    ({"solver": None}, ValueError, "unknown solver None"),
    ({"callback": 3}, TypeError, "callback must be callable or None, got 3"),
    ({"verbose": -1}, ValueError, "verbose must be a non-negative integer, got -1"),
    ({"random_state": "seed"}, ValueError, "seed"),
    ({"random_state": True}, TypeError, "random_state must be an int, a "
                                        "numpy.random.RandomState instance or None, got True"),
    ({"random_state": np.bool_(False)}, TypeError, "random_state must be an int"),
], ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_trainer_settings_rejected(kwargs, error, match):
    X, _ = make_problem(20, 5, 3)
    solver = kwargs.pop("solver", "adam")
    with pytest.raises(error, match=match):
        Trainer(solver, max_iter=kwargs.pop("max_iter", 2), **kwargs).fit(X, n_hidden=3)


BOOL_SEED_MESSAGE = ("random_state must be an int, a numpy.random.RandomState instance or "
                     "None, got {} of type bool")


@pytest.mark.parametrize("seed", [True, np.False_], ids=["True", "np.False_"])
def test_init_params_rejects_bool_random_state(seed):
    with pytest.raises(TypeError, match=re.escape(BOOL_SEED_MESSAGE.format(repr(seed)))):
        jsae_fast.init_params(5, 3, random_state=seed)


@pytest.mark.parametrize("tied", ["False", 1, np.int64(0), None],
                         ids=["str", "int", "np.int64", "None"])
def test_init_params_rejects_non_bool_tied(tied):
    # bool("False") is True, so the string would silently give tied weights.
    with pytest.raises(TypeError, match=re.escape(f"tied must be True or False, got {tied!r}")):
        jsae_fast.init_params(6, 3, tied=tied)


@pytest.mark.parametrize("tied", [True, np.False_])
def test_init_params_accepts_bool_tied(tied):
    assert (jsae_fast.init_params(6, 3, tied=tied)["V"] is None) == bool(tied)


@pytest.mark.parametrize("seed", [True, np.False_], ids=["True", "np.False_"])
def test_compare_models_rejects_bool_random_state(seed):
    X, _ = make_problem(30, 5, 2)
    y = np.arange(30) % 2
    with pytest.raises(TypeError, match=re.escape(BOOL_SEED_MESSAGE.format(repr(seed)))):
        compare_models(X[:20], y[:20], X[20:], y[20:], n_hidden=2, max_iter=1,
                       softmax_max_iter=5, random_state=seed)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"n_hidden": 0}, ValueError, "n_hidden must be a positive integer, got 0"),
    ({"n_hidden": 4.0}, TypeError, "n_hidden must be a positive integer, got 4.0"),
    ({"tied": "yes"}, TypeError, "tied must be True or False, got 'yes'"),
    ({"sparsity_target": 1.5}, ValueError, "sparsity_target must lie strictly between 0 and 1"),
    ({"sparsity_target": -0.1}, ValueError, "sparsity_target must lie strictly between"),
    ({"weight_decay": -1e-3}, ValueError, "weight_decay must be a finite number >= 0"),
    ({"sparsity_weight": np.inf}, ValueError, "sparsity_weight must be a finite number"),
    ({"jacobian_weight": None}, TypeError, "jacobian_weight must be a non-negative real"),
    ({"params": {"W": np.zeros((3, 5))}}, ValueError, r"params is missing the key\(s\)"),
    ({"params": [1, 2]}, TypeError, "params must be a dict"),
], ids=lambda v: str(v)[:40] if isinstance(v, dict) else None)
def test_fit_arguments_rejected(kwargs, error, match):
    X, _ = make_problem(20, 5, 3)
    params = kwargs.pop("params", None)
    with pytest.raises(error, match=match):
        Trainer(max_iter=2).fit(X, params, **kwargs)


def test_fit_shape_must_match_params():
    X, params = make_problem(20, 5, 3)
    with pytest.raises(ValueError, match=r"n_hidden=4, but params has 3 hidden units; pass "
                                         r"n_hidden=3 to match"):
        Trainer(max_iter=2).fit(X, params, n_hidden=4)
    with pytest.raises(ValueError, match=r"tied=True, but params has untied weights \(a "
                                         r"decoder V\); pass tied=False to match"):
        Trainer(max_iter=2).fit(X, params, tied=True)
    with pytest.raises(TypeError, match="n_hidden must be a positive integer, got 3.0"):
        Trainer(max_iter=2).fit(X, params, n_hidden=3.0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_matching_shape_accepted():
    X, params = make_problem(20, 5, 3)
    result = Trainer(max_iter=2).fit(X, params, n_hidden=3, tied=False)
    assert result.params["W"].shape == (3, 5)
    assert result.params["V"] is not None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fit_default_shape_196_untied():
    X, _ = make_problem(6, 4, 1)
    result = Trainer(max_iter=1).fit(X)
    assert result.params["W"].shape == (196, 4)
    assert result.params["V"].shape == (4, 196)


def test_fit_rejects_params_of_other_feature_count():
    X, params = make_problem(20, 5, 3)
    with pytest.raises(ValueError, match=r"W has shape \(3, 5\), but X has 4 features"):
        Trainer(max_iter=2).fit(X[:, :4], params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adam_batch_size_clipped_to_sample_count():
    """batch_size > m is clipped to m: the same run as batch_size=m, one step per epoch."""
    X, params = make_problem(50, 6, 3)
    runs = [Trainer("adam", max_iter=4, batch_size=size, learning_rate=0.01, random_state=0,
                    n_threads=1).fit(X, params, **ALL_PENALTIES)
            for size in (50, 10_000)]
    assert runs[0].loss_history == runs[1].loss_history
    assert runs[1].n_evaluations == 4


# Labels, checked by the softmax classifier.

def test_softmax_label_length_mismatch_rejected():
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SoftmaxClassifier().fit(X, np.arange(9) % 2)


def test_softmax_single_class_rejected():
    X = np.random.default_rng(0).random((10, 3))
    with pytest.raises(ValueError, match="only one class"):
        SoftmaxClassifier().fit(X, np.full(10, 7))


# Numerics.

def _strict():
    """Raise on floating-point overflow, invalid and divide-by-zero, and on warnings."""
    return np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("scale", [1e2, 1e4, 1e30], ids=lambda s: f"pre-activation={s:g}")
def test_sigmoid_saturation_stays_finite(backend, dtype, scale):
    X, params = make_problem(15, 6, 4, dtype=dtype)
    X[0], X[1] = 0.0, 1.0
    params["b"][:] = np.array([-scale, scale, 0.0, scale / 2], dtype=dtype)
    params["c"][:] = np.array([-scale, scale, -scale, scale, 0.0, 1.0], dtype=dtype)
    with _strict(), warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grads = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES, backend=backend)
    assert np.isfinite(loss)
    for name in "WbVc":
        assert np.all(np.isfinite(grads[name])), name
    ref_loss, ref_grads = reference.loss_and_grad(
        X.astype(np.float64), *(None if params[k] is None else params[k].astype(np.float64)
                                for k in "WbVc"), **ALL_PENALTIES)
    tol = 1e-9 if dtype == np.float64 else 1e-5
    assert loss == pytest.approx(ref_loss, rel=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_softmax_extreme_inputs_stay_finite(dtype):
    rng = np.random.default_rng(0)
    X = rng.random((40, 3)).astype(dtype)
    y = np.arange(40) % 3
    clf = SoftmaxClassifier(max_iter=50).fit(X, y)
    extreme = np.array([[1e30, -1e30, 0.0], [-1e30, 1e30, 1e30], [0.0, 0.0, 0.0]], dtype=dtype)
    with _strict(), warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(extreme)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
def test_kl_gradient_is_gradient_of_clipped_cost(backend):
    """Unit 0's mean activation is below KL_EPS but its sigmoid is not saturated.

    The clipped cost does not depend on that mean, so its KL gradient must be
    zero.  An unclipped derivative ``-p / rho_hat`` (about -1e8 here) would
    fail the finite-difference check through the non-zero sigmoid slope.
    """
    X, params = make_problem(12, 5, 3)
    params["W"][0] = 0.0
    params["b"][0] = -21.0  # sigmoid(-21) = 7.6e-10 < KL_EPS
    H0 = 1 / (1 + np.exp(21.0))
    assert H0 < KL_EPS
    errors = jsae_fast.check_gradient(X, **params, **ALL_PENALTIES, backend=backend)
    for name, error in errors.items():
        assert error < 1e-6, name


@pytest.mark.slow
@pytest.mark.parametrize("backend", AVAILABLE_BACKENDS)
def test_float32_sums_at_m60000_match_float64(backend):
    """float32 over 60000 samples agrees with float64 on the same float32 inputs.

    The rows repeat a few patterns, so every sample adds nearly the same value
    to each sum.  A plain sequential float32 sum of 60000 equal terms is off
    by about 1.6e-4 relative.  float64 or blockwise accumulation keeps the
    error near 1e-6 (measured up to 4e-6 for the gradients and 3e-8 for the
    loss), and the tolerances sit between the two.
    """
    rng = np.random.default_rng(0)
    m, n, s = 60000, 16, 6
    patterns = rng.random((7, n)).astype(np.float32)
    X32 = np.ascontiguousarray(np.tile(patterns, (m // 7 + 1, 1))[:m])
    params = jsae_fast.init_params(n, s, dtype=np.float32, random_state=0)
    params["b"] = rng.normal(size=s).astype(np.float32)
    params64 = {k: v.astype(np.float64) for k, v in params.items()}
    loss32, grads32 = jsae_fast.loss_and_grad(X32, **params, **ALL_PENALTIES, backend=backend)
    loss64, grads64 = jsae_fast.loss_and_grad(X32.astype(np.float64), **params64,
                                              **ALL_PENALTIES, backend=backend)
    assert abs(loss32 - loss64) <= 1e-6 * loss64
    for name in "WbVc":
        scale = float(np.max(np.abs(grads64[name])))
        error = float(np.max(np.abs(grads32[name] - grads64[name]))) / scale
        assert error <= 2e-5, name


# Non-finite cost during training, for every solver.

def _poisoned_kernel(monkeypatch, fail_at):
    """Make the trainer's kernel return a NaN cost from evaluation ``fail_at`` on."""
    from jsae_fast import _backends, trainer

    _, kernel = _backends.resolve_backend("numpy")
    calls = {"n": 0}

    def poisoned(*args):
        calls["n"] += 1
        loss, *grads = kernel(*args)
        return (np.nan if calls["n"] >= fail_at else loss), *grads

    monkeypatch.setattr(trainer, "resolve_backend", lambda name: ("numpy", poisoned))


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "adam"])
def test_nonfinite_cost_keeps_last_good_params(monkeypatch, solver):
    X, params = make_problem(40, 6, 3)
    _poisoned_kernel(monkeypatch, fail_at=9)
    seen = []

    def callback(iteration, loss, current):
        seen.append((iteration, loss, {k: None if v is None else v.copy()
                                       for k, v in current.items()}))

    trainer = Trainer(solver, max_iter=100, learning_rate={"gd": 0.5, "adam": 0.01}.get(solver),
                      batch_size=20, callback=callback)
    with pytest.raises(NonFiniteCostError, match="became non-finite") as info:
        trainer.fit(X, params, **ALL_PENALTIES)
    err = info.value
    assert seen, "the failure must come after at least one iteration"
    last_iteration, last_loss, last_params = seen[-1]
    assert err.iteration == last_iteration + 1
    assert err.last_finite_loss == last_loss
    assert f"last finite cost was {last_loss}" in str(err)
    for name in "WbVc":
        np.testing.assert_array_equal(err.params[name], last_params[name])


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_nonfinite_first_cost_returns_start_params(monkeypatch, solver):
    X, params = make_problem(40, 6, 3)
    _poisoned_kernel(monkeypatch, fail_at=1)
    with pytest.raises(NonFiniteCostError) as info:
        Trainer(solver, max_iter=10).fit(X, params, **ALL_PENALTIES)
    assert info.value.iteration == 1
    assert info.value.last_finite_loss is None
    for name in "WbVc":
        np.testing.assert_array_equal(info.value.params[name], params[name])


def test_adam_divergence_raises_nonfinite_error():
    X, params = make_problem(40, 6, 3)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteCostError) as info:
        Trainer("adam", max_iter=50, learning_rate=1e200, batch_size=10).fit(
            X, params, **ALL_PENALTIES)
    assert info.value.iteration >= 1
    assert all(np.all(np.isfinite(v)) for v in info.value.params.values() if v is not None)


# The command line: bad invocations end with one line on stderr and status 2.

@pytest.mark.slow
def test_cli_bad_invocations_exit_2_without_traceback(tmp_path):
    cases = {
        "range": (["--n-train", "0"], "--n-train must be between 1 and 4999, got 0"),
        "missing-data": (["--data-home", str(tmp_path / "absent")], "not found"),
        "threads": (["--n-threads", "0", "--n-train", "20", "--max-iter", "1", "-q"],
                    "n_threads must be a positive integer or None"),
    }
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    procs = {name: subprocess.Popen([sys.executable, "-P", "-m", "jsae_fast", "compare", *argv],
                                    cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, (argv, _) in cases.items()}
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, (name, stderr)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, (name, stderr)
        assert lines[0].startswith("jsae-fast: error: "), name
        assert cases[name][1] in lines[0], name
        assert "Traceback" not in stderr


# The model-file reader, fed mutated bytes.

@pytest.fixture(scope="module")
def model_file_bytes(tmp_path_factory):
    persistence = pytest.importorskip("jsae_fast.persistence")
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SoftmaxClassifier(max_iter=200).fit(rng.random((30, 4)), np.arange(30) % 3)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    persistence.save_model(clf, path)
    return path.read_bytes()


# Positions near the start (local header) and the end (central directory) of
# the ZIP archive are drawn more often than data bytes.
_positions = st.one_of(st.integers(0, 63), st.integers(-200, -1), st.integers(0, 10**6))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(_positions, st.integers(1, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_mutated_model_file_raises_only_value_error(tmp_path, model_file_bytes, flips, cut):
    from jsae_fast.persistence import load_model

    data = bytearray(model_file_bytes)
    for position, mask in flips:
        data[position % len(data)] ^= mask
    if cut is not None:
        del data[cut % len(data):]
    path = tmp_path / "mutated.npz"
    path.write_bytes(bytes(data))
    try:
        load_model(path)
    except ValueError as exc:
        assert "mutated.npz" in str(exc)
