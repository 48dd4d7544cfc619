"""Optimizers around the JSAE cost: full-batch L-BFGS and gradient descent, Adam.

The trainer validates its inputs once, then calls a backend's kernel directly
on every iteration.  L-BFGS works on one float64 vector of all parameters, as
SciPy requires; each evaluation unpacks it into arrays of the data's dtype,
which costs O(n s) and is small next to the O(m n s) cost evaluation.
"""

import dataclasses
import logging
import signal
import threading
import time
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._backends import resolve_backend
from ._model import DEFAULT_PENALTIES, init_params
from ._threads import resolve_n_threads
from ._validation import (
    check_nonnegative_float,
    check_params,
    check_penalties,
    check_positive_int,
    check_X,
)

logger = logging.getLogger(__name__)

SOLVERS = ("lbfgs", "gd", "adam")
_PARAM_NAMES = ("W", "b", "V", "c")


class NonFiniteCostError(FloatingPointError):
    """Raised when the cost or gradient becomes NaN or infinite during training.

    Attributes
    ----------
    iteration : int
        Iteration at which the non-finite value appeared.
    last_finite_loss : float or None
        The last finite cost seen, or None if there was none.
    params : dict or None
        The parameters at which that last finite cost was reached.
    """

    def __init__(self, message, *, iteration, last_finite_loss, params):
        super().__init__(message)
        self.iteration = iteration
        self.last_finite_loss = last_finite_loss
        self.params = params


@dataclasses.dataclass
class TrainingResult:
    """Outcome of :meth:`Trainer.fit`.

    Attributes
    ----------
    params : dict
        Trained parameters ``{"W", "b", "V", "c"}`` (``V`` None when tied).
    loss_history : list of float
        Cost after each iteration (for Adam, the mean mini-batch cost of each
        epoch).
    n_iter : int
        Iterations (epochs for Adam) run.
    n_evaluations : int
        Cost-and-gradient evaluations, line-search trials included.
    converged : bool
        True if the tolerance was met before ``max_iter``.
    stop_reason : str
        Why training stopped: ``"converged"``, ``"max_iter"``, ``"callback"``
        or ``"interrupted"``.
    elapsed : float
        Wall-clock seconds spent in :meth:`Trainer.fit`.
    backend : str
        Backend that computed the cost.
    """

    params: dict
    loss_history: list
    n_iter: int
    n_evaluations: int
    converged: bool
    stop_reason: str
    elapsed: float
    backend: str


class _Interrupt:
    """Turn the first Ctrl-C during a fit into a request to stop after the iteration.

    A second Ctrl-C raises KeyboardInterrupt at once.  Signal handlers can only
    be installed from the main thread; elsewhere Ctrl-C keeps its default effect.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("interrupt received: stopping after the current iteration "
                       "(press Ctrl-C again to abort at once)")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class Trainer:
    """Fit autoencoder parameters by minimising the JSAE cost.

    Solvers:

    * ``"lbfgs"``: full-batch L-BFGS (``scipy.optimize.minimize`` with
      L-BFGS-B, unbounded), the usual choice for sparse autoencoders.
    * ``"gd"``: full-batch gradient descent with a fixed step.
    * ``"adam"``: mini-batch Adam; one iteration is one epoch over shuffled
      mini-batches.  Each mini-batch cost uses that batch's mean activations.

    Each iteration costs one evaluation of the cost and gradient, O(m n s),
    except for L-BFGS line-search trials.

    Parameters
    ----------
    solver : {"lbfgs", "gd", "adam"}, default="lbfgs"
        Optimizer.
    max_iter : int, default=400
        Maximum iterations (epochs for Adam).
    tol : float, default=1e-9
        Convergence tolerance.  L-BFGS uses it as SciPy's ``ftol`` and ``gtol``;
        gradient descent stops when the cost decreases by less than
        ``tol * max(1, |cost|)`` in one iteration; Adam when the epoch cost has
        not improved by ``tol`` for ``n_iter_no_change`` epochs.
    learning_rate : float or None, default=None
        Step size for ``"gd"`` (default 1.0) and ``"adam"`` (default 1e-3);
        unused by L-BFGS.
    batch_size : int, default=256
        Mini-batch size for ``"adam"``; clipped to the number of samples.
    n_iter_no_change : int, default=10
        Patience of the Adam stopping rule.
    random_state : int, RandomState instance or None, default=None
        Seed for parameter initialisation (when ``fit`` gets no parameters)
        and Adam's shuffling.  A fixed seed gives identical results for a fixed
        ``n_threads``.
    n_threads : int or None, default=None
        Threads for the kernels and BLAS; None uses all usable cores.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Cost-and-gradient implementation.
    callback : callable or None, default=None
        Called after each iteration as ``callback(iteration, loss, params)``;
        returning True stops training.
    verbose : int, default=0
        0 is silent; 1 shows a tqdm progress bar with the current cost.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast import Trainer
    >>> X = np.random.default_rng(0).random((50, 16))
    >>> result = Trainer(max_iter=20, random_state=0).fit(X, n_hidden=4)
    >>> result.loss_history[-1] < result.loss_history[0]
    True
    """

    def __init__(self, solver="lbfgs", *, max_iter=400, tol=1e-9, learning_rate=None,
                 batch_size=256, n_iter_no_change=10, random_state=None, n_threads=None,
                 backend="auto", callback=None, verbose=0):
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.n_threads = n_threads
        self.backend = backend
        self.callback = callback
        self.verbose = verbose

    def fit(self, X, params=None, *, n_hidden=196, tied=False,
            sparsity_target=DEFAULT_PENALTIES["sparsity_target"],
            weight_decay=DEFAULT_PENALTIES["weight_decay"],
            sparsity_weight=DEFAULT_PENALTIES["sparsity_weight"],
            jacobian_weight=DEFAULT_PENALTIES["jacobian_weight"]):
        """Minimise the cost on ``X``, starting from ``params``.

        Parameters
        ----------
        X : array-like of shape (m, n)
            Training data in ``[0, 1]``, float32 or float64.
        params : dict or None, default=None
            Starting parameters ``{"W", "b", "V", "c"}`` of the dtype of ``X``;
            they are not modified.  None draws them with
            :func:`jsae_fast.init_params` from ``n_hidden``, ``tied`` and
            ``random_state``.
        n_hidden : int, default=196
            Hidden units, when ``params`` is None.
        tied : bool, default=False
            Tied weights, when ``params`` is None.
        sparsity_target, weight_decay, sparsity_weight, jacobian_weight : float
            Cost hyperparameters; the defaults give the JSAE of ``docs/model.md``.

        Returns
        -------
        result : TrainingResult

        Raises
        ------
        NonFiniteCostError
            If the cost becomes NaN or infinite; the exception carries the last
            finite cost and its parameters.
        """
        started = time.perf_counter()
        penalties = check_penalties(sparsity_target, weight_decay, sparsity_weight,
                                    jacobian_weight)
        X = check_X(X)
        if params is None:
            params = init_params(X.shape[1], n_hidden, tied=tied, dtype=X.dtype,
                                 random_state=self.random_state)
        W, b, V, c = check_params(X, params["W"], params["b"], params.get("V"), params["c"])
        state = _FitState(self, X, {"W": W, "b": b, "V": V, "c": c}, penalties)
        logger.info("training: solver=%s backend=%s m=%d n=%d s=%d dtype=%s threads=%d",
                    self.solver, state.backend_name, X.shape[0], X.shape[1], W.shape[0],
                    X.dtype.name, state.n_threads)
        run = {"lbfgs": _run_lbfgs, "gd": _run_gd, "adam": _run_adam}[state.solver]
        with state.progress(), _Interrupt() as interrupt:
            state.interrupt = interrupt
            run(state)
        if state.stop_reason == "max_iter":
            warnings.warn(f"Trainer: solver {state.solver!r} reached max_iter={state.max_iter} "
                          f"before the tolerance was met; increase max_iter or tol.",
                          ConvergenceWarning, stacklevel=2)
        if state.stop_reason == "interrupted":
            warnings.warn(f"Trainer: interrupted after {state.n_iter} iterations; the "
                          f"best parameters seen so far are returned.",
                          RuntimeWarning, stacklevel=2)
        elapsed = time.perf_counter() - started
        logger.info("training stopped (%s) after %d iterations, %d evaluations, %.2f s, "
                    "cost %.6g", state.stop_reason, state.n_iter, state.n_evaluations,
                    elapsed, state.loss_history[-1] if state.loss_history else float("nan"))
        return TrainingResult(
            params=state.best_params(),
            loss_history=state.loss_history,
            n_iter=state.n_iter,
            n_evaluations=state.n_evaluations,
            converged=state.stop_reason == "converged",
            stop_reason=state.stop_reason,
            elapsed=elapsed,
            backend=state.backend_name,
        )


class _FitState:
    """Validated settings and running state of one fit."""

    def __init__(self, trainer, X, params, penalties):
        if trainer.solver not in SOLVERS:
            valid = ", ".join(repr(s) for s in SOLVERS)
            raise ValueError(f"unknown solver {trainer.solver!r}; valid solvers are {valid}.")
        self.solver = trainer.solver
        self.max_iter = check_positive_int(trainer.max_iter, "max_iter")
        self.tol = check_nonnegative_float(trainer.tol, "tol")
        default_rate = {"lbfgs": None, "gd": 1.0, "adam": 1e-3}[self.solver]
        rate = trainer.learning_rate if trainer.learning_rate is not None else default_rate
        if rate is not None:
            rate = check_nonnegative_float(rate, "learning_rate")
            if rate == 0:
                raise ValueError("learning_rate must be > 0, got 0.")
        self.learning_rate = rate
        self.batch_size = check_positive_int(trainer.batch_size, "batch_size")
        self.n_iter_no_change = check_positive_int(trainer.n_iter_no_change,
                                                   "n_iter_no_change")
        if trainer.callback is not None and not callable(trainer.callback):
            raise TypeError(f"callback must be callable or None, got {trainer.callback!r}.")
        self.callback = trainer.callback
        self.verbose = int(trainer.verbose)
        self.rng = check_random_state(trainer.random_state)
        self.backend_name, self.kernel = resolve_backend(trainer.backend)
        self.n_threads = resolve_n_threads(trainer.n_threads)

        self.X = X
        self.penalties = penalties
        self.tied = params["V"] is None
        self.dtype = X.dtype
        self.shapes = {k: v.shape for k, v in params.items() if v is not None}
        self.names = [k for k in _PARAM_NAMES if k in self.shapes]
        self.params = {k: (None if v is None else v.copy()) for k, v in params.items()}

        self.loss_history = []
        self.n_iter = 0
        self.n_evaluations = 0
        self.stop_reason = "max_iter"
        self.interrupt = None
        self._bar = None
        self._best = (np.inf, None)
        self._last_finite = (None, None)

    # Parameter packing for SciPy.
    def pack(self, params):
        return np.concatenate([params[k].ravel() for k in self.names]).astype(np.float64)

    def unpack(self, vector):
        params, offset = {"V": None}, 0
        for k in self.names:
            size = int(np.prod(self.shapes[k]))
            params[k] = vector[offset:offset + size].reshape(self.shapes[k]).astype(
                self.dtype)
            offset += size
        return params

    def evaluate(self, params, X=None):
        """Return ``(loss, grads)``, raising NonFiniteCostError on NaN or inf."""
        X = self.X if X is None else X
        loss, gW, gb, gV, gc = self.kernel(X, params["W"], params["b"], params["V"],
                                           params["c"], *self.penalties, self.n_threads)
        self.n_evaluations += 1
        grads = {"W": gW, "b": gb, "V": gV, "c": gc}
        finite = np.isfinite(loss) and all(
            g is None or np.isfinite(g).all() for g in grads.values())
        if not finite:
            last_loss, last_params = self._last_finite
            raise NonFiniteCostError(
                f"the cost or gradient became non-finite (cost={loss}) at iteration "
                f"{self.n_iter + 1}; the last finite cost was {last_loss}. Lower the "
                f"learning rate or the penalty weights; the exception's params "
                f"attribute holds the last good parameters.",
                iteration=self.n_iter + 1, last_finite_loss=last_loss,
                params=last_params)
        return loss, grads

    def end_iteration(self, loss, params):
        """Record one finished iteration; return True if training must stop."""
        self.n_iter += 1
        self.loss_history.append(float(loss))
        self._last_finite = (float(loss), params)
        if loss < self._best[0]:
            self._best = (float(loss), params)
        logger.debug("iteration %d: cost %.8g", self.n_iter, loss)
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(cost=f"{loss:.6g}", refresh=False)
        if self.callback is not None and self.callback(self.n_iter, float(loss), params):
            self.stop_reason = "callback"
            return True
        if self.interrupt is not None and self.interrupt.requested:
            self.stop_reason = "interrupted"
            return True
        return False

    def best_params(self):
        params = self._best[1] if self._best[1] is not None else self.params
        return {k: (None if v is None else v.copy()) for k, v in params.items()}

    def progress(self):
        state = self

        class _Progress:
            def __enter__(self):
                if state.verbose > 0:
                    from tqdm.auto import tqdm

                    state._bar = tqdm(total=state.max_iter, desc=f"JSAE {state.solver}",
                                      unit="it", leave=True)
                return self

            def __exit__(self, *exc):
                if state._bar is not None:
                    state._bar.close()
                    state._bar = None
                return False

        return _Progress()


def _run_lbfgs(state):
    def fun(vector):
        loss, grads = state.evaluate(state.unpack(vector))
        return loss, state.pack(grads)

    def callback(intermediate_result):
        params = state.unpack(intermediate_result.x)
        if state.end_iteration(float(intermediate_result.fun), params):
            raise StopIteration

    result = minimize(
        fun, state.pack(state.params), jac=True, method="L-BFGS-B", callback=callback,
        options={"maxiter": state.max_iter, "ftol": state.tol, "gtol": state.tol,
                 "maxfun": max(15000, 20 * state.max_iter)},
    )
    if state.stop_reason in ("callback", "interrupted"):
        return
    if state.n_iter < state.max_iter and result.status == 0:
        state.stop_reason = "converged"
    elif state.n_iter < state.max_iter:
        # Line-search failure or evaluation cap: treat like convergence, because
        # L-BFGS cannot make progress from here.
        logger.info("L-BFGS stopped early: %s", result.message)
        state.stop_reason = "converged"


def _run_gd(state):
    params = state.params
    previous = None
    for _ in range(state.max_iter):
        loss, grads = state.evaluate(params)
        if previous is not None and previous - loss <= state.tol * max(1.0, abs(loss)):
            state.stop_reason = "converged"
            # The cost at the current parameters was measured before this step.
            state._last_finite = (loss, params)
            return
        new = {k: None if v is None else v - state.learning_rate * grads[k]
               for k, v in params.items()}
        previous = loss
        if state.end_iteration(loss, params):
            return
        params = new


def _run_adam(state, beta1=0.9, beta2=0.999, epsilon=1e-8):
    X = state.X
    m = X.shape[0]
    batch = min(state.batch_size, m)
    params = {k: (None if v is None else v.copy()) for k, v in state.params.items()}
    moment1 = {k: np.zeros_like(params[k]) for k in state.names}
    moment2 = {k: np.zeros_like(params[k]) for k in state.names}
    step = 0
    best, stale = np.inf, 0
    for _ in range(state.max_iter):
        order = state.rng.permutation(m)
        total = 0.0
        for start in range(0, m, batch):
            rows = np.sort(order[start:start + batch])
            loss, grads = state.evaluate(params, np.ascontiguousarray(X[rows]))
            total += loss * len(rows)
            step += 1
            for k in state.names:
                g = grads[k]
                moment1[k] *= beta1
                moment1[k] += (1 - beta1) * g
                moment2[k] *= beta2
                moment2[k] += (1 - beta2) * g * g
                rate = state.learning_rate * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                params[k] -= (rate * moment1[k] / (np.sqrt(moment2[k]) + epsilon)).astype(
                    state.dtype)
        epoch_loss = total / m
        snapshot = {k: (None if v is None else v.copy()) for k, v in params.items()}
        if state.end_iteration(epoch_loss, snapshot):
            return
        if epoch_loss < best - state.tol:
            best, stale = epoch_loss, 0
        else:
            stale += 1
            if stale >= state.n_iter_no_change:
                state.stop_reason = "converged"
                return
