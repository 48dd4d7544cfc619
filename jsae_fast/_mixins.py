"""Methods shared by the estimators: softmax prediction and model files."""

import numpy as np
from scipy.special import logsumexp, softmax


class SoftmaxPredictionMixin:
    """Prediction methods of a classifier whose ``_logits(X)`` returns class scores."""

    def decision_function(self, X):
        """Return the class scores (logits).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One logit per class. With two classes the result is the score of
            ``classes_[1]`` minus that of ``classes_[0]``, as scikit-learn's
            binary classifiers return it, so it is positive where
            ``classes_[1]`` is predicted.
        """
        scores = self._logits(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Return class probabilities, shape (n_samples, n_classes), rows summing to 1."""
        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """Return log class probabilities, computed stably with log-sum-exp."""
        scores = self._logits(X)
        return scores - logsumexp(scores, axis=1, keepdims=True)

    def predict(self, X):
        """Return the most probable class of each sample."""
        # _logits runs the fitted check, so it must come before classes_ is read.
        scores = self._logits(X)
        return self.classes_[np.argmax(scores, axis=1)]


class ModelFileMixin:
    """``save`` and ``load`` in the ``.npz`` layout of :mod:`jsae_fast.persistence`."""

    def save(self, path):
        """Write the fitted model to ``path`` in the ``.npz`` layout of :mod:`jsae_fast.persistence`."""
        from .persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`; the file must contain this class."""
        from .persistence import load_model

        return load_model(path, expected_class=cls)
