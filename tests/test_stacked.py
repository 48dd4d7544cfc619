"""StackedAutoencoderClassifier: fine-tuning gradient, training stages, early stopping."""

import re
import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from jsae_fast import StackedAutoencoderClassifier
from jsae_fast.stacked import _Packing, network_loss_and_grad


def _network(sizes, n_features, n_classes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    coefs, intercepts, previous = [], [], n_features
    for size in sizes:
        coefs.append(rng.normal(scale=0.8, size=(size, previous)).astype(dtype))
        intercepts.append(rng.normal(size=size).astype(dtype))
        previous = size
    softmax_coef = rng.normal(size=(n_classes, previous)).astype(dtype)
    softmax_intercept = rng.normal(size=n_classes).astype(dtype)
    return coefs, intercepts, softmax_coef, softmax_intercept


def _problem(m, n, k, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((m, n))
    Y = np.eye(k)[rng.integers(0, k, size=m)]
    return X, Y


@pytest.mark.parametrize("sizes, m", [((5,), 7), ((4, 3), 6), ((1,), 1), ((3, 1, 2), 4)],
                         ids=["one-layer", "two-layers", "one-unit-one-sample", "three-layers"])
def test_fine_tune_gradient_matches_finite_differences(sizes, m):
    X, Y = _problem(m, 6, 3)
    network = _network(sizes, 6, 3)
    packing = _Packing(*network, np.float64)

    def loss(vector):
        return network_loss_and_grad(X, Y, *packing.unpack(vector), 0.03)[0]

    def grad(vector):
        _, g = network_loss_and_grad(X, Y, *packing.unpack(vector), 0.03)
        return packing.pack(g["coefs"], g["intercepts"], g["softmax_coef"],
                            g["softmax_intercept"])

    vector = packing.pack(*network)
    error = check_grad(loss, grad, vector, epsilon=1e-6)
    assert error < 1e-6 * max(1.0, np.linalg.norm(grad(vector)))


def test_fine_tune_loss_matches_direct_formula():
    X, Y = _problem(5, 4, 3)
    coefs, intercepts, U, d = _network((3,), 4, 3)
    loss, _ = network_loss_and_grad(X, Y, coefs, intercepts, U, d, 0.1)
    H = 1 / (1 + np.exp(-(X @ coefs[0].T + intercepts[0])))
    logits = H @ U.T + d
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(P[Y.astype(bool)])) + 0.05 * (np.sum(U ** 2)
                                                               + np.sum(coefs[0] ** 2))
    assert loss == pytest.approx(expected, rel=1e-12)


def test_fine_tune_gradient_float32_close_to_float64():
    X, Y = _problem(8, 5, 3)
    net64 = _network((4,), 5, 3)
    net32 = _network((4,), 5, 3, dtype=np.float32)
    loss64, g64 = network_loss_and_grad(X, Y, *net64, 0.01)
    loss32, g32 = network_loss_and_grad(X.astype(np.float32), Y.astype(np.float32), *net32,
                                        0.01)
    assert g32["coefs"][0].dtype == np.float32
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(g32["coefs"][0], g64["coefs"][0], rtol=1e-4, atol=1e-6)


def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16, y[:n]


def _fit(clf, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_stacked_fine_tuning_improves_accuracy():
    X, y = _digits()
    settings = dict(hidden_layer_sizes=(12,), max_iter=20, softmax_max_iter=50,
                    random_state=0, n_threads=1, early_stopping=False)
    pretrained = _fit(StackedAutoencoderClassifier(fine_tune=False, **settings), X, y)
    tuned = _fit(StackedAutoencoderClassifier(fine_tune_max_iter=60, **settings), X, y)
    assert pretrained.n_iter_ == 0
    assert tuned.n_iter_ > 0
    assert tuned.score(X, y) > pretrained.score(X, y)
    assert tuned.loss_curve_[-1] < tuned.loss_curve_[0]


def test_stacked_two_layers_shapes():
    X, y = _digits(200)
    clf = _fit(StackedAutoencoderClassifier(hidden_layer_sizes=(10, 6), max_iter=5,
                                            fine_tune_max_iter=5, random_state=0,
                                            n_threads=1), X, y)
    assert [W.shape for W in clf.coefs_] == [(10, 64), (6, 10)]
    assert [b.shape for b in clf.intercepts_] == [(10,), (6,)]
    assert clf.softmax_coef_.shape == (10, 6)
    assert clf.encode(X).shape == (200, 6)
    assert len(clf.pretrain_loss_curves_) == 2
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_stacked_early_stopping_keeps_best_validation():
    X, y = _digits()
    clf = _fit(StackedAutoencoderClassifier(hidden_layer_sizes=(12,), max_iter=20,
                                            fine_tune_max_iter=300, n_iter_no_change=5,
                                            validation_fraction=0.25, random_state=0,
                                            n_threads=1), X, y)
    curve = clf.validation_loss_curve_
    assert len(curve) == clf.n_iter_ + 1
    assert clf.best_validation_loss_ == min(curve)
    if clf.n_iter_ < 300:
        assert len(curve) - 1 - int(np.argmin(curve)) == 5


def test_stacked_per_layer_settings():
    X, y = _digits(150)
    clf = _fit(StackedAutoencoderClassifier(hidden_layer_sizes=(6, 4), max_iter=(3, 2),
                                            jacobian_weight=[0.1, 0.0], fine_tune=False,
                                            random_state=0, n_threads=1), X, y)
    assert [len(c) for c in clf.pretrain_loss_curves_] == [3, 2]


def test_stacked_per_layer_length_mismatch():
    X, y = _digits(50)
    with pytest.raises(ValueError, match="jacobian_weight has 3 values"):
        StackedAutoencoderClassifier(hidden_layer_sizes=(4, 3),
                                     jacobian_weight=[0.1, 0.1, 0.1]).fit(X, y)


def test_stacked_string_labels_and_binary_scores():
    X, y = _digits(200)
    mask = y < 2
    labels = np.array(["zero", "one"])[y[mask]]
    clf = _fit(StackedAutoencoderClassifier(hidden_layer_sizes=(5,), max_iter=5,
                                            fine_tune_max_iter=10, random_state=0,
                                            n_threads=1), X[mask], labels)
    assert set(clf.classes_) == {"zero", "one"}
    scores = clf.decision_function(X[mask])
    assert scores.shape == (mask.sum(),)
    np.testing.assert_array_equal(clf.predict(X[mask]), clf.classes_[(scores > 0).astype(int)])


def test_stacked_float32_preserved():
    X, y = _digits(150)
    clf = _fit(StackedAutoencoderClassifier(hidden_layer_sizes=(5,), max_iter=3,
                                            fine_tune_max_iter=3, random_state=0,
                                            n_threads=1), X.astype(np.float32), y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.softmax_coef_.dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_stacked_rejects_single_class():
    X, _ = _digits(20)
    with pytest.raises(ValueError, match="one class"):
        StackedAutoencoderClassifier(hidden_layer_sizes=(3,)).fit(X, np.zeros(20))


@pytest.mark.parametrize("seed", [True, np.False_], ids=["True", "np.False_"])
def test_stacked_rejects_bool_random_state(seed):
    X = np.random.default_rng(0).random((40, 6))
    y = np.arange(40) % 2
    clf = StackedAutoencoderClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                       fine_tune_max_iter=2, softmax_max_iter=5,
                                       random_state=seed)
    assert clf.get_params()["random_state"] is seed
    with pytest.raises(TypeError, match=f"random_state must be an int, a "
                                        f"numpy.random.RandomState instance or None, got "
                                        f"{re.escape(repr(seed))} of type bool"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


def test_stacked_rejects_empty_layers():
    X, y = _digits(20)
    with pytest.raises(ValueError, match="at least one layer"):
        StackedAutoencoderClassifier(hidden_layer_sizes=()).fit(X, y)


def test_stacked_interrupt_stops_and_stays_usable():
    import os
    import signal

    import jsae_fast.trainer as trainer_module

    rng = np.random.default_rng(0)
    X = rng.random((80, 12))
    y = np.arange(80) % 3
    original = trainer_module._FitState.end_iteration
    calls = {"count": 0}

    def interrupting(self, loss, params):
        calls["count"] += 1
        if calls["count"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, loss, params)

    trainer_module._FitState.end_iteration = interrupting
    try:
        clf = StackedAutoencoderClassifier(hidden_layer_sizes=(6, 4), max_iter=50,
                                           fine_tune_max_iter=50, random_state=0)
        with pytest.warns(RuntimeWarning, match="interrupted"):
            clf.fit(X, y)
    finally:
        trainer_module._FitState.end_iteration = original
    assert clf.n_iter_ == 0
    assert [W.shape for W in clf.coefs_] == [(6, 12), (4, 6)]
    assert clf.predict(X).shape == (80,)


def test_bad_layer_size_names_its_index():
    X, y = _digits(60)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes\[1\] must be a positive integer, "
                                         r"got 0"):
        StackedAutoencoderClassifier(hidden_layer_sizes=(3, 0), max_iter=2).fit(X, y)
