"""Stacked JSAE layers with a softmax on top, pretrained greedily and fine-tuned jointly.

Training has three stages:

1. Greedy layer-wise pretraining: each layer is a
   :class:`~jsae_fast.JacobianSparseAutoencoder` fitted on the codes of the
   layer below (the first on the data); its decoder is then discarded.
2. A :class:`~jsae_fast.SoftmaxClassifier` is fitted on the top layer's codes.
3. Optional fine-tuning: L-BFGS minimises the mean cross-entropy of the whole
   network plus weight decay on all weights, by backpropagation through the
   sigmoid encoders.  Without a stopping rule this overfits small training
   sets, so by default a stratified validation part of the training data is
   held out and the parameters with the lowest validation cross-entropy are
   kept.

Forward passes use the BLAS-backed encoder of :mod:`jsae_fast._model`.  One
fine-tuning evaluation costs O(m sum_l n_l s_l) for m samples and layers of
n_l inputs and s_l units.
"""

import logging
import numbers
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._mixins import ModelFileMixin, SoftmaxPredictionMixin
from ._model import DEFAULT_PENALTIES, encode
from ._validation import (
    check_dtype,
    check_nonnegative_float,
    check_open_unit,
    check_positive_int,
    check_random_state,
)
from .estimators import JacobianSparseAutoencoder, _check_unit_range, _EarlyStopping
from .softmax import SoftmaxClassifier
from .trainer import _Interrupt

logger = logging.getLogger(__name__)

__all__ = ["StackedAutoencoderClassifier", "network_loss_and_grad"]

_PER_LAYER = ("sparsity_target", "weight_decay", "sparsity_weight", "jacobian_weight",
              "max_iter")


def network_loss_and_grad(X, Y, coefs, intercepts, softmax_coef, softmax_intercept,
                          weight_decay):
    """Return the fine-tuning cost of a stacked sigmoid network and its gradient.

    The network is ``H_0 = X``, ``H_l = sigmoid(H_{l-1} W_l^T + b_l)`` and
    ``P = softmax(H_L U^T + d)``.  The cost is the mean cross-entropy plus
    ``weight_decay / 2 * (||U||^2 + sum_l ||W_l||^2)``; biases are not decayed.

    Parameters
    ----------
    X : ndarray of shape (m, n)
        Inputs.
    Y : ndarray of shape (m, k)
        One-hot targets (rows may also be any probability vectors).
    coefs, intercepts : list of ndarray
        Encoder weights ``W_l`` of shape (s_l, s_{l-1}) and biases ``b_l``.
    softmax_coef : ndarray of shape (k, s_L)
        Softmax weights ``U``.
    softmax_intercept : ndarray of shape (k,)
        Softmax biases ``d``.
    weight_decay : float
        L2 penalty on all weights.

    Returns
    -------
    loss : float
        Accumulated in float64.
    grads : dict
        ``"coefs"`` and ``"intercepts"`` (lists) and ``"softmax_coef"`` and
        ``"softmax_intercept"``, shaped like the parameters.
    """
    m = X.shape[0]
    activations = [X]
    for W, b in zip(coefs, intercepts):
        activations.append(encode(activations[-1], W, b))
    top = activations[-1]
    logits = top @ softmax_coef.T
    logits += softmax_intercept
    log_norm = logsumexp(logits.astype(np.float64), axis=1)
    loss = float(np.sum(log_norm) - np.einsum("ij,ij->", logits, Y, dtype=np.float64)) / m
    decay = float(np.sum(np.square(softmax_coef, dtype=np.float64)))
    decay += sum(float(np.sum(np.square(W, dtype=np.float64))) for W in coefs)
    loss += 0.5 * weight_decay * decay

    delta = (np.exp(logits - log_norm[:, None].astype(logits.dtype)) - Y) / m
    grad_softmax_coef = delta.T @ top + weight_decay * softmax_coef
    grad_softmax_intercept = delta.sum(axis=0)
    upstream = delta @ softmax_coef
    grad_coefs, grad_intercepts = [], []
    for layer in range(len(coefs) - 1, -1, -1):
        H = activations[layer + 1]
        delta = upstream * H * (1 - H)
        grad_coefs.append(delta.T @ activations[layer] + weight_decay * coefs[layer])
        grad_intercepts.append(delta.sum(axis=0))
        if layer > 0:
            upstream = delta @ coefs[layer]
    grads = {"coefs": grad_coefs[::-1], "intercepts": grad_intercepts[::-1],
             "softmax_coef": grad_softmax_coef, "softmax_intercept": grad_softmax_intercept}
    return loss, grads


class _Packing:
    """Conversion between the network's arrays and one float64 vector for SciPy."""

    def __init__(self, coefs, intercepts, softmax_coef, softmax_intercept, dtype):
        self.shapes = ([W.shape for W in coefs] + [b.shape for b in intercepts]
                       + [softmax_coef.shape, softmax_intercept.shape])
        self.n_layers = len(coefs)
        self.dtype = dtype

    def pack(self, coefs, intercepts, softmax_coef, softmax_intercept):
        arrays = list(coefs) + list(intercepts) + [softmax_coef, softmax_intercept]
        return np.concatenate([a.ravel() for a in arrays]).astype(np.float64)

    def unpack(self, vector):
        arrays, offset = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            arrays.append(vector[offset:offset + size].reshape(shape).astype(self.dtype))
            offset += size
        L = self.n_layers
        return arrays[:L], arrays[L:2 * L], arrays[2 * L], arrays[2 * L + 1]


class StackedAutoencoderClassifier(SoftmaxPredictionMixin, ModelFileMixin, ClassifierMixin,
                                   BaseEstimator):
    """Stacked Jacobian-regularized sparse autoencoders with a softmax classifier.

    Each hidden layer is pretrained as a :class:`JacobianSparseAutoencoder` on
    the codes of the layer below, and a softmax classifier is fitted on the
    top codes.  Then, if ``fine_tune`` is True, L-BFGS trains all layers
    jointly by backpropagation.  It minimises the network's mean
    cross-entropy plus ``softmax_weight_decay / 2`` times the squared norm of
    every weight matrix.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(196,)
        Hidden units of each layer, from the input upwards.
    sparsity_target, weight_decay, sparsity_weight, jacobian_weight : float or sequence of float
        Pretraining penalties (see :class:`JacobianSparseAutoencoder`), one
        value for every layer or a sequence with one value per layer.
    max_iter : int or sequence of int, default=400
        Pretraining iterations of each layer.
    tied : bool, default=False
        Tied weights during pretraining.
    solver : {"lbfgs", "gd", "adam"}, default="lbfgs"
        Pretraining optimizer.
    softmax_weight_decay : float, default=1e-4
        L2 penalty of the softmax classifier and of all weights during
        fine-tuning.
    softmax_max_iter : int, default=400
        L-BFGS iterations of the softmax classifier on the top codes.
    fine_tune : bool, default=True
        Train the whole network jointly after pretraining.
    fine_tune_max_iter : int, default=400
        L-BFGS iterations of fine-tuning.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training data (stratified by
        class when every class has at least two samples), evaluate its
        cross-entropy after each fine-tuning iteration, keep the best
        parameters and stop after ``n_iter_no_change`` iterations without
        improvement.  The held-out part is not used for pretraining either.
        Ignored when ``fine_tune`` is False.
    validation_fraction : float, default=0.1
        Share of the training data held out, in (0, 1).
    n_iter_no_change : int, default=10
        Patience of early stopping.
    tol : float, default=1e-9
        L-BFGS tolerance of fine-tuning and minimum decrease of the validation
        cross-entropy that counts as improvement.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Cost-and-gradient implementation for pretraining.
    n_threads : int or None, default=None
        Threads for pretraining kernels and BLAS.
    dtype : {None, "float32", "float64"}, default=None
        Floating-point type of the weights; None keeps the float dtype of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the validation split and of each layer's initial weights.
    verbose : int, default=0
        1 shows a progress bar with the current cost for each pretrained
        layer and for fine-tuning.
    augment : callable or None, default=None
        Called as ``augment(X_part, y_part)`` on the training part (after the
        validation part is held out) and returns a larger ``(X, y)`` used for
        pretraining, the softmax and fine-tuning, for example
        :class:`jsae_fast.augment.ImageShifts`.  Its values must stay in
        ``[0, 1]``.  None trains on the data as given.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    coefs_ : list of ndarray
        Encoder weights; ``coefs_[l]`` has shape (hidden_layer_sizes[l], n_inputs_l).
    intercepts_ : list of ndarray
        Encoder biases; ``intercepts_[l]`` has shape (hidden_layer_sizes[l],).
    softmax_coef_ : ndarray of shape (n_classes, hidden_layer_sizes[-1])
        Softmax weights.
    softmax_intercept_ : ndarray of shape (n_classes,)
        Softmax biases.
    pretrain_loss_curves_ : list of list of float
        JSAE cost after each pretraining iteration, per layer.
    n_iter_ : int
        Fine-tuning iterations run (0 without fine-tuning).
    loss_curve_ : list of float
        Fine-tuning cost after each iteration.
    validation_loss_curve_ : list of float
        With fine-tuning and early stopping, the validation cross-entropy
        before fine-tuning and after each iteration.
    best_validation_loss_ : float
        The lowest value of ``validation_loss_curve_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import StackedAutoencoderClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((120, 16))
    >>> y = (X[:, :8].sum(axis=1) > X[:, 8:].sum(axis=1)).astype(int)
    >>> clf = StackedAutoencoderClassifier(hidden_layer_sizes=(8,), max_iter=30,
    ...                                    fine_tune_max_iter=30, random_state=0)
    >>> clf.fit(X, y).predict_proba(X).shape
    (120, 2)
    """

    def __init__(self, hidden_layer_sizes=(196,), *,
                 sparsity_target=DEFAULT_PENALTIES["sparsity_target"],
                 weight_decay=DEFAULT_PENALTIES["weight_decay"],
                 sparsity_weight=DEFAULT_PENALTIES["sparsity_weight"],
                 jacobian_weight=DEFAULT_PENALTIES["jacobian_weight"], max_iter=400,
                 tied=False, solver="lbfgs", softmax_weight_decay=1e-4, softmax_max_iter=400,
                 fine_tune=True, fine_tune_max_iter=400, early_stopping=True,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-9, backend="auto",
                 n_threads=None, dtype=None, random_state=None, verbose=0, augment=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.sparsity_target = sparsity_target
        self.weight_decay = weight_decay
        self.sparsity_weight = sparsity_weight
        self.jacobian_weight = jacobian_weight
        self.max_iter = max_iter
        self.tied = tied
        self.solver = solver
        self.softmax_weight_decay = softmax_weight_decay
        self.softmax_max_iter = softmax_max_iter
        self.fine_tune = fine_tune
        self.fine_tune_max_iter = fine_tune_max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.backend = backend
        self.n_threads = n_threads
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose
        self.augment = augment

    # ------------------------------------------------------------------
    # Validation helpers
    # ------------------------------------------------------------------

    def _layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(f"hidden_layer_sizes must be a sequence of positive integers, "
                            f"got {self.hidden_layer_sizes!r}.") from None
        if not sizes:
            raise ValueError("hidden_layer_sizes must name at least one layer, got ().")
        return tuple(check_positive_int(size, f"hidden_layer_sizes[{i}]")
                     for i, size in enumerate(sizes))

    def _layer_settings(self, n_layers):
        """Return one dict of pretraining settings per layer."""
        settings = [{} for _ in range(n_layers)]
        for name in _PER_LAYER:
            value = getattr(self, name)
            if isinstance(value, (list, tuple, np.ndarray)):
                if len(value) != n_layers:
                    raise ValueError(f"{name} has {len(value)} values, but "
                                     f"hidden_layer_sizes has {n_layers} layers; pass one "
                                     f"value or one per layer.")
                values = list(value)
            else:
                values = [value] * n_layers
            for layer, v in enumerate(values):
                settings[layer][name] = v
        return settings

    def _validate_X(self, X, *, reset):
        if reset:
            dtype = [np.float64, np.float32] if self.dtype is None else check_dtype(self.dtype)
        else:
            dtype = self.coefs_[0].dtype
        X = validate_data(self, X, dtype=dtype, order="C", reset=reset)
        return _check_unit_range(X, type(self).__name__)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def fit(self, X, y):
        """Pretrain the layers, fit the softmax and fine-tune the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data with values in ``[0, 1]``.
        y : array-like of shape (n_samples,)
            Class labels; any hashable values.

        Returns
        -------
        self : StackedAutoencoderClassifier

        Warns
        -----
        ConvergenceWarning
            If fine-tuning reaches ``fine_tune_max_iter`` without converging or
            stopping early (pretraining and the softmax warn on their own).
        """
        dtype = [np.float64, np.float32] if self.dtype is None else check_dtype(self.dtype)
        X, y = validate_data(self, X, y, dtype=dtype, order="C")
        check_classification_targets(y)
        X = _check_unit_range(X, type(self).__name__)
        sizes = self._layer_sizes()
        settings = self._layer_settings(len(sizes))
        softmax_weight_decay = check_nonnegative_float(self.softmax_weight_decay,
                                                       "softmax_weight_decay")
        fine_tune_max_iter = check_positive_int(self.fine_tune_max_iter, "fine_tune_max_iter")
        n_iter_no_change = check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        tol = check_nonnegative_float(self.tol, "tol")
        rng = check_random_state(self.random_state)

        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"StackedAutoencoderClassifier needs samples of at least 2 "
                             f"classes, but y contains only one class: {self.classes_[0]!r}.")
        targets = encoder.transform(y)

        use_validation = bool(self.fine_tune) and bool(self.early_stopping)
        if use_validation:
            X_train, X_val, t_train, t_val = _stratified_split(
                X, targets, self.validation_fraction, rng)
        else:
            X_train, t_train = X, targets
        if self.augment is not None:
            X_train, t_train = self._augmented(X_train, t_train)

        self.n_iter_ = 0
        self.loss_curve_ = []
        # The first Ctrl-C ends the running stage at the end of its iteration.
        # Later layers then train for one iteration only, fine-tuning is
        # skipped, and the softmax is still fitted so the model stays usable.
        with _Interrupt() as interrupt:
            self._interrupt = interrupt
            try:
                coefs, intercepts = self._pretrain(X_train, sizes, settings, rng)
                softmax_coef, softmax_intercept = self._fit_softmax(
                    X_train, t_train, coefs, intercepts, softmax_weight_decay)
                if self.fine_tune and not interrupt.requested:
                    validation = (X_val, t_val) if use_validation else None
                    coefs, intercepts, softmax_coef, softmax_intercept = self._fine_tune(
                        X_train, t_train, validation, coefs, intercepts, softmax_coef,
                        softmax_intercept, softmax_weight_decay, fine_tune_max_iter, tol,
                        n_iter_no_change)
            finally:
                del self._interrupt
        if interrupt.requested:
            warnings.warn("StackedAutoencoderClassifier: interrupted; the stages finished "
                          "so far are kept, later layers were trained for one iteration "
                          "only and fine-tuning was skipped or stopped early.", RuntimeWarning,
                          stacklevel=2)
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.softmax_coef_ = softmax_coef
        self.softmax_intercept_ = softmax_intercept
        return self

    def _augmented(self, X, targets):
        """Apply ``augment`` to the training part and check what it returns."""
        if not callable(self.augment):
            raise TypeError(f"augment must be callable as augment(X, y) or None, got "
                            f"{self.augment!r}.")
        X_aug, t_aug = self.augment(X, targets)
        X_aug = np.ascontiguousarray(X_aug, dtype=X.dtype)
        t_aug = np.asarray(t_aug)
        if X_aug.ndim != 2 or X_aug.shape[1] != X.shape[1]:
            raise ValueError(f"augment returned X of shape {X_aug.shape}; it must keep the "
                             f"{X.shape[1]} features of the input.")
        if t_aug.shape != (X_aug.shape[0],):
            raise ValueError(f"augment returned {X_aug.shape[0]} rows of X but y of shape "
                             f"{t_aug.shape}; it must return one label per row.")
        if not np.isin(t_aug, np.arange(len(self.classes_))).all():
            raise ValueError("augment returned labels that are not among the training "
                             "labels; it must only repeat the labels it is given.")
        if X_aug.size and not np.isfinite(X_aug).all():
            raise ValueError("augment returned NaN or infinite values; it must return "
                             "finite values in [0, 1].")
        if X_aug.size and (X_aug.min() < 0 or X_aug.max() > 1):
            raise ValueError(f"augment returned values in [{X_aug.min():g}, "
                             f"{X_aug.max():g}]; it must keep them in [0, 1].")
        X_aug = _check_unit_range(X_aug, f"{type(self).__name__} (augmented data)")
        logger.info("augmented the training part from %d to %d samples", X.shape[0],
                    X_aug.shape[0])
        return X_aug, t_aug.astype(targets.dtype)

    def _pretrain(self, X, sizes, settings, rng):
        """Fit one autoencoder per layer, each on the codes of the layer below."""
        coefs, intercepts, self.pretrain_loss_curves_ = [], [], []
        H = X
        for layer, (size, setting) in enumerate(zip(sizes, settings)):
            autoencoder = JacobianSparseAutoencoder(
                n_hidden=size, tied=self.tied, solver=self.solver, backend=self.backend,
                n_threads=self.n_threads, dtype=X.dtype.name,
                random_state=rng.randint(np.iinfo(np.int32).max), verbose=self.verbose,
                **setting)
            if self._interrupt.requested:
                # Interrupted earlier: one iteration keeps the model usable.
                autoencoder.set_params(max_iter=1)
            autoencoder.fit(H)
            if getattr(autoencoder, "stop_reason_", None) == "interrupted":
                self._interrupt.requested = True
            logger.info("pretrained layer %d (%d units): %d iterations, cost %.6g", layer + 1,
                        size, autoencoder.n_iter_, autoencoder.loss_curve_[-1]
                        if autoencoder.loss_curve_ else float("nan"))
            coefs.append(autoencoder.components_)
            intercepts.append(autoencoder.intercept_hidden_)
            self.pretrain_loss_curves_.append(autoencoder.loss_curve_)
            H = encode(H, autoencoder.components_, autoencoder.intercept_hidden_)
        return coefs, intercepts

    def _fit_softmax(self, X, targets, coefs, intercepts, weight_decay):
        """Fit the softmax on the top codes; return weights for all classes.

        A class missing from the training part (possible after the validation
        split of a tiny data set) gets zero weights and a bias of -30, so the
        network starts by predicting it with probability about 1e-13.
        """
        H = X
        for W, b in zip(coefs, intercepts):
            H = encode(H, W, b)
        classifier = SoftmaxClassifier(weight_decay=weight_decay, max_iter=self.softmax_max_iter)
        classifier.fit(H, targets)
        n_classes = len(self.classes_)
        coef = np.zeros((n_classes, H.shape[1]), dtype=X.dtype)
        intercept = np.full(n_classes, -30.0, dtype=X.dtype)
        present = classifier.classes_
        coef[present] = classifier.coef_
        intercept[present] = classifier.intercept_
        return coef, intercept

    def _fine_tune(self, X, targets, validation, coefs, intercepts, softmax_coef,
                   softmax_intercept, weight_decay, max_iter, tol, n_iter_no_change):
        """Train all layers jointly with L-BFGS; return the kept parameters."""
        n_classes = len(self.classes_)
        Y = np.zeros((X.shape[0], n_classes), dtype=X.dtype)
        Y[np.arange(X.shape[0]), targets] = 1
        packing = _Packing(coefs, intercepts, softmax_coef, softmax_intercept, X.dtype)

        def fun(vector):
            loss, grads = network_loss_and_grad(X, Y, *packing.unpack(vector), weight_decay)
            return loss, packing.pack(grads["coefs"], grads["intercepts"],
                                      grads["softmax_coef"], grads["softmax_intercept"])

        tracker = None
        if validation is not None:
            X_val, t_val = validation

            def validation_score(params):
                network = packing.unpack(params["vector"])
                return -_cross_entropy(X_val, t_val, *network)

            tracker = _EarlyStopping(validation_score, tol, n_iter_no_change)
        start = packing.pack(coefs, intercepts, softmax_coef, softmax_intercept)
        if tracker is not None:
            tracker.record({"vector": start})
        stopped_early = False
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=max_iter, desc="fine-tuning", unit="it")

        def callback(intermediate_result):
            nonlocal stopped_early
            self.n_iter_ += 1
            self.loss_curve_.append(float(intermediate_result.fun))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(cost=f"{intermediate_result.fun:.6g}", refresh=False)
            if tracker is not None and tracker.record({"vector": intermediate_result.x}):
                stopped_early = True
                raise StopIteration
            if self._interrupt.requested:
                stopped_early = True
                raise StopIteration

        try:
            result = minimize(fun, start, jac=True, method="L-BFGS-B", callback=callback,
                              options={"maxiter": max_iter, "ftol": tol, "gtol": tol,
                                       "maxfun": max(15000, 20 * max_iter)})
        finally:
            if bar is not None:
                bar.close()
        if result.status == 1 and not stopped_early:
            warnings.warn(f"StackedAutoencoderClassifier: fine-tuning reached "
                          f"fine_tune_max_iter={max_iter} before converging; increase "
                          f"fine_tune_max_iter.", ConvergenceWarning, stacklevel=3)
        if tracker is None:
            return packing.unpack(result.x)
        self.validation_loss_curve_ = [-s for s in tracker.scores]
        self.best_validation_loss_ = -tracker.best_score
        logger.info("fine-tuning: %d iterations, best validation cross-entropy %.6g",
                    self.n_iter_, self.best_validation_loss_)
        return packing.unpack(tracker.best_params["vector"])

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def encode(self, X):
        """Return the top layer's codes, shape (n_samples, hidden_layer_sizes[-1]).

        The method is not called ``transform`` so that scikit-learn does not
        treat the classifier as a transformer.
        """
        check_is_fitted(self)
        H = self._validate_X(X, reset=False)
        for W, b in zip(self.coefs_, self.intercepts_):
            H = encode(H, W, b)
        return H

    def _logits(self, X):
        H = self.encode(X)
        return H @ self.softmax_coef_.T + self.softmax_intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.classifier_tags.multi_class = True
        return tags


def _cross_entropy(X, targets, coefs, intercepts, softmax_coef, softmax_intercept):
    """Return the mean cross-entropy of the network on ``(X, targets)``."""
    H = X
    for W, b in zip(coefs, intercepts):
        H = encode(H, W, b)
    logits = (H @ softmax_coef.T + softmax_intercept).astype(np.float64)
    log_proba = logits - logsumexp(logits, axis=1, keepdims=True)
    return -float(np.mean(log_proba[np.arange(len(targets)), targets]))


def _stratified_split(X, targets, validation_fraction, rng):
    """Hold out a validation part, stratified by class when every class allows it."""
    fraction = check_open_unit(validation_fraction, "validation_fraction")
    m = X.shape[0]
    n_val = int(round(fraction * m))
    if n_val < 1 or n_val >= m:
        raise ValueError(f"early stopping needs at least one training and one validation "
                         f"sample, but validation_fraction={fraction} of {m} samples gives "
                         f"{n_val} validation samples; pass more samples, change "
                         f"validation_fraction or set early_stopping=False.")
    counts = np.bincount(targets)
    n_classes = np.count_nonzero(counts)
    stratify = targets if counts[counts > 0].min() >= 2 and n_classes <= n_val else None
    X_train, X_val, t_train, t_val = train_test_split(
        X, targets, test_size=n_val, random_state=rng, stratify=stratify)
    if len(np.unique(t_train)) < 2:
        raise ValueError(f"the training part left after holding out {n_val} validation "
                         f"samples has only one class; pass more samples or set "
                         f"early_stopping=False.")
    return (np.ascontiguousarray(X_train), np.ascontiguousarray(X_val), t_train, t_val)
