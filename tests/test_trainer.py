"""Trainer: cost goes down, solvers, determinism, callbacks and failure modes."""

import re

import numpy as np
import pytest
from conftest import ALL_PENALTIES, make_problem

import jsae_fast
from jsae_fast import Trainer
from jsae_fast.trainer import NonFiniteCostError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_trainer_lowers_cost(solver, dtype):
    X, params = make_problem(200, 12, 6, dtype=dtype)
    start, _ = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES)
    rate = {"gd": 0.5, "adam": 0.01}.get(solver)
    result = Trainer(solver, max_iter=30, learning_rate=rate, random_state=0,
                     batch_size=50).fit(X, params, **ALL_PENALTIES)
    end, _ = jsae_fast.loss_and_grad(X, **result.params, **ALL_PENALTIES)
    assert end < 0.9 * start
    assert result.params["W"].dtype == dtype
    assert result.n_iter == len(result.loss_history)
    assert result.n_evaluations >= result.n_iter


def test_trainer_does_not_modify_start_params():
    X, params = make_problem(50, 8, 4)
    copy = {k: v.copy() for k, v in params.items()}
    Trainer(max_iter=5).fit(X, params, **ALL_PENALTIES)
    for name in params:
        np.testing.assert_array_equal(params[name], copy[name])


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_trainer_deterministic_for_fixed_seed(solver):
    X, _ = make_problem(120, 10, 5)
    runs = [Trainer(solver, max_iter=10, random_state=3, batch_size=32,
                    n_threads=1).fit(X, n_hidden=5, **ALL_PENALTIES) for _ in range(2)]
    assert runs[0].loss_history == runs[1].loss_history
    np.testing.assert_array_equal(runs[0].params["W"], runs[1].params["W"])


def test_lbfgs_converges_on_easy_problem():
    X, params = make_problem(30, 4, 2)
    result = Trainer(max_iter=2000, tol=1e-6).fit(X, params, **ALL_PENALTIES)
    assert result.converged
    assert result.stop_reason == "converged"
    assert result.n_iter < 2000


def test_max_iter_warns_convergence():
    X, params = make_problem(30, 4, 2)
    with pytest.warns(jsae_fast.trainer.ConvergenceWarning, match="max_iter=3"):
        result = Trainer(max_iter=3).fit(X, params, **ALL_PENALTIES)
    assert result.stop_reason == "max_iter"


def test_callback_sees_each_iteration_and_can_stop():
    X, params = make_problem(30, 6, 3)
    seen = []

    def callback(iteration, loss, current):
        seen.append((iteration, loss, current["W"].shape))
        return iteration == 4

    result = Trainer(max_iter=50, callback=callback).fit(X, params, **ALL_PENALTIES)
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert result.stop_reason == "callback"
    assert result.loss_history == [s[1] for s in seen]


def test_gd_divergence_raises_with_last_good_params():
    X, params = make_problem(30, 6, 3)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteCostError) as info:
        Trainer("gd", max_iter=200, learning_rate=1e200).fit(X, params, **ALL_PENALTIES)
    err = info.value
    assert err.iteration >= 1
    assert "last finite cost" in str(err)
    if err.params is not None:
        assert all(np.all(np.isfinite(v)) for v in err.params.values() if v is not None)


def test_unknown_solver_lists_valid_ones():
    X, _ = make_problem(10, 4, 2)
    with pytest.raises(ValueError, match="'lbfgs', 'gd', 'adam'"):
        Trainer("sgd").fit(X, n_hidden=2)


def test_tied_training_returns_no_decoder():
    X, _ = make_problem(40, 6, 3)
    result = Trainer(max_iter=5).fit(X, n_hidden=3, tied=True, **ALL_PENALTIES)
    assert result.params["V"] is None
    codes = jsae_fast.encode(X, result.params)
    recon = jsae_fast.decode(codes, result.params)
    assert codes.shape == (40, 3)
    assert recon.shape == X.shape


def test_verbose_shows_progress_bar(capsys):
    X, _ = make_problem(20, 4, 2)
    Trainer(max_iter=3, verbose=1).fit(X, n_hidden=2)
    assert "cost=" in capsys.readouterr().err


@pytest.mark.parametrize("sparsity_weight, jacobian_weight, name", [
    (0.0, 0.0, "AE"), (3.0, 0.0, "SAE"), (0.0, 0.1, "CAE"), (3.0, 0.1, "JSAE")])
def test_progress_bar_names_the_model(capsys, sparsity_weight, jacobian_weight, name):
    X, _ = make_problem(20, 4, 2)
    Trainer(max_iter=2, verbose=1).fit(X, n_hidden=2, sparsity_weight=sparsity_weight,
                                       jacobian_weight=jacobian_weight)
    # The look-behind keeps "AE" from matching inside "SAE" or "CAE".
    assert re.search(rf"(?<![A-Z]){name} lbfgs", capsys.readouterr().err)


@pytest.mark.parametrize("backend, expected", [("numpy", 1), ("cython", 2), ("numba", 2)])
def test_lbfgs_vector_threads_per_backend(monkeypatch, backend, expected):
    # The NumPy backend's spinning BLAS workers slow down OpenMP vector
    # passes, so its optimizer runs them on one thread.  The compiled
    # backends use the Trainer's thread count.
    if not jsae_fast.backends()[backend]["available"]:
        pytest.skip(f"backend {backend} is not available")
    seen = []
    original = jsae_fast._lbfgs.LBFGS.__init__

    def recording_init(self, *args, **kwargs):
        seen.append(kwargs["n_threads"])
        original(self, *args, **kwargs)

    monkeypatch.setattr(jsae_fast._lbfgs.LBFGS, "__init__", recording_init)
    X, params = make_problem(40, 6, 3)
    Trainer(max_iter=2, backend=backend, n_threads=2).fit(X, params, **ALL_PENALTIES)
    assert seen == [expected]
