"""Every backend against the naive reference and against finite differences."""

import re

import numpy as np
import pytest
from conftest import ALL_PENALTIES, NO_PENALTIES, make_problem

import jsae_fast
from jsae_fast import reference

PENALTY_CASES = {
    "none": NO_PENALTIES,
    "decay": dict(NO_PENALTIES, weight_decay=0.05),
    "sparsity": dict(NO_PENALTIES, sparsity_weight=3.0),
    "jacobian": dict(NO_PENALTIES, jacobian_weight=1.5),
    "all": ALL_PENALTIES,
}
SHAPES = [(1, 1, 1), (1, 7, 3), (9, 1, 4), (9, 6, 1), (13, 8, 5), (300, 11, 7)]


def _reference(X, params, penalties):
    as64 = {k: None if v is None else v.astype(np.float64) for k, v in params.items()}
    return reference.loss_and_grad(X.astype(np.float64), as64["W"], as64["b"], as64["V"],
                                   as64["c"], **penalties)


def _relative_error(actual, expected):
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    return float(np.max(np.abs(actual.astype(np.float64) - expected)) / scale)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "m{}-n{}-s{}".format(*s))
@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("penalty", PENALTY_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_backend_matches_reference(backend, dtype, penalty, tied, shape):
    X, params = make_problem(*shape, tied=tied, dtype=dtype)
    penalties = PENALTY_CASES[penalty]
    loss, grads = jsae_fast.loss_and_grad(X, **params, **penalties, backend=backend)
    ref_loss, ref_grads = _reference(X, params, penalties)

    # float64 agrees to rounding.  float32 inputs are exact in float64, so the
    # only differences are float32 rounding in the sigmoids and products:
    # about 1e-7 relative per operation, growing with the sum lengths here
    # (at most 300 terms) to well under 1e-4.
    tol = 1e-9 if dtype == np.float64 else 1e-4
    assert isinstance(loss, float)
    assert abs(loss - ref_loss) <= tol * max(abs(ref_loss), 1.0)
    for name in "Wbc":
        assert grads[name].dtype == dtype
        assert grads[name].shape == params[name].shape
        assert _relative_error(grads[name], ref_grads[name]) <= tol, name
    if tied:
        assert grads["V"] is None
    else:
        assert grads["V"].dtype == dtype
        assert _relative_error(grads["V"], ref_grads["V"]) <= tol


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_backend_passes_gradient_check(backend, dtype, tied):
    X, params = make_problem(17, 6, 4, tied=tied, dtype=dtype)
    errors = jsae_fast.check_gradient(X, **params, **ALL_PENALTIES, backend=backend)
    # Central differences in float64 with step 1e-6 are accurate to about 1e-8;
    # a float32 gradient carries float32 rounding on top.
    tol = 1e-6 if dtype == np.float64 else 1e-4
    assert set(errors) == ({"W", "b", "c"} if tied else {"W", "b", "V", "c"})
    for name, error in errors.items():
        assert error < tol, name


def test_gradient_check_detects_wrong_gradient(monkeypatch):
    """The check is able to fail: a kernel with a wrong Jacobian gradient is caught."""
    from jsae_fast import _backends, _numpy_backend

    def broken(X, W, b, V, c, p, lam, beta, gamma, n_threads):
        loss, gW, gb, gV, gc = _numpy_backend.loss_and_grad(X, W, b, V, c, p, lam, beta,
                                                            gamma, n_threads)
        return loss, gW * 1.01, gb, gV, gc

    monkeypatch.setattr(_backends, "resolve_backend", lambda name: ("numpy", broken))
    monkeypatch.setattr("jsae_fast._gradcheck.resolve_backend",
                        lambda name: ("numpy", broken))
    X, params = make_problem(10, 5, 3)
    errors = jsae_fast.check_gradient(X, **params, **ALL_PENALTIES)
    assert errors["W"] > 1e-3
    assert errors["b"] < 1e-6


def test_gradient_check_ignores_rounding_of_a_large_cost(monkeypatch):
    """A tiny gradient entry under a large cost is judged beyond the costs' rounding.

    Saturated units with a sparsity target far from their activation give a
    cost near 8 and a decoder-bias gradient near 6e-5.  The difference quotient
    then carries about 1e-9 of rounding, 2e-5 relative to that gradient, which
    is not an error of the gradient.  A wrong gradient of the same entry is
    still caught.
    """
    X = np.array([[0.94305611]])
    params = {"W": np.array([[4.09284445], [0.41392269], [4.14239818]]),
              "b": np.array([1.3182955, -3.28279459, -0.01040653]), "V": None,
              "c": np.array([-1.24692748])}
    penalties = dict(sparsity_target=0.0625, weight_decay=0.0, sparsity_weight=1.0,
                     jacobian_weight=0.0)
    errors = jsae_fast.check_gradient(X, **params, **penalties, backend="numpy")
    assert max(errors.values()) < 1e-6

    from jsae_fast import _numpy_backend

    def broken(X, W, b, V, c, p, lam, beta, gamma, n_threads):
        loss, gW, gb, gV, gc = _numpy_backend.loss_and_grad(X, W, b, V, c, p, lam, beta,
                                                            gamma, n_threads)
        return loss, gW, gb, gV, gc * 1.001

    monkeypatch.setattr("jsae_fast._gradcheck.resolve_backend",
                        lambda name: ("numpy", broken))
    errors = jsae_fast.check_gradient(X, **params, **penalties)
    assert errors["c"] > 5e-4


@pytest.mark.parametrize("seed", [True, np.False_], ids=["True", "np.False_"])
def test_gradient_check_rejects_bool_random_state(seed):
    X, params = make_problem(10, 5, 3)
    with pytest.raises(TypeError, match=f"random_state must be an int, a "
                                        f"numpy.random.RandomState instance or None, got "
                                        f"{re.escape(repr(seed))} of type bool"):
        jsae_fast.check_gradient(X, **params, **ALL_PENALTIES, random_state=seed)


def test_reference_jacobian_norm_matches_explicit_autodiff():
    """The Jacobian term equals a finite-difference Jacobian of the encoder."""
    X, params = make_problem(3, 5, 4)
    W, b = params["W"], params["b"]
    penalties = dict(NO_PENALTIES, jacobian_weight=2.0)
    loss_with, _ = reference.loss_and_grad(X, W, b, params["V"], params["c"], **penalties)
    loss_without, _ = reference.loss_and_grad(X, W, b, params["V"], params["c"],
                                              **NO_PENALTIES)
    total = 0.0
    eps = 1e-6
    for x in X:
        J = np.empty((4, 5))
        for k in range(5):
            e = np.zeros(5)
            e[k] = eps
            up = 1 / (1 + np.exp(-(W @ (x + e) + b)))
            down = 1 / (1 + np.exp(-(W @ (x - e) + b)))
            J[:, k] = (up - down) / (2 * eps)
        total += np.sum(J ** 2)
    expected = 2.0 / (2 * len(X)) * total
    assert abs((loss_with - loss_without) - expected) < 1e-8 * expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_loss_and_grad_leaves_inputs_unchanged(backend, dtype):
    X, params = make_problem(40, 9, 5, dtype=dtype)
    copies = {k: v.copy() for k, v in params.items()}
    X_copy = X.copy()
    jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES, backend=backend)
    np.testing.assert_array_equal(X, X_copy)
    for name, value in copies.items():
        np.testing.assert_array_equal(params[name], value)


def test_noncontiguous_and_fortran_inputs_read_correctly(backend):
    X, params = make_problem(30, 8, 5)
    expected, expected_grads = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES,
                                                       backend=backend)
    wide = np.zeros((30, 16))
    wide[:, ::2] = X
    for variant in (np.asfortranarray(X), wide[:, ::2]):
        loss, grads = jsae_fast.loss_and_grad(variant, **params, **ALL_PENALTIES,
                                              backend=backend)
        assert loss == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(grads["W"], expected_grads["W"], rtol=1e-10, atol=1e-14)
    fortran_params = {k: np.asfortranarray(v) for k, v in params.items()}
    loss, _ = jsae_fast.loss_and_grad(X, **fortran_params, **ALL_PENALTIES, backend=backend)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_kl_term_finite_when_units_saturate(backend):
    X, params = make_problem(20, 6, 3)
    params["b"][:] = [-1e4, 1e4, 0.0]  # unit 0 always off, unit 1 always on
    loss, grads = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES, backend=backend)
    assert np.isfinite(loss)
    for name in "WbVc":
        assert np.all(np.isfinite(grads[name]))
    ref_loss, _ = _reference(X, params, ALL_PENALTIES)
    assert loss == pytest.approx(ref_loss, rel=1e-9)


def test_loss_is_nonnegative(backend):
    for seed in range(5):
        X, params = make_problem(12, 5, 3, seed=seed)
        loss, _ = jsae_fast.loss_and_grad(X, **params, **ALL_PENALTIES, backend=backend)
        assert loss >= 0


def test_backends_lists_numpy_and_reasons():
    info = jsae_fast.backends()
    assert list(info) == ["cython", "numba", "numpy"]
    assert info["numpy"]["available"]
    for name, entry in info.items():
        assert entry["available"] or entry["reason"], name


def test_auto_backend_is_first_available():
    first = next(name for name, e in jsae_fast.backends().items() if e["available"])
    from jsae_fast._backends import resolve_backend

    assert resolve_backend("auto")[0] == first


def test_backends_notes_a_cython_build_without_openmp(monkeypatch):
    from jsae_fast import _backends, _cython_backend

    if not jsae_fast.backends()["cython"]["available"]:
        pytest.skip("the Cython backend was not built")
    expected = "" if _cython_backend.OPENMP_ENABLED else "built without OpenMP"
    assert expected in jsae_fast.backends()["cython"]["reason"]
    monkeypatch.setattr(_cython_backend, "OPENMP_ENABLED", False)
    entry = jsae_fast.backends()["cython"]
    assert entry["available"]
    assert "built without OpenMP: runs on one thread" in entry["reason"]
