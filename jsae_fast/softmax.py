"""Multinomial logistic regression (softmax) with weight decay, fitted by L-BFGS."""

import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._mixins import ModelFileMixin, SoftmaxPredictionMixin
from ._validation import check_nonnegative_float, check_positive_int


class SoftmaxClassifier(SoftmaxPredictionMixin, ModelFileMixin, ClassifierMixin, BaseEstimator):
    """Softmax classifier with L2 weight decay, fitted by L-BFGS.

    Minimises the mean cross-entropy plus ``weight_decay / 2 * ||coef_||^2``
    (the intercepts are not decayed), the classifier stacked on autoencoder
    codes in the sparse-autoencoder literature.  The cost is computed with
    log-sum-exp, so it is finite for any finite input.  Each L-BFGS iteration
    costs O(n_samples n_features n_classes).

    This is the same optimum as scikit-learn's multinomial
    ``LogisticRegression`` with ``C = 1 / (n_samples * weight_decay)``.

    Parameters
    ----------
    weight_decay : float, default=1e-4
        L2 penalty on the weights.
    max_iter : int, default=400
        Maximum L-BFGS iterations.
    tol : float, default=1e-6
        Tolerance on the projected gradient (SciPy's ``gtol``); the cost's
        relative decrease tolerance (``ftol``) is ``tol * 1e-3``.
    fit_intercept : bool, default=True
        Whether to learn one bias per class.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    coef_ : ndarray of shape (n_classes, n_features)
        Weights.
    intercept_ : ndarray of shape (n_classes,)
        Biases (zeros when ``fit_intercept=False``).
    n_iter_ : int
        L-BFGS iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from jsae_fast import SoftmaxClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SoftmaxClassifier(weight_decay=1e-3).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    def __init__(self, weight_decay=1e-4, max_iter=400, tol=1e-6, fit_intercept=True):
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept

    def fit(self, X, y, sample_weight=None):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels; any hashable values.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Per-sample weights; the cross-entropy becomes a weighted mean.

        Returns
        -------
        self : SoftmaxClassifier
        """
        weight_decay = check_nonnegative_float(self.weight_decay, "weight_decay")
        max_iter = check_positive_int(self.max_iter, "max_iter")
        tol = check_nonnegative_float(self.tol, "tol")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32],
                             order="C", y_numeric=False)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"SoftmaxClassifier needs samples of at least 2 classes, but y "
                             f"contains only one class: {self.classes_[0]!r}.")
        targets = encoder.transform(y)
        n_samples, n_features = X.shape
        n_classes = len(self.classes_)
        if sample_weight is None:
            weights = np.full(n_samples, 1.0 / n_samples)
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if weights.shape != (n_samples,):
                raise ValueError(f"sample_weight has shape {weights.shape}, expected "
                                 f"({n_samples},).")
            if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
                raise ValueError("sample_weight must be finite, non-negative and not all zero.")
            weights = weights / weights.sum()

        # Computing in float64 keeps L-BFGS well behaved; float32 data is read as is.
        X64 = X.astype(np.float64, copy=False)
        onehot = np.zeros((n_samples, n_classes))
        onehot[np.arange(n_samples), targets] = 1.0
        fit_intercept = bool(self.fit_intercept)

        def cost(theta):
            coef = theta[: n_classes * n_features].reshape(n_classes, n_features)
            logits = X64 @ coef.T
            if fit_intercept:
                logits += theta[n_classes * n_features:]
            log_norm = logsumexp(logits, axis=1)
            loss = float(weights @ (log_norm - np.einsum("ij,ij->i", logits, onehot)))
            loss += 0.5 * weight_decay * float(coef.ravel() @ coef.ravel())
            diff = np.exp(logits - log_norm[:, None])
            diff -= onehot
            diff *= weights[:, None]
            grad_coef = diff.T @ X64 + weight_decay * coef
            parts = [grad_coef.ravel()]
            if fit_intercept:
                parts.append(diff.sum(axis=0))
            return loss, np.concatenate(parts)

        size = n_classes * n_features + (n_classes if fit_intercept else 0)
        result = minimize(cost, np.zeros(size), jac=True, method="L-BFGS-B",
                          options={"maxiter": max_iter, "gtol": tol, "ftol": tol * 1e-3})
        theta = result.x
        self.coef_ = theta[: n_classes * n_features].reshape(n_classes, n_features).astype(
            X.dtype)
        self.intercept_ = (theta[n_classes * n_features:] if fit_intercept
                           else np.zeros(n_classes)).astype(X.dtype)
        self.n_iter_ = int(result.nit)
        if result.status == 1:
            warnings.warn(f"SoftmaxClassifier: L-BFGS reached max_iter={max_iter} before "
                          f"converging; increase max_iter.", ConvergenceWarning, stacklevel=2)
        return self

    def _logits(self, X):
        """Return the class scores, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)
        return X @ self.coef_.T.astype(X.dtype) + self.intercept_.astype(X.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


