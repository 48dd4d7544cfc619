"""The L-BFGS minimiser behind Trainer(solver="lbfgs"): results, line search, stop rules."""

import logging

import numpy as np
import pytest
from conftest import ALL_PENALTIES, make_problem
from scipy.optimize import minimize as scipy_minimize
from scipy.optimize import rosen, rosen_der

import jsae_fast
from jsae_fast import Trainer, _lbfgs
from jsae_fast._backends import resolve_backend

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _quadratic(n, dtype, seed=0):
    """Return ``fun`` of a random convex quadratic and its minimiser."""
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((n, n))
    hessian = factor @ factor.T + n * np.eye(n)
    linear = rng.standard_normal(n)
    minimiser = np.linalg.solve(hessian, linear)
    hessian_typed, linear_typed = hessian.astype(dtype), linear.astype(dtype)

    def fun(x):
        x64 = x.astype(np.float64)
        cost = 0.5 * x64 @ hessian @ x64 - linear @ x64
        return float(cost), hessian_typed @ x - linear_typed

    return fun, minimiser


def _rosenbrock(x):
    return float(rosen(x)), rosen_der(x)


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-8), (np.float32, 1e-4)],
                         ids=["float64", "float32"])
def test_quadratic_reaches_minimiser(dtype, atol):
    fun, minimiser = _quadratic(40, dtype)
    result = _lbfgs.minimize(fun, np.zeros(40, dtype=dtype), tol=1e-14, max_iter=500)
    assert result.status in ("converged", "line_search_failed")
    assert result.x.dtype == dtype
    assert result.grad.dtype == dtype
    np.testing.assert_allclose(result.x, minimiser, atol=atol)


def test_float32_problem_keeps_float32_history():
    fun, _ = _quadratic(12, np.float32)
    optimizer = _lbfgs.LBFGS(fun, np.zeros(12, dtype=np.float32))
    for _ in range(3):
        assert optimizer.step() is None
    assert optimizer.export_state()["history"].dtype == np.float32
    assert optimizer.x.dtype == np.float32
    assert optimizer.n_pairs == 3


@pytest.mark.parametrize("n", [2, 5, 10])
def test_rosenbrock_reaches_minimiser(n):
    start = np.tile([-1.2, 1.0], n)[:n]
    result = _lbfgs.minimize(_rosenbrock, start, tol=1e-14, max_iter=2000)
    assert result.status in ("converged", "line_search_failed"), result.message
    np.testing.assert_allclose(result.x, np.ones(n), atol=1e-5)


def test_rosenbrock_iterations_close_to_scipy():
    start = np.full(10, -1.2)
    ours = _lbfgs.minimize(_rosenbrock, start, tol=1e-12, max_iter=2000)
    scipy = scipy_minimize(_rosenbrock, start, jac=True, method="L-BFGS-B",
                           options={"ftol": 1e-12, "gtol": 1e-12, "maxiter": 2000})
    assert ours.n_iter <= 1.3 * scipy.nit
    assert ours.n_evaluations <= 1.3 * scipy.nfev


def test_accepted_steps_meet_strong_wolfe_conditions():
    optimizer = _lbfgs.LBFGS(_rosenbrock, np.tile([-1.2, 1.0], 3))
    checked = 0
    for _ in range(40):
        x, cost, grad = optimizer.x, optimizer.cost, optimizer.grad
        if optimizer.step() is not None:
            break
        step = optimizer.x - x
        slope0 = grad @ step
        assert slope0 < 0
        assert optimizer.cost <= cost + _lbfgs.ARMIJO * slope0 + 1e-12 * abs(cost)
        assert abs(optimizer.grad @ step) <= _lbfgs.CURVATURE * abs(slope0) * (1 + 1e-9)
        checked += 1
    assert checked >= 20


def test_steps_do_not_modify_returned_iterates():
    fun, _ = _quadratic(8, np.float64)
    optimizer = _lbfgs.LBFGS(fun, np.zeros(8))
    seen = []
    for _ in range(5):
        optimizer.step()
        seen.append((optimizer.x, optimizer.x.copy()))
    for array, copy in seen:
        np.testing.assert_array_equal(array, copy)


def test_pair_with_failed_curvature_is_skipped(caplog):
    fun, _ = _quadratic(6, np.float64)
    optimizer = _lbfgs.LBFGS(fun, np.zeros(6))
    assert optimizer.step() is None
    assert optimizer.n_pairs == 1
    # A gradient that decreases along the step: s.y < 0.
    x_new = optimizer.x + 0.1
    grad_new = optimizer.grad - 1.0
    with caplog.at_level(logging.DEBUG, logger="jsae_fast._lbfgs"):
        optimizer._update_history(x_new, grad_new)
    assert optimizer.n_pairs == 1
    assert optimizer.n_skipped == 1
    assert "skipped the curvature pair" in caplog.text


def test_ascent_direction_resets_history(caplog):
    fun, _ = _quadratic(6, np.float64)
    optimizer = _lbfgs.LBFGS(fun, np.zeros(6))
    for _ in range(3):
        assert optimizer.step() is None
    # A negative initial scaling makes -H g an ascent direction.
    optimizer._gamma = -1e6
    assert optimizer.grad @ optimizer._direction() > 0
    cost = optimizer.cost
    with caplog.at_level(logging.DEBUG, logger="jsae_fast._lbfgs"):
        assert optimizer.step() is None
    assert "not a descent direction" in caplog.text
    assert optimizer.cost < cost
    # The history was emptied, then the accepted step added one pair.
    assert optimizer.n_pairs == 1


def test_nonfinite_trial_shortens_step():
    fun, _ = _quadratic(6, np.float64)
    calls = []

    def poisoned(x):
        calls.append(x.copy())
        if len(calls) == 3:
            return np.inf, None
        return fun(x)

    optimizer = _lbfgs.LBFGS(poisoned, np.zeros(6))
    assert optimizer.step() is None
    start = optimizer.x
    assert optimizer.step() is None
    assert len(calls) >= 4
    # Call 3 is the poisoned first trial of step 2; call 4 retries closer.
    assert np.linalg.norm(calls[3] - start) < np.linalg.norm(calls[2] - start)
    assert np.isfinite(optimizer.cost)


def test_failed_line_search_leaves_state_unchanged():
    fun, _ = _quadratic(6, np.float64)
    poison = {"on": False}

    def switchable(x):
        return (np.inf, None) if poison["on"] else fun(x)

    optimizer = _lbfgs.LBFGS(switchable, np.zeros(6))
    for _ in range(2):
        optimizer.step()
    before = {k: np.copy(v) for k, v in optimizer.export_state().items()}
    x = optimizer.x
    poison["on"] = True
    message = optimizer.step()
    assert "line search" in message
    assert optimizer.x is x
    for key, value in optimizer.export_state().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_convergence_reason_rules():
    grad = np.array([1e-3, -2e-3])
    assert "relative cost decrease" in _lbfgs.convergence_reason(10.0, 10.0 - 1e-9, grad, 1e-9)
    assert _lbfgs.convergence_reason(10.0, 9.0, grad, 1e-9) is None
    assert "max |gradient|" in _lbfgs.convergence_reason(10.0, 9.0, grad, 2e-3)
    # The relative decrease uses max(|f_k|, |f_k+1|, 1) as its scale.
    assert _lbfgs.convergence_reason(0.1, 0.1 - 2e-9, grad, 1e-9) is None


def test_minimize_stops_at_max_iter_and_callback():
    result = _lbfgs.minimize(_rosenbrock, np.full(4, -1.2), tol=0.0, max_iter=5)
    assert result.status == "max_iter"
    assert result.n_iter == 5
    seen = []
    result = _lbfgs.minimize(_rosenbrock, np.full(4, -1.2), tol=0.0, max_iter=50,
                             callback=lambda opt: seen.append(opt.n_iter) or opt.n_iter == 3)
    assert result.status == "callback"
    assert seen == [1, 2, 3]


def test_minimize_at_minimiser_converges_at_once():
    result = _lbfgs.minimize(_rosenbrock, np.ones(3), tol=1e-9)
    assert result.status == "converged"
    assert result.n_iter == 0
    assert result.n_evaluations == 1


def test_nonfinite_start_rejected():
    with pytest.raises(ValueError, match="starting point is not finite"):
        _lbfgs.LBFGS(lambda x: (np.nan, np.zeros_like(x)), np.zeros(3))


def test_wrong_gradient_rejected():
    with pytest.raises(ValueError, match="gradient as an array of shape"):
        _lbfgs.LBFGS(lambda x: (1.0, np.zeros(4, dtype=np.float32)), np.zeros(3))


# The Trainer with solver="lbfgs".

def test_trainer_ftol_stop_meets_rule():
    X, params = make_problem(60, 8, 4)
    tol = 1e-3
    result = Trainer(max_iter=500, tol=tol).fit(X, params, **ALL_PENALTIES)
    assert result.stop_reason == "converged"
    history = result.loss_history
    decreases = [(a - b) / max(abs(a), abs(b), 1.0) for a, b in zip(history, history[1:])]
    assert 2 < result.n_iter < 500
    # Every iteration before the last decreased the cost by more than tol.
    assert all(d > tol for d in decreases[:-1])
    assert decreases[-1] <= tol


def test_trainer_gtol_at_start_runs_no_iteration():
    X, params = make_problem(30, 6, 3)
    _, grads = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES)
    largest = max(np.abs(g).max() for g in grads.values() if g is not None)
    result = Trainer(max_iter=50, tol=1.01 * largest).fit(X, params, **ALL_PENALTIES)
    assert result.stop_reason == "converged"
    assert result.n_iter == 0
    assert result.n_evaluations == 1
    np.testing.assert_array_equal(result.params["W"], params["W"])


def test_trainer_stops_on_gradient_tolerance():
    X, params = make_problem(30, 4, 2)
    result = Trainer(max_iter=3000, tol=1e-6).fit(X, params, **ALL_PENALTIES)
    assert result.stop_reason == "converged"
    _, grads = jsae_fast.loss_and_grad(X, **result.params, **ALL_PENALTIES)
    largest = max(np.abs(g).max() for g in grads.values() if g is not None)
    history = result.loss_history
    relative = (history[-2] - history[-1]) / max(abs(history[-2]), 1.0)
    assert largest <= 1e-6 or relative <= 1e-6


def test_trainer_iteration_params_stay_unchanged():
    X, params = make_problem(40, 6, 3, dtype=np.float32)
    seen = []

    def callback(iteration, loss, current):
        seen.append((current, {k: v.copy() for k, v in current.items() if v is not None}))

    Trainer(max_iter=8, callback=callback).fit(X, params, **ALL_PENALTIES)
    assert len(seen) == 8
    for current, copy in seen:
        for name, value in copy.items():
            np.testing.assert_array_equal(current[name], value)


def test_trainer_nan_trial_shortens_step(monkeypatch):
    from jsae_fast import trainer

    _, kernel = resolve_backend("numpy")
    calls = {"n": 0}

    def poisoned_once(*args):
        calls["n"] += 1
        loss, *grads = kernel(*args)
        return (np.nan if calls["n"] == 6 else loss), *grads

    X, params = make_problem(40, 6, 3)
    monkeypatch.setattr(trainer, "resolve_backend", lambda name: ("numpy", poisoned_once))
    result = Trainer(max_iter=10).fit(X, params, **ALL_PENALTIES)
    assert calls["n"] > 6
    assert result.n_iter == 10
    assert all(np.isfinite(result.loss_history))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_trainer_cost_matches_scipy_lbfgsb(dtype):
    X, params = make_problem(150, 12, 6, dtype=dtype)
    names = ("W", "b", "V", "c")
    shapes = {k: params[k].shape for k in names}

    def unpack(vector):
        out, offset = {}, 0
        for k in names:
            size = int(np.prod(shapes[k]))
            out[k] = vector[offset:offset + size].reshape(shapes[k]).astype(dtype)
            offset += size
        return out

    def fun(vector):
        loss, grads = jsae_fast.loss_and_grad(X, **unpack(vector), **ALL_PENALTIES,
                                              n_threads=1)
        return loss, np.concatenate([grads[k].ravel() for k in names]).astype(np.float64)

    start = np.concatenate([params[k].ravel() for k in names]).astype(np.float64)
    max_iter = 150
    scipy = scipy_minimize(fun, start, jac=True, method="L-BFGS-B",
                           options={"maxiter": max_iter, "ftol": 1e-12, "gtol": 1e-12})
    ours = Trainer(max_iter=max_iter, tol=1e-12, n_threads=1).fit(X, params, **ALL_PENALTIES)
    ours_cost, _ = jsae_fast.loss_and_grad(X, **ours.params, **ALL_PENALTIES)
    start_cost = fun(start)[0]
    # Both runs remove nearly all of the reducible cost; ours may end no more
    # than 1% of that reduction above SciPy's.
    assert ours_cost <= scipy.fun + 0.01 * (start_cost - scipy.fun)
