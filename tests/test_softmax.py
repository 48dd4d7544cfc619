"""SoftmaxClassifier against scikit-learn's multinomial LogisticRegression."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from jsae_fast import SoftmaxClassifier


@pytest.mark.parametrize("weight_decay", [1e-2, 1e-4])
def test_softmax_matches_logistic_regression(weight_decay):
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16
    y = y[:600]
    ours = SoftmaxClassifier(weight_decay=weight_decay, tol=1e-10, max_iter=5000).fit(X, y)
    C = 1.0 / (len(X) * weight_decay)
    theirs = LogisticRegression(C=C, tol=1e-12, max_iter=20000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4)
    assert np.mean(ours.predict(X) == theirs.predict(X)) > 0.995


def test_softmax_proba_stable_for_huge_inputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, size=60)
    clf = SoftmaxClassifier().fit(X, y)
    huge = X * 1e300
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        proba = clf.predict_proba(huge / 1e290)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_softmax_keeps_label_values():
    X, y = load_digits(return_X_y=True)
    labels = np.array(["zero", "one", "two"])
    mask = y < 3
    clf = SoftmaxClassifier().fit(X[mask] / 16, labels[y[mask]])
    assert set(clf.predict(X[mask] / 16)) <= set(labels)
    assert clf.score(X[mask] / 16, labels[y[mask]]) > 0.95


def test_softmax_single_class_rejected():
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxClassifier().fit(np.zeros((5, 2)), np.ones(5))
