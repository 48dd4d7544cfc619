"""The comparison of AE, SAE and JSAE features under a softmax classifier (Wang and Song, 2019)."""

import dataclasses
import logging
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._model import DEFAULT_PENALTIES, init_params
from ._validation import check_random_state
from .api import encode
from .softmax import SoftmaxClassifier
from .trainer import Trainer

logger = logging.getLogger(__name__)

#: Penalty weights of the three autoencoders of the comparison: the plain
#: autoencoder has weight decay only, the sparse one adds the KL term and the
#: JSAE adds the Jacobian term on top.
VARIANTS = {
    "AE": dict(DEFAULT_PENALTIES, sparsity_weight=0.0, jacobian_weight=0.0),
    "SAE": dict(DEFAULT_PENALTIES, jacobian_weight=0.0),
    "JSAE": dict(DEFAULT_PENALTIES),
}


@dataclasses.dataclass
class ComparisonRow:
    """One line of the comparison table."""

    model: str
    accuracy: float
    train_seconds: float
    n_iter: int
    final_cost: float


def compare_models(X_train, y_train, X_test, y_test, *, variants=None, n_hidden=196,
                   max_iter=400, softmax_weight_decay=1e-4, softmax_max_iter=400,
                   random_state=0, backend="auto", n_threads=None, verbose=0):
    """Train each autoencoder variant, classify its codes, and measure test accuracy.

    Every variant starts from the same initial parameters.  A softmax
    classifier on the raw inputs is the baseline (row ``"raw pixels"``).

    Parameters
    ----------
    X_train, y_train, X_test, y_test : arrays
        Training and test data in ``[0, 1]`` and their labels.
    variants : dict or None, default=None
        Name to penalty keyword arguments; None uses AE, SAE and JSAE.
    n_hidden : int, default=196
        Hidden units of each autoencoder.
    max_iter : int, default=400
        L-BFGS iterations of each autoencoder.
    softmax_weight_decay : float, default=1e-4
        Weight decay of the softmax classifier.
    softmax_max_iter : int, default=400
        L-BFGS iterations of the softmax classifier.
    random_state : int, RandomState instance or None, default=0
        Seed of the shared initial parameters.
    backend : str, default="auto"
        Cost-and-gradient backend.
    n_threads : int or None, default=None
        Threads for training.
    verbose : int, default=0
        1 shows a progress bar per model.

    Returns
    -------
    rows : list of ComparisonRow
        One row per model trained.  After Ctrl-C the rows finished so far:
        an interrupted fit's row is marked "(interrupted)", and a Ctrl-C
        during a softmax fit drops that model's row and emits a
        RuntimeWarning that starts with "compare_models: interrupted".
    """
    variants = VARIANTS if variants is None else variants
    rng = check_random_state(random_state)
    start = init_params(X_train.shape[1], n_hidden, dtype=X_train.dtype, random_state=rng)
    rows = []

    def softmax_accuracy(F_train, F_test):
        clf = SoftmaxClassifier(weight_decay=softmax_weight_decay, max_iter=softmax_max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(F_train, y_train)
        return float(clf.score(F_test, y_test))

    try:
        t0 = time.perf_counter()
        accuracy = softmax_accuracy(X_train, X_test)
    except KeyboardInterrupt:
        return _interrupted(rows, "raw pixels")
    rows.append(ComparisonRow("raw pixels", accuracy, time.perf_counter() - t0, 0, float("nan")))
    for name, penalties in variants.items():
        trainer = Trainer("lbfgs", max_iter=max_iter, backend=backend, n_threads=n_threads,
                          verbose=verbose)
        with warnings.catch_warnings():
            # Every model gets the same fixed iteration budget, as in Wang and Song (2019).
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = trainer.fit(X_train, start, **penalties)
        try:
            accuracy = softmax_accuracy(encode(X_train, result.params),
                                        encode(X_test, result.params))
        except KeyboardInterrupt:
            # The Trainer handles Ctrl-C itself, but the softmax fit does not.
            return _interrupted(rows, name)
        logger.info("%s: accuracy %.4f after %d iterations in %.1f s", name, accuracy,
                    result.n_iter, result.elapsed)
        rows.append(ComparisonRow(name, accuracy, result.elapsed, result.n_iter,
                                  result.loss_history[-1] if result.loss_history
                                  else float("nan")))
        if result.stop_reason == "interrupted":
            # Ctrl-C ended this fit early; the remaining models are skipped.
            rows[-1].model += " (interrupted)"
            break
    return rows


def _interrupted(rows, name):
    """Return the finished rows after Ctrl-C stopped the softmax fit of ``name``."""
    warnings.warn(f"compare_models: interrupted during the softmax fit of {name}; the "
                  f"{len(rows)} finished rows are returned.", RuntimeWarning, stacklevel=3)
    return rows


def format_table(rows):
    """Format comparison rows as a plain-text table."""
    width = max([12] + [len(row.model) for row in rows])
    lines = [f"{'model':<{width}} {'test accuracy':>13} {'train time (s)':>15} "
             f"{'iterations':>10} {'final cost':>11}"]
    for row in rows:
        cost = "" if np.isnan(row.final_cost) else f"{row.final_cost:.5g}"
        lines.append(f"{row.model:<{width}} {100 * row.accuracy:>12.2f}% "
                     f"{row.train_seconds:>15.1f} {row.n_iter:>10d} {cost:>11}")
    return "\n".join(lines)
