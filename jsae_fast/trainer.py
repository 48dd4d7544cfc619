"""Optimizers around the JSAE cost: full-batch L-BFGS and gradient descent, Adam.

The trainer validates its inputs once, then calls a backend's kernel directly
on every iteration.  L-BFGS (:mod:`jsae_fast._lbfgs`) works on one flat vector
of all parameters in the data's dtype.  The arrays passed to the kernel are
views of that vector, and each evaluation copies the gradients once into a
new flat vector.

A fit can write checkpoints (see :mod:`jsae_fast._checkpoint`) and resume from
one; a first Ctrl-C ends it cleanly after the current iteration.  Both are
described in ``docs/robustness.md``.
"""

import dataclasses
import hashlib
import logging
import os
import signal
import threading
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _checkpoint, _lbfgs, _vectors
from ._backends import resolve_backend
from ._model import DEFAULT_PENALTIES, init_params
from ._threads import blas_limits, resolve_n_threads
from ._validation import (
    check_bool,
    check_nonnegative_float,
    check_nonnegative_int,
    check_params,
    check_penalties,
    check_positive_int,
    check_random_state,
    check_X,
)

logger = logging.getLogger(__name__)

SOLVERS = ("lbfgs", "gd", "adam")
# Curvature pairs kept by L-BFGS.  Checkpoints store the pairs, so changing it
# makes older L-BFGS checkpoints fail validation.
_LBFGS_MEMORY = _lbfgs.DEFAULT_MEMORY
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

    * ``"lbfgs"``: full-batch L-BFGS with a strong Wolfe line search, the
      usual choice for sparse autoencoders.  It keeps 10 curvature pairs in
      the dtype of ``X`` (see :mod:`jsae_fast._lbfgs`).  A line-search trial
      whose cost is NaN or infinite counts as a step that is too long and is
      shortened; NonFiniteCostError is raised only when the line search ends
      on such a trial.
    * ``"gd"``: full-batch gradient descent with a fixed step.
    * ``"adam"``: mini-batch Adam; one iteration is one epoch over shuffled
      mini-batches.  Each mini-batch cost uses that batch's mean activations.

    Each iteration costs one evaluation of the cost and gradient, O(m n s),
    except for L-BFGS line-search trials.

    The first Ctrl-C (SIGINT) during :meth:`fit` stops training at the end of
    the current iteration: ``fit`` then warns, writes a checkpoint when
    ``checkpoint_path`` is set and returns the best parameters seen so far
    with ``stop_reason="interrupted"``.  A second Ctrl-C raises
    KeyboardInterrupt at once.  The handler is installed only when ``fit``
    runs in the main thread.

    Parameters
    ----------
    solver : {"lbfgs", "gd", "adam"}, default="lbfgs"
        Optimizer.
    max_iter : int, default=400
        Maximum iterations (epochs for Adam).  A resumed fit counts the
        iterations stored in the checkpoint towards this limit.
    tol : float, default=1e-9
        Convergence tolerance.  L-BFGS stops when the relative cost decrease
        ``(f_k - f_k+1) / max(|f_k|, |f_k+1|, 1)`` or the largest gradient
        component is at most ``tol`` (the ``ftol`` and ``gtol`` rules of
        SciPy's L-BFGS-B), or when its line search finds no step;
        gradient descent stops when the cost decreases by less than
        ``tol * max(1, |cost|)`` in one iteration; Adam when the epoch cost has
        not improved by ``tol`` for ``n_iter_no_change`` epochs.
    learning_rate : float or None, default=None
        Step size for ``"gd"`` (default 1.0) and ``"adam"`` (default 1e-3);
        unused by L-BFGS.
    batch_size : int, default=256
        Mini-batch size for ``"adam"``.  A value larger than the number of
        samples ``m`` is clipped to ``m``, so that each epoch is one
        full-batch step; it is not an error.
    n_iter_no_change : int, default=10
        Patience of the Adam stopping rule.
    random_state : int, RandomState instance or None, default=None
        Seed for parameter initialisation (when ``fit`` gets no parameters)
        and Adam's shuffling.  A fixed seed gives identical results for a fixed
        ``n_threads``.  A resumed fit restores the shuffling generator from
        the checkpoint instead.
    n_threads : int or None, default=None
        Threads for the kernels and BLAS; None uses all usable cores.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Cost-and-gradient implementation.
    callback : callable or None, default=None
        Called after each iteration as ``callback(iteration, loss, params)``;
        returning True stops training.
    verbose : int, default=0
        0 is silent; 1 shows a tqdm progress bar with the current cost.
    checkpoint_path : str, os.PathLike or None, default=None
        File to write training checkpoints to (an ``.npz`` archive, replaced
        atomically each time; see :func:`jsae_fast._checkpoint.save_checkpoint`).
        With a path, a checkpoint is written when ``fit`` stops normally, on
        the first Ctrl-C, and every ``checkpoint_every`` iterations.  Its
        folder must exist.
    checkpoint_every : int, default=0
        Also write a checkpoint after every ``checkpoint_every``-th iteration;
        0 writes only when ``fit`` stops.  A positive value needs
        ``checkpoint_path``.

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
                 backend="auto", callback=None, verbose=0, checkpoint_path=None,
                 checkpoint_every=0):
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
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def fit(self, X, params=None, *, n_hidden=None, tied=None,
            sparsity_target=DEFAULT_PENALTIES["sparsity_target"],
            weight_decay=DEFAULT_PENALTIES["weight_decay"],
            sparsity_weight=DEFAULT_PENALTIES["sparsity_weight"],
            jacobian_weight=DEFAULT_PENALTIES["jacobian_weight"],
            resume_from=None):
        """Minimise the cost on ``X``, starting from ``params`` or a checkpoint.

        Parameters
        ----------
        X : array-like of shape (m, n)
            Training data in ``[0, 1]``, float32 or float64.
        params : dict or None, default=None
            Starting parameters ``{"W", "b", "V", "c"}`` of the dtype of ``X``;
            they are not modified.  None draws them with
            :func:`jsae_fast.init_params` from ``n_hidden``, ``tied`` and
            ``random_state``.
        n_hidden : int or None, default=None
            Hidden units of a new model; None means 196.  With ``params`` or
            ``resume_from`` the number comes from them, and a value passed
            here must equal it.
        tied : bool or None, default=None
            Tied weights (``V = W.T``) for a new model; None means False.
            With ``params`` or ``resume_from`` the choice comes from them, and
            a value passed here must equal it.
        sparsity_target, weight_decay, sparsity_weight, jacobian_weight : float
            Cost hyperparameters; the defaults give the JSAE of ``docs/model.md``.
        resume_from : str, os.PathLike or None, default=None
            Checkpoint written by a Trainer with ``checkpoint_path``.  Training
            continues from its parameters, iteration count, loss history and
            solver state, and ``n_hidden`` and ``tied`` come from it.  The
            solver, the dtype, number of samples and data of ``X``, the four
            cost hyperparameters and, for L-BFGS, the number of curvature
            pairs kept must match the checkpoint (``docs/robustness.md`` lists
            what is stored).  For every solver, resuming with the same
            Trainer settings and a fixed ``n_threads`` gives the same result
            as an uninterrupted run: L-BFGS checkpoints contain its curvature
            history, last gradient and cost.

        Returns
        -------
        result : TrainingResult

        Raises
        ------
        NonFiniteCostError
            If the cost becomes NaN or infinite; the exception carries the last
            finite cost and its parameters.
        ValueError
            On invalid input, when ``n_hidden`` or ``tied`` contradicts
            ``params`` or the checkpoint, or when ``resume_from`` is corrupt or
            does not match this fit; the message names the file.
        TypeError
            On an argument of the wrong type, such as a bool ``random_state``.
        """
        started = time.perf_counter()
        penalties = check_penalties(sparsity_target, weight_decay, sparsity_weight,
                                    jacobian_weight)
        X = check_X(X)
        if n_hidden is not None:
            n_hidden = check_positive_int(n_hidden, "n_hidden")
        if tied is not None:
            tied = check_bool(tied, "tied")
        # Rejects a bad seed before a checkpoint is read.  The result is unused
        # because init_params and _FitState build their own generators.
        check_random_state(self.random_state)
        checkpoint = None
        source = "params"
        if resume_from is not None:
            if params is not None:
                raise ValueError("pass either params or resume_from, not both, because "
                                 "the checkpoint contains the parameters to continue from.")
            checkpoint = _load_resume_checkpoint(resume_from, self.solver, X, penalties)
            params = checkpoint["params"]
            source = f"the checkpoint {os.fspath(resume_from)}"
        elif params is None:
            n_hidden = 196 if n_hidden is None else n_hidden
            tied = False if tied is None else tied
            params = init_params(X.shape[1], n_hidden, tied=tied, dtype=X.dtype,
                                 random_state=self.random_state)
        params = _check_params_dict(params)
        W, b, V, c = check_params(X, params["W"], params["b"], params.get("V"), params["c"])
        _check_shape_arguments(n_hidden, tied, W.shape[0], V is None, source)
        state = _FitState(self, X, {"W": W, "b": b, "V": V, "c": c}, penalties)
        if checkpoint is not None:
            state.restore(checkpoint)
        logger.info("training: solver=%s backend=%s m=%d n=%d s=%d dtype=%s threads=%d "
                    "start_iteration=%d", self.solver, state.backend_name, X.shape[0],
                    X.shape[1], W.shape[0], X.dtype.name, state.n_threads, state.n_iter)
        run = {"lbfgs": _run_lbfgs, "gd": _run_gd, "adam": _run_adam}[state.solver]
        if state.n_iter < state.max_iter:
            # The L-BFGS gemv and vector operations run on one BLAS thread.
            # With two, OpenBLAS workers keep spinning after each call and
            # compete with the next kernel call.  In 100 L-BFGS iterations
            # at (2000, 784, 196), float32, n_threads=2 on 2 busy cores
            # (load 6), two BLAS threads made each evaluation 1.6x slower
            # and the optimizer's own work 2x slower than one thread.
            # Each backend sets its own limit for its products.
            with state.progress(), _Interrupt() as interrupt, blas_limits(1):
                state.interrupt = interrupt
                run(state)
        state.write_checkpoint(final=True)
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


def _check_params_dict(params):
    """Check that ``params`` maps ``W``, ``b``, ``c`` (and optionally ``V``) to arrays."""
    if not hasattr(params, "keys") or not hasattr(params, "get"):
        raise TypeError(f"params must be a dict with keys 'W', 'b', 'V', 'c', got "
                        f"{type(params).__name__}.")
    missing = [k for k in ("W", "b", "c") if k not in params]
    if missing:
        raise ValueError(f"params is missing the key(s) {missing}; expected a dict with "
                         f"keys 'W', 'b', 'V' (None for tied weights) and 'c', as returned "
                         f"by jsae_fast.init_params.")
    return params


def _check_shape_arguments(n_hidden, tied, stored_n_hidden, stored_tied, source):
    """Raise ValueError if an explicit ``n_hidden`` or ``tied`` contradicts ``source``.

    ``source`` names where the parameters come from: ``"params"`` or the
    checkpoint file.  None for ``n_hidden`` or ``tied`` accepts any value.
    """
    if n_hidden is not None and n_hidden != stored_n_hidden:
        raise ValueError(f"n_hidden={n_hidden}, but {source} has {stored_n_hidden} hidden "
                         f"units; pass n_hidden={stored_n_hidden} to match.")
    if tied is not None and tied != stored_tied:
        weights = "tied weights (V is W.T)" if stored_tied else "untied weights (a decoder V)"
        raise ValueError(f"tied={tied}, but {source} has {weights}; pass "
                         f"tied={stored_tied} to match.")


def _check_checkpoint_path(path):
    """Return ``path`` as a str after checking that its folder exists."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint_path must be a str, an os.PathLike or None, got "
                        f"{path!r} of type {type(path).__name__}.")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"checkpoint_path {path!r} is in the folder {folder!r}, which "
                         f"does not exist; create it first.")
    if os.path.isdir(path):
        raise ValueError(f"checkpoint_path {path!r} is a folder; pass a file name such "
                         f"as {os.path.join(path, 'checkpoint.npz')!r}.")
    return path


class _FitState:
    """Validated settings and running state of one fit."""

    def __init__(self, trainer, X, params, penalties):
        if not isinstance(trainer.solver, str) or trainer.solver not in SOLVERS:
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
        verbose = trainer.verbose
        if isinstance(verbose, (bool, np.bool_)):
            verbose = int(verbose)
        self.verbose = check_nonnegative_int(verbose, "verbose")
        self.checkpoint_path = _check_checkpoint_path(trainer.checkpoint_path)
        self.checkpoint_every = check_nonnegative_int(trainer.checkpoint_every,
                                                      "checkpoint_every")
        if self.checkpoint_every > 0 and self.checkpoint_path is None:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} needs a "
                             f"checkpoint_path to write to.")
        self.rng = check_random_state(trainer.random_state)
        self.backend_name, self.kernel = resolve_backend(trainer.backend)
        self.n_threads = resolve_n_threads(trainer.n_threads)
        self.vectors = _vectors.get()
        # Threads of the L-BFGS vector passes (OpenMP in the compiled
        # module).  The NumPy backend runs its products on a multithreaded
        # BLAS whose workers keep spinning after each call, so OpenMP threads
        # started next to them wait for a core.  In 100 iterations at (2000,
        # 784, 196), float32, n_threads=2, the fit took 5.3 s with two-thread
        # passes and 2.8 s with one.  The passes give the same results on any
        # thread count.
        self.vector_threads = 1 if self.backend_name == "numpy" else self.n_threads

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
        self.resumed = None
        # Set by the solver before each end_iteration: returns the arrays a
        # checkpoint needs to continue after that iteration.
        self.resume_state = None
        self._bar = None
        self._best = (np.inf, None)
        self._last_finite = (None, self.params)
        self._last_checkpoint = None
        self._data_digest = None

    def evaluate(self, params, X=None):
        """Return ``(loss, grads)``, raising NonFiniteCostError on NaN or inf."""
        full_batch = X is None
        X = self.X if X is None else X
        loss, gW, gb, gV, gc = self.kernel(X, params["W"], params["b"], params["V"],
                                           params["c"], *self.penalties, self.n_threads)
        self.n_evaluations += 1
        grads = {"W": gW, "b": gb, "V": gV, "c": gc}
        finite = np.isfinite(loss) and all(
            g is None or self.vectors.all_finite(g.reshape(-1), self.vector_threads)
            for g in grads.values())
        if not finite:
            last_loss, last_params = self._last_finite
            raise NonFiniteCostError(
                f"the cost or gradient became non-finite (cost={loss}) at iteration "
                f"{self.n_iter + 1}; the last finite cost was {last_loss}. Lower the "
                f"learning rate or the penalty weights; the exception's params "
                f"attribute holds the last good parameters.",
                iteration=self.n_iter + 1, last_finite_loss=last_loss,
                params={k: (None if v is None else v.copy())
                        for k, v in last_params.items()})
        if full_batch and self._last_finite[0] is None:
            # The cost at the starting point, before any iteration ends.
            self._last_finite = (float(loss), params)
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
        if self.checkpoint_every and self.n_iter % self.checkpoint_every == 0:
            self.write_checkpoint()
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

    # Checkpoints.
    def data_digest(self):
        """Return the SHA-256 digest of the training data's bytes, computed once."""
        if self._data_digest is None:
            self._data_digest = _data_digest(self.X)
        return self._data_digest

    def write_checkpoint(self, final=False):
        """Write a checkpoint of the state after the last finished iteration.

        With ``final=True`` the checkpoint is skipped when no iteration ran
        since the last one written (or since the resumed checkpoint).
        """
        if self.checkpoint_path is None or self.resume_state is None:
            return
        if final and self._last_checkpoint == self.n_iter:
            return
        arrays = {
            "format_version": np.int64(_checkpoint.FORMAT_VERSION),
            "solver": np.str_(self.solver),
            "dtype": np.str_(self.dtype.name),
            "tied": np.bool_(self.tied),
            "n_samples": np.int64(self.X.shape[0]),
            "data_sha256": self.data_digest(),
            "penalties": np.asarray(self.penalties, dtype=np.float64),
            "loss_history": np.asarray(self.loss_history, dtype=np.float64),
            "n_iter": np.int64(self.n_iter),
            "n_evaluations": np.int64(self.n_evaluations),
            "best_loss": np.float64(self._best[0]),
        }
        resume = self.resume_state()
        for k in self.names:
            arrays[f"param_{k}"] = resume["params"][k]
            arrays[f"best_{k}"] = self.best_params()[k]
        arrays.update(resume.get("solver", {}))
        if self.solver == "lbfgs":
            # The size of the curvature ring buffer, which a resumed fit must share.
            arrays["lbfgs_memory"] = np.int64(_LBFGS_MEMORY)
        _checkpoint.save_checkpoint(self.checkpoint_path, arrays)
        self._last_checkpoint = self.n_iter
        logger.info("checkpoint written to %s after iteration %d", self.checkpoint_path,
                    self.n_iter)

    def restore(self, checkpoint):
        """Continue from a checkpoint checked by ``_load_resume_checkpoint``."""
        self.loss_history = list(checkpoint["loss_history"])
        self.n_iter = checkpoint["n_iter"]
        self.n_evaluations = checkpoint["n_evaluations"]
        best = checkpoint["best_params"]
        self._best = (checkpoint["best_loss"], dict(best, V=best.get("V")))
        self.resumed = checkpoint["solver_state"]
        self._last_checkpoint = self.n_iter
        if self.solver in ("adam", "lbfgs") and self.loss_history:
            self._last_finite = (self.loss_history[-1], self.params)
        params = self.params
        self.resume_state = lambda: {"params": params}

    def progress(self):
        state = self

        class _Progress:
            def __enter__(self):
                if state.verbose > 0:
                    from tqdm.auto import tqdm

                    state._bar = tqdm(total=state.max_iter, initial=state.n_iter,
                                      desc=f"{_model_name(state.penalties)} {state.solver}",
                                      unit="it", leave=True)
                return self

            def __exit__(self, *exc):
                if state._bar is not None:
                    state._bar.close()
                    state._bar = None
                return False

        return _Progress()


def _model_name(penalties):
    """Return the usual name of the autoencoder that ``penalties`` define."""
    _, _, sparsity_weight, jacobian_weight = penalties
    if sparsity_weight == 0:
        return "CAE" if jacobian_weight else "AE"
    return "JSAE" if jacobian_weight else "SAE"


def _data_digest(X):
    """Return the SHA-256 digest of the C-ordered bytes of X as 32 uint8 values."""
    digest = hashlib.sha256(np.ascontiguousarray(X).data).digest()
    return np.frombuffer(digest, dtype=np.uint8).copy()


def _load_resume_checkpoint(path, solver, X, penalties):
    """Read a checkpoint and check that it can continue this fit.

    Returns a dict with ``params``, ``best_params``, ``best_loss``,
    ``loss_history``, ``n_iter``, ``n_evaluations`` and the raw
    ``solver_state`` arrays.
    """
    arrays = _checkpoint.load_checkpoint(path)
    path = os.fspath(path)

    def get(name, kind, shape=None):
        value = arrays.get(name)
        if value is None:
            raise ValueError(f"checkpoint {path} has no {name!r} entry.")
        if value.dtype.kind not in kind or (shape is not None and value.shape != shape):
            raise ValueError(f"checkpoint {path}: entry {name!r} has dtype {value.dtype} "
                             f"and shape {value.shape}, which a jsae_fast checkpoint "
                             f"never has.")
        return value

    stored_solver = str(get("solver", "U", ()))
    if stored_solver != solver:
        raise ValueError(f"checkpoint {path} was written by solver {stored_solver!r}, but "
                         f"this Trainer uses solver {solver!r}; resume with the same solver.")
    stored_dtype = str(get("dtype", "U", ()))
    if stored_dtype != X.dtype.name:
        raise ValueError(f"checkpoint {path} contains {stored_dtype} parameters, but X has "
                         f"dtype {X.dtype.name}; pass X as {stored_dtype}.")
    n_samples = int(get("n_samples", "iu", ()))
    if n_samples != X.shape[0]:
        raise ValueError(f"checkpoint {path} was written for {n_samples} samples, but X "
                         f"has {X.shape[0]}; resume on the same training data.")
    stored_penalties = get("penalties", "f", (4,))
    if not np.array_equal(stored_penalties, np.asarray(penalties, dtype=np.float64)):
        names = ("sparsity_target", "weight_decay", "sparsity_weight", "jacobian_weight")
        stored = dict(zip(names, stored_penalties.tolist()))
        raise ValueError(f"checkpoint {path} was written with {stored}, but this fit "
                         f"uses {dict(zip(names, penalties))}; resume with the same cost.")
    tied = bool(get("tied", "b", ()))

    n = X.shape[1]
    W = get("param_W", "f")
    if W.ndim != 2 or W.shape[1] != n or W.shape[0] < 1:
        raise ValueError(f"checkpoint {path} has W of shape {W.shape}, but X has {n} "
                         f"features; expected (n_hidden, {n}).")
    s = W.shape[0]
    shapes = {"W": (s, n), "b": (s,), "c": (n,)}
    if not tied:
        shapes["V"] = (n, s)
    params, best = {"V": None}, {"V": None}
    for k, shape in shapes.items():
        for prefix, target in (("param_", params), ("best_", best)):
            value = get(prefix + k, "f")
            if value.shape != shape or value.dtype != X.dtype:
                raise ValueError(f"checkpoint {path}: {prefix}{k} has shape {value.shape} "
                                 f"and dtype {value.dtype}, expected {shape} and "
                                 f"{X.dtype.name}.")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"checkpoint {path}: {prefix}{k} contains NaN or "
                                 f"infinite values.")
            target[k] = value
    n_iter = int(get("n_iter", "iu", ()))
    history = get("loss_history", "f")
    if history.ndim != 1 or len(history) != n_iter or n_iter < 0:
        raise ValueError(f"checkpoint {path} has {history.size} loss values for "
                         f"{n_iter} iterations.")
    solver_state = {name: value for name, value in arrays.items()
                    if name.startswith(("adam_", "gd_", "lbfgs_"))}
    _check_solver_state(path, solver, solver_state, shapes, X.dtype)
    # Last, once every shape matched: the data themselves.  Checkpoints
    # written before the digest existed have no entry to compare.
    if "data_sha256" in arrays:
        stored_digest = get("data_sha256", "u", (32,))
        if not np.array_equal(stored_digest, _data_digest(X)):
            raise ValueError(f"checkpoint {path} was written for other training data of "
                             f"the same shape; resume on the same training data, or start "
                             f"a new fit without resume_from.")
    return {
        "params": params,
        "best_params": best,
        "best_loss": float(get("best_loss", "f", ())),
        "loss_history": [float(v) for v in history],
        "n_iter": n_iter,
        "n_evaluations": int(get("n_evaluations", "iu", ())),
        "solver_state": solver_state,
    }


def _check_solver_state(path, solver, arrays, shapes, dtype):
    """Check the Adam, gradient-descent or L-BFGS entries of a checkpoint."""
    if solver == "adam":
        expected = {"adam_step": ((), "iu"), "adam_best": ((), "f"),
                    "adam_stale": ((), "iu"), "adam_rng_keys": ((624,), "u"),
                    "adam_rng_pos": ((), "iu"), "adam_rng_has_gauss": ((), "iu"),
                    "adam_rng_cached_gaussian": ((), "f")}
        for k, shape in shapes.items():
            expected[f"adam_m_{k}"] = (shape, "f")
            expected[f"adam_v_{k}"] = (shape, "f")
    elif solver == "gd":
        expected = {"gd_previous": ((), "f")}
    else:
        memory = _LBFGS_MEMORY
        _check_lbfgs_memory(path, arrays.get("lbfgs_memory"), memory)
        history = arrays.get("lbfgs_history")
        n_pairs = history.shape[0] if history is not None and history.ndim == 3 else 0
        if n_pairs > memory:
            raise ValueError(f"checkpoint {path}: entry 'lbfgs_history' contains {n_pairs} "
                             f"curvature pairs, but L-BFGS keeps at most {memory}.")
        size = sum(int(np.prod(shape)) for shape in shapes.values())
        expected = {"lbfgs_history": ((n_pairs, 2, size), "f"),
                    "lbfgs_head": ((), "iu"), "lbfgs_sty": ((memory, memory), "f"),
                    "lbfgs_yty": ((memory, memory), "f"),
                    "lbfgs_history_dot_grad": ((n_pairs, 2), "f"),
                    "lbfgs_gamma": ((), "f"), "lbfgs_grad": ((size,), "f"),
                    "lbfgs_cost": ((), "f")}
    for name, (shape, kind) in expected.items():
        value = arrays.get(name)
        if value is None:
            hint = ""
            if name.startswith("lbfgs_"):
                hint = (" Checkpoints written before L-BFGS saved its curvature history "
                        "cannot be resumed; start a new fit from its param_* arrays.")
            raise ValueError(f"checkpoint {path} has no {name!r} entry, which {solver!r} "
                             f"needs to resume.{hint}")
        if value.shape != shape or value.dtype.kind not in kind:
            raise ValueError(f"checkpoint {path}: entry {name!r} has shape {value.shape} "
                             f"and dtype {value.dtype}, expected shape {shape}.")
        if (name.startswith(("adam_m_", "adam_v_"))
                or name in ("lbfgs_history", "lbfgs_grad")) and value.dtype != dtype:
            raise ValueError(f"checkpoint {path}: entry {name!r} has dtype {value.dtype}, "
                             f"expected {np.dtype(dtype).name}.")
        if name.startswith("lbfgs_") and kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError(f"checkpoint {path}: entry {name!r} contains NaN or "
                             f"infinite values.")
    if solver == "lbfgs":
        _check_lbfgs_state(path, arrays)
    if solver == "adam" and not 0 <= int(arrays["adam_rng_pos"]) <= 624:
        raise ValueError(f"checkpoint {path}: entry 'adam_rng_pos' is "
                         f"{int(arrays['adam_rng_pos'])}, outside [0, 624].")


def _check_lbfgs_memory(path, stored, memory):
    """Check the ``lbfgs_memory`` entry of a checkpoint against ``memory``.

    Checkpoints written before the entry existed have none (``stored`` is
    None).  Every version of jsae_fast that wrote them kept 10 pairs, and the
    shapes of their ``lbfgs_*`` arrays are checked against ``memory`` anyway.
    """
    if stored is None:
        return
    if stored.shape != () or stored.dtype.kind not in "iu":
        raise ValueError(f"checkpoint {path}: entry 'lbfgs_memory' has dtype {stored.dtype} "
                         f"and shape {stored.shape}, expected one integer.")
    if int(stored) != memory:
        raise ValueError(f"checkpoint {path} was written by L-BFGS keeping {int(stored)} "
                         f"curvature pairs, but this version of jsae_fast keeps {memory}; "
                         f"start a new fit from its param_* arrays.")


def _check_lbfgs_state(path, arrays):
    """Check that the L-BFGS ring buffer entries are consistent with each other."""
    memory = _LBFGS_MEMORY
    n_pairs = arrays["lbfgs_history"].shape[0]
    head = int(arrays["lbfgs_head"])
    # The ring buffer fills its slots in order, so until it is full the next
    # slot to write is the number of stored pairs.
    valid_head = range(memory) if n_pairs == memory else [n_pairs]
    if head not in valid_head:
        raise ValueError(f"checkpoint {path}: entry 'lbfgs_head' is {head}, which does not "
                         f"fit {n_pairs} stored curvature pairs.")
    if not float(arrays["lbfgs_gamma"]) > 0:
        raise ValueError(f"checkpoint {path}: entry 'lbfgs_gamma' is "
                         f"{float(arrays['lbfgs_gamma'])}, expected a positive value.")


def _run_lbfgs(state):
    names = state.names
    shapes = [state.shapes[k] for k in names]
    bounds = np.cumsum([0] + [int(np.prod(shape)) for shape in shapes])

    def as_params(vector):
        # Views of the flat vector: the kernel reads them without copies, and
        # the optimizer never writes into a vector it has handed out.
        params = {"V": None}
        for k, shape, lo, hi in zip(names, shapes, bounds[:-1], bounds[1:]):
            params[k] = vector[lo:hi].reshape(shape)
        return params

    def flatten(grads):
        return np.concatenate([grads[k].ravel() for k in names])

    # The last failed evaluation, or None: a line-search trial with a
    # non-finite cost only shortens the step, unless the search ends there.
    failure = [None]

    def fun(vector):
        try:
            loss, grads = state.evaluate(as_params(vector))
        except NonFiniteCostError as error:
            failure[0] = error
            return np.inf, None
        failure[0] = None
        return loss, flatten(grads)

    x = np.concatenate([state.params[k].ravel() for k in names])
    if state.resumed is not None:
        saved = {key: state.resumed[f"lbfgs_{key}"] for key in _lbfgs.STATE_KEYS}
        optimizer = _lbfgs.LBFGS(fun, x, cost=float(saved["cost"]),
                                 grad=saved["grad"].copy(), memory=_LBFGS_MEMORY,
                                 n_threads=state.vector_threads)
        optimizer.load_state(saved)
    else:
        # The first cost raises NonFiniteCostError at once: there is no
        # shorter step to try.
        loss, grads = state.evaluate(as_params(x))
        optimizer = _lbfgs.LBFGS(fun, x, cost=loss, grad=flatten(grads),
                                 memory=_LBFGS_MEMORY, n_threads=state.vector_threads)
        if _lbfgs.max_abs(optimizer.grad) <= state.tol:
            logger.info("L-BFGS converged at the starting point: max |gradient| <= "
                        "tol=%g", state.tol)
            state.stop_reason = "converged"
            return

    def resume_state():
        solver = {f"lbfgs_{key}": value for key, value in optimizer.export_state().items()}
        return {"params": as_params(optimizer.x), "solver": solver}

    for _ in range(state.max_iter - state.n_iter):
        previous = optimizer.cost
        message = optimizer.step()
        if message is not None:
            if failure[0] is not None:
                raise failure[0]
            # L-BFGS cannot make progress from here, so this counts as
            # convergence, as it did with SciPy's L-BFGS-B.
            logger.info("L-BFGS stopped after iteration %d: %s", state.n_iter, message)
            state.stop_reason = "converged"
            return
        state.resume_state = resume_state
        if state.end_iteration(optimizer.cost, as_params(optimizer.x)):
            return
        reason = _lbfgs.convergence_reason(previous, optimizer.cost, optimizer.grad,
                                           state.tol)
        if reason is not None:
            logger.info("L-BFGS converged after iteration %d: %s", state.n_iter, reason)
            state.stop_reason = "converged"
            return


def _run_gd(state):
    params = state.params
    previous = None
    if state.resumed is not None:
        stored = float(state.resumed["gd_previous"])
        previous = None if np.isnan(stored) else stored
    warned = False
    for _ in range(state.max_iter - state.n_iter):
        loss, grads = state.evaluate(params)
        if previous is not None and loss > previous and not warned:
            # A fixed step that raises the cost is too long; the cost may still
            # settle, so training goes on.
            warned = True
            warnings.warn(f"Trainer: gradient descent raised the cost from {previous:.6g} "
                          f"to {loss:.6g} at iteration {state.n_iter + 1}; lower "
                          f"learning_rate={state.learning_rate:g}.", RuntimeWarning,
                          stacklevel=4)
        if previous is not None and 0 <= previous - loss <= state.tol * max(1.0, abs(loss)):
            state.stop_reason = "converged"
            # The cost at the current parameters was measured before this step.
            state._last_finite = (loss, params)
            return
        new = {k: None if v is None else v - state.learning_rate * grads[k]
               for k, v in params.items()}
        previous = loss
        # A resumed run continues with the step just taken.
        state.resume_state = lambda new=new, loss=loss: {
            "params": new, "solver": {"gd_previous": np.float64(loss)}}
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
    if state.resumed is not None:
        saved = state.resumed
        for k in state.names:
            moment1[k] = saved[f"adam_m_{k}"].copy()
            moment2[k] = saved[f"adam_v_{k}"].copy()
        step = int(saved["adam_step"])
        best, stale = float(saved["adam_best"]), int(saved["adam_stale"])
        state.rng.set_state(("MT19937", saved["adam_rng_keys"].astype(np.uint32),
                             int(saved["adam_rng_pos"]), int(saved["adam_rng_has_gauss"]),
                             float(saved["adam_rng_cached_gaussian"])))

    def resume_state():
        _, keys, pos, has_gauss, cached = state.rng.get_state()
        solver = {"adam_step": np.int64(step), "adam_best": np.float64(best),
                  "adam_stale": np.int64(stale), "adam_rng_keys": keys,
                  "adam_rng_pos": np.int64(pos), "adam_rng_has_gauss": np.int64(has_gauss),
                  "adam_rng_cached_gaussian": np.float64(cached)}
        for k in state.names:
            solver[f"adam_m_{k}"] = moment1[k]
            solver[f"adam_v_{k}"] = moment2[k]
        return {"params": params, "solver": solver}

    for _ in range(state.max_iter - state.n_iter):
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
        # The patience counters are updated before end_iteration, so that a
        # checkpoint written there contains their values after this epoch.
        if epoch_loss < best - state.tol:
            best, stale = epoch_loss, 0
        else:
            stale += 1
        state.resume_state = resume_state
        if state.end_iteration(epoch_loss, snapshot):
            return
        if stale >= state.n_iter_no_change:
            state.stop_reason = "converged"
            return
