"""scikit-learn estimators for Jacobian-regularized sparse autoencoders.

:class:`JacobianSparseAutoencoder` wraps :class:`jsae_fast.Trainer` as a
scikit-learn transformer: ``fit`` learns the encoder and decoder, ``transform``
returns the hidden codes and ``inverse_transform`` decodes codes back to the
input space.  :class:`Autoencoder`, :class:`SparseAutoencoder` and
:class:`ContractiveAutoencoder` are the same model with some penalty weights
fixed to zero.  Their ``__init__`` has no parameter for a fixed weight, so
``get_params``, ``clone`` and grid searches only see the free ones.

Every estimator rejects data outside ``[0, 1]``, because the sigmoid decoder
cannot reconstruct such values.
"""

import logging

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._backends import resolve_backend
from ._mixins import ModelFileMixin
from ._model import DEFAULT_PENALTIES, decode, encode, init_params, kl_divergence_and_derivative
from ._threads import resolve_n_threads
from ._validation import (
    check_bool,
    check_dtype,
    check_nonnegative_float,
    check_open_unit,
    check_penalties,
    check_positive_int,
    check_random_state,
    check_X,
)
from .trainer import SOLVERS, Trainer

logger = logging.getLogger(__name__)

__all__ = [
    "Autoencoder",
    "ContractiveAutoencoder",
    "JacobianSparseAutoencoder",
    "SparseAutoencoder",
]

_MINI_BATCH_SOLVERS = ("adam", "gd")
_ADAM_BETA1, _ADAM_BETA2, _ADAM_EPSILON = 0.9, 0.999, 1e-8


def jsae_cost(X, params, penalties):
    """Return the JSAE cost of ``params`` on ``X`` without its gradient.

    Only the two forward GEMMs are computed, so this costs about 2/5 of a
    cost-and-gradient evaluation.  Sums are accumulated in float64.

    Parameters
    ----------
    X : ndarray of shape (m, n)
        Validated data.
    params : dict
        ``{"W", "b", "V", "c"}`` of the dtype of ``X``; ``V`` None when tied.
    penalties : tuple of float
        ``(sparsity_target, weight_decay, sparsity_weight, jacobian_weight)``.

    Returns
    -------
    cost : float
    """
    sparsity_target, weight_decay, sparsity_weight, jacobian_weight = penalties
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    m = X.shape[0]
    H = encode(X, W, b)
    Z = decode(H, W.T if V is None else V, c)
    Z -= X
    cost = 0.5 / m * float(np.einsum("ij,ij->", Z, Z, dtype=np.float64))
    decay = float(np.sum(np.square(W, dtype=np.float64)))
    if V is not None:
        decay += float(np.sum(np.square(V, dtype=np.float64)))
    cost += 0.5 * weight_decay * decay
    if sparsity_weight > 0:
        rho_hat = H.mean(axis=0, dtype=np.float64)
        cost += sparsity_weight * kl_divergence_and_derivative(sparsity_target, rho_hat)[0]
    if jacobian_weight > 0:
        Q2 = np.square(H * (1 - H), dtype=np.float64).sum(axis=0)
        row_norms = np.sum(np.square(W, dtype=np.float64), axis=1)
        cost += 0.5 * jacobian_weight / m * float(Q2 @ row_norms)
    return cost


class JacobianSparseAutoencoder(ModelFileMixin, ClassNamePrefixFeaturesOutMixin,
                                TransformerMixin, BaseEstimator):
    """Jacobian-regularized sparse autoencoder (JSAE) as a scikit-learn transformer.

    A sigmoid autoencoder whose cost adds weight decay, a KL sparsity penalty
    on the mean hidden activations and the squared Frobenius norm of the
    encoder's Jacobian to the squared reconstruction error::

        J = 1/(2m) ||Z - X||^2 + weight_decay/2 (||W||^2 + ||V||^2)
            + sparsity_weight * sum_j KL(sparsity_target || rho_hat_j)
            + jacobian_weight/(2m) sum_i ||dh(x_i)/dx_i||_F^2

    with ``H = sigmoid(X W^T + b)`` and ``Z = sigmoid(H V^T + c)``.  One
    evaluation of the cost and gradient costs O(m n s) for m samples, n
    features and s hidden units; :class:`jsae_fast.Trainer` runs it on the
    fused Cython or Numba kernels.

    Parameters
    ----------
    n_hidden : int, default=196
        Hidden units ``s``.
    sparsity_target : float, default=0.1
        Target mean activation of each hidden unit, in (0, 1).
    weight_decay : float, default=3e-3
        L2 penalty on the weights (biases are not decayed).
    sparsity_weight : float, default=3.0
        Weight of the KL sparsity penalty.
    jacobian_weight : float, default=0.03
        Weight of the Jacobian penalty (``jsae_fast._model.DEFAULT_PENALTIES``).
    tied : bool, default=False
        If True the decoder uses ``W.T`` and has no weights of its own.
    solver : {"lbfgs", "gd", "adam"}, default="lbfgs"
        Optimizer; see :class:`jsae_fast.Trainer`.
    max_iter : int, default=400
        Maximum iterations (epochs for Adam).
    batch_size : int, default=256
        Mini-batch size for Adam and ``partial_fit``.
    learning_rate : float or None, default=None
        Step size for ``"gd"`` (default 1.0) and ``"adam"`` (default 1e-3).
    tol : float, default=1e-9
        Convergence tolerance of the solver; with ``early_stopping`` also the
        minimum decrease of the validation cost that counts as improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples, compute their cost
        after every iteration, keep the parameters with the lowest validation
        cost and stop after ``n_iter_no_change`` iterations without
        improvement.
    validation_fraction : float, default=0.1
        Share of the samples held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=10
        Patience of early stopping and of the Adam stopping rule.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Cost-and-gradient implementation.
    n_threads : int or None, default=None
        Threads for the kernels and BLAS; None uses all usable cores.
    dtype : {None, "float32", "float64"}, default=None
        Floating-point type of the parameters; None keeps the float dtype of
        ``X`` (float32 stays float32, other types become float64).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial parameters, the validation split and shuffling.
    warm_start : bool, default=False
        Start ``fit`` from the current parameters when their shapes fit.
    verbose : int, default=0
        1 shows a tqdm progress bar with the current cost.
    checkpoint_path : str, path-like or None, default=None
        File to which :class:`jsae_fast.Trainer` writes training checkpoints
        (when ``fit`` stops, on the first Ctrl-C and every
        ``checkpoint_every`` iterations); ``fit(X, resume_from=path)``
        continues from one.
    checkpoint_every : int, default=0
        Also write a checkpoint every this many iterations; 0 disables it.

    Attributes
    ----------
    components_ : ndarray of shape (n_hidden, n_features_in_)
        Encoder weights ``W``.
    intercept_hidden_ : ndarray of shape (n_hidden,)
        Encoder biases ``b``.
    intercept_visible_ : ndarray of shape (n_features_in_,)
        Decoder biases ``c``.
    decoder_weights_ : ndarray of shape (n_features_in_, n_hidden) or None
        Decoder weights ``V``; None for tied weights.
    n_iter_ : int
        Iterations run by the last ``fit``, plus one per ``partial_fit`` call.
    loss_curve_ : list of float
        Training cost after each iteration.
    validation_scores_ : list of float
        With ``early_stopping``, the negative validation cost after each
        iteration; otherwise absent.
    best_validation_score_ : float
        With ``early_stopping``, the highest value of ``validation_scores_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    See Also
    --------
    Autoencoder, SparseAutoencoder, ContractiveAutoencoder :
        The same model with some penalties switched off.
    StackedAutoencoderClassifier : Stacked layers with a softmax on top.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import JacobianSparseAutoencoder
    >>> X = np.random.default_rng(0).random((100, 16))
    >>> model = JacobianSparseAutoencoder(n_hidden=4, max_iter=20, random_state=0)
    >>> model.fit(X).transform(X).shape
    (100, 4)
    """

    #: Penalty weights that a subclass fixes and leaves out of its ``__init__``.
    _fixed_penalties = {}

    def __init__(self, n_hidden=196, *, sparsity_target=DEFAULT_PENALTIES["sparsity_target"],
                 weight_decay=DEFAULT_PENALTIES["weight_decay"],
                 sparsity_weight=DEFAULT_PENALTIES["sparsity_weight"],
                 jacobian_weight=DEFAULT_PENALTIES["jacobian_weight"], tied=False,
                 solver="lbfgs", max_iter=400, batch_size=256, learning_rate=None, tol=1e-9,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 backend="auto", n_threads=None, dtype=None, random_state=None,
                 warm_start=False, verbose=0, checkpoint_path=None, checkpoint_every=0):
        self.n_hidden = n_hidden
        self.sparsity_target = sparsity_target
        self.weight_decay = weight_decay
        self.sparsity_weight = sparsity_weight
        self.jacobian_weight = jacobian_weight
        self.tied = tied
        self.solver = solver
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.backend = backend
        self.n_threads = n_threads
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    # ------------------------------------------------------------------
    # Validation helpers
    # ------------------------------------------------------------------

    def _penalties(self):
        """Return the validated ``(sparsity_target, weight_decay, sparsity_weight,
        jacobian_weight)``, the fixed ones of a subclass included."""
        values = {name: self._fixed_penalties.get(name, getattr(self, name, None))
                  for name in ("sparsity_target", "weight_decay", "sparsity_weight",
                               "jacobian_weight")}
        return check_penalties(**values)

    def _check_solver(self):
        if self.solver not in SOLVERS:
            valid = ", ".join(repr(s) for s in SOLVERS)
            raise ValueError(f"unknown solver {self.solver!r}; valid solvers are {valid}.")

    def _validate_X(self, X, *, reset):
        """Validate ``X`` through scikit-learn, then require values in [0, 1]."""
        if reset:
            dtype = [np.float64, np.float32] if self.dtype is None else check_dtype(self.dtype)
        else:
            dtype = self.components_.dtype
        X = validate_data(self, X, dtype=dtype, order="C", reset=reset)
        return _check_unit_range(X, type(self).__name__)

    def _params(self):
        return {"W": self.components_, "b": self.intercept_hidden_,
                "V": self.decoder_weights_, "c": self.intercept_visible_}

    def _set_params_attributes(self, params):
        self.components_ = params["W"]
        self.intercept_hidden_ = params["b"]
        self.decoder_weights_ = params["V"]
        self.intercept_visible_ = params["c"]

    def _initial_params(self, n_features, n_hidden, tied, dtype, rng):
        """Return the current parameters for a warm start, else a fresh draw."""
        if self.warm_start and hasattr(self, "components_"):
            params = self._params()
            same_shape = (params["W"].shape == (n_hidden, n_features)
                          and (params["V"] is None) == tied)
            if same_shape:
                return {k: None if v is None else v.astype(dtype, copy=True)
                        for k, v in params.items()}
            logger.info("warm_start ignored: the fitted parameters have other shapes")
        return init_params(n_features, n_hidden, tied=tied, dtype=dtype, random_state=rng)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def fit(self, X, y=None, resume_from=None):
        """Learn the encoder and decoder from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data with values in ``[0, 1]``.
        y : None
            Ignored.
        resume_from : str, path-like or None, default=None
            Continue from a checkpoint written with ``checkpoint_path``,
            instead of from fresh or warm-started parameters.  ``X``, the
            solver, the penalties, ``n_hidden`` and ``tied`` must match the
            checkpointed fit.  With ``early_stopping`` the validation split
            must match too, which a fixed ``random_state`` ensures.

        Returns
        -------
        self : JacobianSparseAutoencoder

        Raises
        ------
        ValueError
            If ``X`` has values outside ``[0, 1]``, NaN or infinite values, or
            a hyperparameter is out of range.  Also if the checkpoint
            ``resume_from`` does not match this fit, for example because it
            has another ``n_hidden`` or ``tied``.
        TypeError
            If a hyperparameter has the wrong type, such as a bool
            ``random_state``.
        jsae_fast.trainer.NonFiniteCostError
            If the cost diverges.

        Warns
        -----
        ConvergenceWarning
            If the solver reaches ``max_iter`` before converging.
        """
        X = self._validate_X(X, reset=True)
        penalties = self._penalties()
        self._check_solver()
        n_hidden = check_positive_int(self.n_hidden, "n_hidden")
        n_iter_no_change = check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        tol = check_nonnegative_float(self.tol, "tol")
        tied = check_bool(self.tied, "tied")
        rng = check_random_state(self.random_state)
        params = self._initial_params(X.shape[1], n_hidden, tied, X.dtype, rng)

        callback, X_train, tracker = None, X, None
        if self.early_stopping:
            X_train, X_val = _split_validation(X, self.validation_fraction, rng)
            tracker = _EarlyStopping(lambda p: -jsae_cost(X_val, p, penalties), tol,
                                     n_iter_no_change)
            if resume_from is None:
                # The starting point is scored as iteration 0.  A resumed fit
                # starts from the checkpoint's parameters instead, and the
                # tracker scores the iterates that follow them.
                tracker.record(params)
            callback = tracker
        trainer = Trainer(self.solver, max_iter=self.max_iter, tol=tol,
                          learning_rate=self.learning_rate, batch_size=self.batch_size,
                          n_iter_no_change=n_iter_no_change, random_state=rng,
                          n_threads=self.n_threads, backend=self.backend, callback=callback,
                          verbose=self.verbose, checkpoint_path=self.checkpoint_path,
                          checkpoint_every=self.checkpoint_every)
        names = ("sparsity_target", "weight_decay", "sparsity_weight", "jacobian_weight")
        penalty_kwargs = dict(zip(names, penalties))
        if resume_from is None:
            result = trainer.fit(X_train, params, **penalty_kwargs)
        else:
            # Trainer.fit raises ValueError when the checkpoint has another
            # n_hidden or tied, so the resumed model has the shape that
            # get_params() reports.
            try:
                result = trainer.fit(X_train, resume_from=resume_from, n_hidden=n_hidden,
                                     tied=tied, **penalty_kwargs)
            except ValueError as exc:
                raise ValueError(f"{exc} {self._resume_context(X_train)}") from exc

        if tracker is not None and tracker.best_params is not None:
            self._set_params_attributes(tracker.best_params)
            self.validation_scores_ = (tracker.scores[1:] if resume_from is None
                                       else list(tracker.scores))
            self.best_validation_score_ = tracker.best_score
        else:
            self._set_params_attributes(result.params)
            if tracker is not None:
                # A resumed fit that had no iteration left to run.
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
        self.n_iter_ = result.n_iter
        self.loss_curve_ = list(result.loss_history)
        self.stop_reason_ = result.stop_reason
        self._optimizer_state = None
        return self

    def _resume_context(self, X_train):
        """Describe the data this estimator passed to Trainer.fit, for resume errors."""
        source = ("its dtype parameter" if self.dtype is not None
                  else "the dtype of X, as dtype=None keeps it")
        text = (f"(The estimator passed {X_train.shape[0]} samples of dtype "
                f"{X_train.dtype.name}, set by {source}")
        if self.early_stopping:
            text += (f"; with early_stopping=True they are what is left after taking out "
                     f"validation_fraction={self.validation_fraction} of X at random, so "
                     f"the checkpointed fit must have used the same early_stopping, "
                     f"validation_fraction and a fixed random_state, here "
                     f"{self.random_state!r}")
        return text + ".)"

    @available_if(lambda self: self.solver in _MINI_BATCH_SOLVERS)
    def partial_fit(self, X, y=None):
        """Run one more epoch of the mini-batch solver on ``X``.

        Available for ``solver="adam"`` (one pass over shuffled mini-batches
        of ``batch_size``) and ``solver="gd"`` (one full-batch gradient step).
        Adam's moment estimates and step count carry over between calls, so
        successive calls continue one optimization; ``fit`` resets them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with values in ``[0, 1]``.
        y : None
            Ignored.

        Returns
        -------
        self : JacobianSparseAutoencoder
        """
        first_call = not hasattr(self, "components_")
        X = self._validate_X(X, reset=first_call)
        penalties = self._penalties()
        batch_size = check_positive_int(self.batch_size, "batch_size")
        rate = self.learning_rate
        if rate is None:
            rate = {"gd": 1.0, "adam": 1e-3}[self.solver]
        rate = check_nonnegative_float(rate, "learning_rate")
        _, kernel = resolve_backend(self.backend)
        n_threads = resolve_n_threads(self.n_threads)
        state = getattr(self, "_optimizer_state", None)
        if first_call or state is None:
            rng = check_random_state(self.random_state)
            if first_call:
                n_hidden = check_positive_int(self.n_hidden, "n_hidden")
                self._set_params_attributes(init_params(
                    X.shape[1], n_hidden, tied=check_bool(self.tied, "tied"), dtype=X.dtype,
                    random_state=rng))
                self.n_iter_ = 0
                self.loss_curve_ = []
            params = self._params()
            state = {"rng": rng, "step": 0,
                     "moment1": {k: np.zeros_like(v) for k, v in params.items() if v is not None},
                     "moment2": {k: np.zeros_like(v) for k, v in params.items() if v is not None}}
            self._optimizer_state = state

        params = {k: None if v is None else v.copy() for k, v in self._params().items()}
        m = X.shape[0]
        if self.solver == "gd":
            batches = [np.arange(m)]
        else:
            order = state["rng"].permutation(m)
            batches = [np.sort(order[i:i + batch_size]) for i in range(0, m, batch_size)]
        total = 0.0
        for rows in batches:
            X_batch = X if len(rows) == m else np.ascontiguousarray(X[rows])
            loss, gW, gb, gV, gc = kernel(X_batch, params["W"], params["b"], params["V"],
                                          params["c"], *penalties, n_threads)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the cost became non-finite (cost={loss}) in partial_fit; lower "
                    f"learning_rate (currently {rate}) or the penalty weights.")
            total += loss * len(rows)
            grads = {"W": gW, "b": gb, "V": gV, "c": gc}
            if self.solver == "gd":
                for k in state["moment1"]:
                    params[k] -= (rate * grads[k]).astype(params[k].dtype)
                continue
            state["step"] += 1
            step = state["step"]
            scale = rate * np.sqrt(1 - _ADAM_BETA2 ** step) / (1 - _ADAM_BETA1 ** step)
            for k in state["moment1"]:
                g = grads[k]
                state["moment1"][k] *= _ADAM_BETA1
                state["moment1"][k] += (1 - _ADAM_BETA1) * g
                state["moment2"][k] *= _ADAM_BETA2
                state["moment2"][k] += (1 - _ADAM_BETA2) * g * g
                update = scale * state["moment1"][k] / (np.sqrt(state["moment2"][k])
                                                        + _ADAM_EPSILON)
                params[k] -= update.astype(params[k].dtype)
        self._set_params_attributes(params)
        self.n_iter_ += 1
        self.loss_curve_.append(total / m)
        return self

    # ------------------------------------------------------------------
    # Using a fitted model
    # ------------------------------------------------------------------

    def transform(self, X):
        """Return the hidden codes ``sigmoid(X W^T + b)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Data with values in ``[0, 1]``; cast to the model's dtype.

        Returns
        -------
        H : ndarray of shape (n_samples, n_hidden)
            Codes in the model's dtype.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return encode(X, self.components_, self.intercept_hidden_)

    def inverse_transform(self, X):
        """Decode hidden codes back to the input space: ``sigmoid(H V^T + c)``.

        ``model.inverse_transform(model.transform(X))`` is the reconstruction
        of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_hidden)
            Hidden codes with values in ``[0, 1]``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        dtype = self.components_.dtype.type
        H = check_X(np.asarray(X), name="X", dtype=dtype, n_features=self.components_.shape[0])
        V = self.components_.T if self.decoder_weights_ is None else self.decoder_weights_
        return decode(H, V, self.intercept_visible_)

    def score(self, X, y=None):
        """Return the negative JSAE cost on ``X`` (higher is better).

        The cost is the training objective with this model's penalties:
        reconstruction error, weight decay, sparsity and Jacobian terms.  The
        sign is flipped so that model selection tools, which maximise scores,
        minimise the cost.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Data with values in ``[0, 1]``.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return -jsae_cost(X, self._params(), self._penalties())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class Autoencoder(JacobianSparseAutoencoder):
    """Plain sigmoid autoencoder with weight decay: a JSAE without sparsity or Jacobian terms.

    Takes the parameters of :class:`JacobianSparseAutoencoder` except
    ``sparsity_target``, ``sparsity_weight`` and ``jacobian_weight``, which
    are fixed (the two weights to 0).

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import Autoencoder
    >>> X = np.random.default_rng(0).random((50, 8))
    >>> Autoencoder(n_hidden=3, max_iter=10, random_state=0).fit(X).components_.shape
    (3, 8)
    """

    _fixed_penalties = {"sparsity_target": DEFAULT_PENALTIES["sparsity_target"],
                        "sparsity_weight": 0.0, "jacobian_weight": 0.0}

    def __init__(self, n_hidden=196, *, weight_decay=DEFAULT_PENALTIES["weight_decay"],
                 tied=False, solver="lbfgs", max_iter=400, batch_size=256, learning_rate=None,
                 tol=1e-9, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 backend="auto", n_threads=None, dtype=None, random_state=None,
                 warm_start=False, verbose=0, checkpoint_path=None, checkpoint_every=0):
        _store_init_arguments(self, locals())


class SparseAutoencoder(JacobianSparseAutoencoder):
    """Sparse autoencoder: weight decay and KL sparsity, no Jacobian term.

    Takes the parameters of :class:`JacobianSparseAutoencoder` except
    ``jacobian_weight``, which is fixed to 0.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import SparseAutoencoder
    >>> X = np.random.default_rng(0).random((50, 8))
    >>> SparseAutoencoder(n_hidden=3, max_iter=10, random_state=0).fit(X).n_iter_ <= 10
    True
    """

    _fixed_penalties = {"jacobian_weight": 0.0}

    def __init__(self, n_hidden=196, *, sparsity_target=DEFAULT_PENALTIES["sparsity_target"],
                 weight_decay=DEFAULT_PENALTIES["weight_decay"],
                 sparsity_weight=DEFAULT_PENALTIES["sparsity_weight"], tied=False,
                 solver="lbfgs", max_iter=400, batch_size=256, learning_rate=None, tol=1e-9,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 backend="auto", n_threads=None, dtype=None, random_state=None,
                 warm_start=False, verbose=0, checkpoint_path=None, checkpoint_every=0):
        _store_init_arguments(self, locals())


class ContractiveAutoencoder(JacobianSparseAutoencoder):
    """Contractive autoencoder: weight decay and the Jacobian penalty, no sparsity term.

    Takes the parameters of :class:`JacobianSparseAutoencoder` except
    ``sparsity_target`` and ``sparsity_weight``, which are fixed (the weight
    to 0).

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import ContractiveAutoencoder
    >>> X = np.random.default_rng(0).random((50, 8))
    >>> ContractiveAutoencoder(n_hidden=3, jacobian_weight=0.5, max_iter=10,
    ...                        random_state=0).fit(X).transform(X).shape
    (50, 3)
    """

    _fixed_penalties = {"sparsity_target": DEFAULT_PENALTIES["sparsity_target"],
                        "sparsity_weight": 0.0}

    def __init__(self, n_hidden=196, *, weight_decay=DEFAULT_PENALTIES["weight_decay"],
                 jacobian_weight=DEFAULT_PENALTIES["jacobian_weight"], tied=False,
                 solver="lbfgs", max_iter=400, batch_size=256, learning_rate=None, tol=1e-9,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 backend="auto", n_threads=None, dtype=None, random_state=None,
                 warm_start=False, verbose=0, checkpoint_path=None, checkpoint_every=0):
        _store_init_arguments(self, locals())


def _check_unit_range(X, owner):
    """Return a validated ``X`` after checking that its values lie in [0, 1]."""
    low = float(X.min())
    if low < 0:
        # scikit-learn's estimator checks expect this wording for negative input.
        raise ValueError(f"Negative values in data passed to {owner}: the minimum is "
                         f"{low:g}, but values must lie in [0, 1]. Scale the data first, for "
                         f"example with sklearn.preprocessing.MinMaxScaler.")
    return check_X(X, dtype=X.dtype.type)


def _store_init_arguments(estimator, arguments):
    """Store each ``__init__`` argument as an attribute of the same name, unchanged."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _split_validation(X, validation_fraction, rng):
    """Split the rows of ``X`` at random into a training and a validation part."""
    fraction = check_open_unit(validation_fraction, "validation_fraction")
    m = X.shape[0]
    n_val = int(round(fraction * m))
    if n_val < 1 or n_val >= m:
        raise ValueError(f"early stopping needs at least one training and one validation "
                         f"sample, but validation_fraction={fraction} of {m} samples gives "
                         f"{n_val} validation samples; pass more samples, change "
                         f"validation_fraction or set early_stopping=False.")
    order = rng.permutation(m)
    return (np.ascontiguousarray(X[np.sort(order[n_val:])]),
            np.ascontiguousarray(X[np.sort(order[:n_val])]))


class _EarlyStopping:
    """Trainer callback that scores each iterate and stops when it stops improving.

    ``score(params)`` is higher for better parameters.  The best parameters
    are copied, because a solver may reuse its arrays.
    """

    def __init__(self, score, tol, patience):
        self.score = score
        self.tol = tol
        self.patience = patience
        self.scores = []
        self.best_score = -np.inf
        self.best_params = None
        self._stale = 0

    def record(self, params):
        """Score ``params``; return True once ``patience`` iterations brought no gain."""
        value = float(self.score(params))
        self.scores.append(value)
        if value > self.best_score + self.tol or self.best_params is None:
            self.best_score = value
            self.best_params = {k: None if v is None else v.copy() for k, v in params.items()}
            self._stale = 0
            return False
        self._stale += 1
        if self._stale >= self.patience:
            logger.info("early stopping: no improvement of the validation score for %d "
                        "iterations; best %.6g", self.patience, self.best_score)
            return True
        return False

    def __call__(self, iteration, loss, params):
        return self.record(params)
