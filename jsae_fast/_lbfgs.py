"""Limited-memory BFGS for unbounded smooth problems, in the dtype of the problem.

Design notes
------------
* The iterate, the gradient and the curvature history are arrays of the
  problem's dtype, so a float32 problem never round-trips through float64.
  The scalars that decide acceptance (the slope ``g.d`` of each line-search
  trial, and ``s.y`` and ``y.y`` of each new pair) are accumulated in
  float64.
* Every pass over a parameter-length vector goes through
  :mod:`jsae_fast._vectors`. With the compiled module, each step (a trial
  point, a new pair with its two dot products, a dot product, a pass over
  the history) is one multithreaded pass whose result does not depend on the
  thread count. Without it, NumPy does the same work on one thread.
* The history is one C-contiguous array of shape ``(memory, 2, n)``: slot
  ``i`` contains the pair ``s_i`` (row ``2 i`` of its 2-D view) and ``y_i``
  (row ``2 i + 1``).  It is a ring buffer that fills slots 0, 1, ... first,
  so the valid slots are always a prefix and the history is one
  ``(2 k, n)`` matrix for BLAS.
* The search direction uses the compact representation of Byrd, Nocedal and
  Schnabel (1994), "Representations of quasi-Newton matrices and their use in
  limited memory methods", Math. Programming 63:129-156, eq. 3.1:
  ``H = gamma I + [S, gamma Y] M [S, gamma Y]^T`` with ``M`` built from the
  small matrices ``S^T Y`` and ``Y^T Y``.  One iteration reads the history
  twice, in two gemv passes (one BLAS call per chunk of columns):
  ``[S, Y]^T g`` after each accepted step, and the direction
  ``-gamma g + [S, Y] c`` for a vector ``c`` of length ``2 k``.
  The new column of ``S^T Y`` and ``Y^T Y`` comes from the difference of
  ``[S, Y]^T g`` before and after the step, because ``y = g_new - g_old``,
  so it costs no extra pass.  The two-loop recursion also reads the history
  twice, but in 40 BLAS level-1 calls instead of 2 gemv calls.  At
  n=308,700, float32, memory 10 and one BLAS thread (2-core AMD EPYC shared
  with other jobs, load 4 to 6), the history work of one iteration took
  1.6-2.3 ms in the compact form and 1.75-2.45 ms in the two-loop recursion
  (best of 30), so the compact form is kept.
* The line search enforces the strong Wolfe conditions by bracketing and
  zoom with safeguarded cubic interpolation (Nocedal and Wright, Numerical
  Optimization, 2nd ed., Algorithms 3.5 and 3.6).  Each trial calls the
  cost-and-gradient function once.  A trial whose cost or slope is not
  finite counts as a step that is too long, and the search shortens it.
* Every accepted step stores a freshly allocated iterate in :attr:`LBFGS.x`.
  Arrays that were handed out earlier are never modified, so callers can keep
  views of them.
"""

import collections
import logging
import math
import numbers

import numpy as np
from scipy.linalg import solve_triangular

from . import _vectors

logger = logging.getLogger(__name__)

#: Number of curvature pairs kept by default, as in SciPy's L-BFGS-B.
DEFAULT_MEMORY = 10
#: Sufficient-decrease (Armijo) constant of the strong Wolfe conditions.
ARMIJO = 1e-4
#: Curvature constant of the strong Wolfe conditions.
CURVATURE = 0.9
#: Maximum cost-and-gradient evaluations in one line search.
MAX_TRIALS = 20
#: Largest step length the line search tries.
MAX_STEP = 1e10
# A zoom interpolant closer than this fraction of the interval to an end
# point is replaced by bisection.
_SAFEGUARD = 0.1
# Factor that shortens the step after a non-finite trial.
_SHRINK = 0.1

#: Entries of :meth:`LBFGS.export_state`.
STATE_KEYS = ("history", "head", "sty", "yty", "history_dot_grad", "gamma", "grad", "cost")

_Trial = collections.namedtuple("_Trial", "step cost slope x grad finite")

LBFGSResult = collections.namedtuple(
    "LBFGSResult", "x cost grad n_iter n_evaluations status message")
LBFGSResult.__doc__ = """Outcome of :func:`minimize`.

``status`` is ``"converged"``, ``"max_iter"``, ``"line_search_failed"`` or
``"callback"``; ``message`` gives the reason in words.
"""


def max_abs(vector):
    """Return ``max |vector_i|`` without allocating a temporary array."""
    return max(float(vector.max()), -float(vector.min()))


def convergence_reason(previous_cost, cost, grad, tol):
    """Return why an iteration from ``previous_cost`` to ``cost`` converged, or None.

    The rules are those of SciPy's L-BFGS-B with ``ftol = gtol = tol``: the
    relative cost decrease ``(f_k - f_k+1) / max(|f_k|, |f_k+1|, 1)`` or the
    largest gradient component ``max |g_i|`` is at most ``tol``.
    """
    scale = max(abs(previous_cost), abs(cost), 1.0)
    if previous_cost - cost <= tol * scale:
        return (f"relative cost decrease {(previous_cost - cost) / scale:.3g} <= "
                f"tol={tol:g}")
    largest = max_abs(grad)
    if largest <= tol:
        return f"max |gradient| {largest:.3g} <= tol={tol:g}"
    return None


def _cubic_minimizer(a, fa, da, b, fb, db):
    """Return the minimizer of the cubic through two points with slopes, or None."""
    if a == b:
        return None
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if not radicand >= 0.0:
        return None
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = db - da + 2.0 * d2
    if denominator == 0.0:
        return None
    result = b - (b - a) * (db + d2 - d1) / denominator
    return result if math.isfinite(result) else None


def _quadratic_minimizer(a, fa, da, b, fb):
    """Return the minimizer of the parabola with value and slope at ``a``, value at ``b``."""
    width = b - a
    curvature = fb - fa - da * width
    if not curvature > 0.0:
        return None
    result = a - da * width * width / (2.0 * curvature)
    return result if math.isfinite(result) else None


class LBFGS:
    """State and iteration of an L-BFGS minimisation.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (cost, grad)`` for a 1-D array ``x``: the cost as a float
        and the gradient as a new 1-D array of the dtype and length of ``x``.
        A non-finite cost, or ``grad`` None, marks a failed evaluation.
        ``fun`` must not modify ``x`` or keep it for later modification.
    x : ndarray of shape (n,), float32 or float64
        Starting point.  It is used as the first iterate without a copy and
        is not modified.
    cost, grad : float and ndarray, optional
        Cost and gradient at ``x`` when the caller has them; otherwise
        ``fun(x)`` is called once.
    memory : int, default=10
        Number of curvature pairs kept.
    n_threads : int, default=1
        Threads for the passes over parameter-length vectors.  With more
        than one, BLAS must be limited to one thread while :meth:`step` runs
        (see :mod:`jsae_fast._vectors`).
    compiled : bool or None, default=None
        Use the compiled vector passes (True), the NumPy ones (False), or the
        compiled ones when they were built (None).

    Attributes
    ----------
    x, cost, grad :
        The current iterate, its cost and its gradient.
    n_iter : int
        Accepted iterations.
    n_evaluations : int
        Calls of ``fun`` made by this object.
    n_skipped : int
        Curvature pairs skipped because ``s.y <= eps * y.y``.
    """

    def __init__(self, fun, x, *, cost=None, grad=None, memory=DEFAULT_MEMORY,
                 n_threads=1, compiled=None):
        x = np.asarray(x)
        if x.ndim != 1 or x.dtype not in (np.float32, np.float64) or x.size == 0:
            raise ValueError(f"x must be a non-empty 1-D float32 or float64 array, got "
                             f"dtype {x.dtype} and shape {x.shape}.")
        if not isinstance(memory, int) or memory < 1:
            raise ValueError(f"memory must be a positive int, got {memory!r}.")
        if (isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral)
                or n_threads < 1):
            raise ValueError(f"n_threads must be a positive int, got {n_threads!r}.")
        n_threads = int(n_threads)
        self._ops = _vectors.get(compiled)
        self._n_threads = n_threads
        self.fun = fun
        self.memory = memory
        self.dtype = x.dtype
        self.n_evaluations = 0

        if cost is None:
            cost, grad = self._call(x)
            self.n_evaluations += 1
            if grad is None or not math.isfinite(cost) or not np.isfinite(grad).all():
                raise ValueError(f"the cost or gradient at the starting point is not "
                                 f"finite (cost={cost}); start from another point.")
        self._check_grad(grad, x)
        self.x, self.cost, self.grad = x, float(cost), grad
        self.n_iter = 0
        self.n_skipped = 0

        n = x.size
        self._eps = float(np.finfo(self.dtype).eps)
        self._history = np.zeros((memory, 2, n), dtype=self.dtype)
        self._count = 0
        self._head = 0
        # Products of the pairs in slot order: _sty[i, j] = s_i.y_j (only
        # entries with slot i older than or equal to slot j are kept up to
        # date) and _yty[i, j] = y_i.y_j.
        self._sty = np.zeros((memory, memory))
        self._yty = np.zeros((memory, memory))
        # Row i: (s_i.g, y_i.g) for the current gradient g.
        self._history_dot_grad = np.zeros((0, 2))
        self._gamma = 1.0
        # The new pair while the history is full, so that a skipped pair
        # does not overwrite the oldest one.
        self._pair_buffer = np.empty((2, n), dtype=self.dtype)

    def _dot(self, a, b):
        return self._ops.dot(a, b, self._n_threads)

    def _call(self, x):
        cost, grad = self.fun(x)
        return float(cost), grad

    def _check_grad(self, grad, x):
        if (not isinstance(grad, np.ndarray) or grad.shape != x.shape
                or grad.dtype != x.dtype):
            raise ValueError(f"fun must return the gradient as an array of shape {x.shape} "
                             f"and dtype {x.dtype}, got {type(grad).__name__} "
                             f"{getattr(grad, 'dtype', '')} {getattr(grad, 'shape', '')}.")

    # The curvature history.
    @property
    def n_pairs(self):
        """Curvature pairs currently stored."""
        return self._count

    def _order(self):
        """Return the slots of the stored pairs from oldest to newest."""
        return [(self._head - self._count + i) % self.memory for i in range(self._count)]

    def _history_matrix(self):
        """Return the valid pairs as a ``(2 k, n)`` view, rows ``s_0, y_0, s_1, ...``."""
        k = self._count
        return self._history[:k].reshape(2 * k, -1)

    def reset_history(self):
        """Forget every curvature pair."""
        self._count = 0
        self._head = 0
        self._history_dot_grad = np.zeros((0, 2))

    def _direction(self):
        """Return ``-H g`` for the compact-form inverse Hessian approximation ``H``."""
        k = self._count
        if k == 0:
            return -self.grad
        order = self._order()
        products = self._history_dot_grad[order]
        ix = np.ix_(order, order)
        r = np.triu(self._sty[ix])
        gamma = self._gamma
        u = solve_triangular(r, products[:, 0], lower=False, check_finite=False)
        w = np.diag(r) * u + gamma * (self._yty[ix] @ u) - gamma * products[:, 1]
        v = solve_triangular(r, w, lower=False, trans="T", check_finite=False)
        coefficients = np.empty((k, 2))
        coefficients[order, 0] = -v
        coefficients[order, 1] = gamma * u
        # d = -gamma g - S v + gamma Y u in one pass over the history.
        direction = np.empty_like(self.grad)
        self._ops.combine_rows(self._history_matrix(), coefficients.ravel(), self.grad,
                               -gamma, direction, self._n_threads)
        return direction

    def _update_history(self, x_new, grad_new):
        """Add the pair of the step from ``self.x`` to ``x_new`` unless its curvature fails."""
        if self._count < self.memory:
            # The next slot is free, so the pair is written in place.
            pair = self._history[self._head]
        else:
            pair = self._pair_buffer
        sy, yy = self._ops.curvature_pair(x_new, self.x, grad_new, self.grad, pair[0],
                                          pair[1], self._n_threads)
        previous = self._history_dot_grad
        previous_order = self._order()

        if not sy > self._eps * yy:
            self.n_skipped += 1
            logger.debug("L-BFGS iteration %d: skipped the curvature pair, s.y=%.3g <= "
                         "eps * y.y=%.3g", self.n_iter, sy, self._eps * yy)
            inserted = None
        else:
            inserted = self._head
            if pair is self._pair_buffer:
                self._history[inserted] = pair
            self._head = (self._head + 1) % self.memory
            self._count = min(self._count + 1, self.memory)

        history = self._history_matrix()
        products = self._ops.rows_dot(history, grad_new,
                                      self._n_threads).reshape(self._count, 2)
        if inserted is not None:
            old = [slot for slot in previous_order if slot != inserted]
            # s_i.y_new = s_i.g_new - s_i.g_old, and the same for y_i.
            change = products[old] - previous[old]
            self._sty[old, inserted] = change[:, 0]
            self._yty[old, inserted] = change[:, 1]
            self._yty[inserted, old] = change[:, 1]
            self._sty[inserted, inserted] = sy
            self._yty[inserted, inserted] = yy
            self._gamma = sy / yy
        self._history_dot_grad = products

    # The line search.
    def _trial(self, direction, step):
        x = np.empty_like(self.x)
        self._ops.step_point(self.x, direction, step, x, self._n_threads)
        cost, grad = self._call(x)
        self.n_evaluations += 1
        if grad is None or not math.isfinite(cost):
            return _Trial(step, math.inf, math.nan, x, grad, False)
        slope = self._dot(grad, direction)
        finite = math.isfinite(slope)
        return _Trial(step, cost if finite else math.inf, slope, x, grad, finite)

    def _line_search(self, direction, slope0, step):
        """Return a trial that meets the strong Wolfe conditions, or None."""
        cost0 = self.cost
        previous = _Trial(0.0, cost0, slope0, self.x, self.grad, True)
        for trials in range(1, MAX_TRIALS + 1):
            trial = self._trial(direction, step)
            budget = MAX_TRIALS - trials
            if (not trial.finite or trial.cost > cost0 + ARMIJO * step * slope0
                    or (trials > 1 and trial.cost >= previous.cost)):
                return self._zoom(direction, previous, trial, cost0, slope0, budget)
            if abs(trial.slope) <= -CURVATURE * slope0:
                return trial
            if trial.slope >= 0.0:
                return self._zoom(direction, trial, previous, cost0, slope0, budget)
            if step >= MAX_STEP:
                return None
            # Extrapolate by a cubic step, kept between 2.1x and 5x of the
            # step length gained from the previous trial.
            gained = step - previous.step
            lower, upper = step + 1.1 * gained, step + 4.0 * gained
            guess = _cubic_minimizer(previous.step, previous.cost, previous.slope,
                                     step, trial.cost, trial.slope)
            step = min(upper if guess is None else min(max(guess, lower), upper), MAX_STEP)
            previous = trial
        return None

    def _zoom(self, direction, low, high, cost0, slope0, budget):
        """Shrink the bracket ``[low, high]`` until a trial meets the strong Wolfe conditions.

        ``low`` is the trial with the lowest cost that meets sufficient
        decrease, and the cost decreases from ``low`` towards ``high``.
        """
        for _ in range(budget):
            width = high.step - low.step
            if abs(width) <= self._eps * max(low.step, high.step):
                logger.debug("L-BFGS line search: bracket [%.3g, %.3g] collapsed",
                             low.step, high.step)
                return None
            if not high.finite:
                step = low.step + _SHRINK * width
            else:
                step = self._interpolate(low, high)
            trial = self._trial(direction, step)
            if (not trial.finite or trial.cost > cost0 + ARMIJO * step * slope0
                    or trial.cost >= low.cost):
                high = trial
                continue
            if abs(trial.slope) <= -CURVATURE * slope0:
                return trial
            if trial.slope * width >= 0.0:
                high = low
            low = trial
        return None

    @staticmethod
    def _interpolate(low, high):
        """Return a step inside the bracket from a cubic, a parabola or bisection."""
        width = high.step - low.step
        lower = min(low.step, high.step) + _SAFEGUARD * abs(width)
        upper = max(low.step, high.step) - _SAFEGUARD * abs(width)
        guess = _cubic_minimizer(low.step, low.cost, low.slope, high.step, high.cost,
                                 high.slope)
        if guess is not None and lower <= guess <= upper:
            return guess
        guess = _quadratic_minimizer(low.step, low.cost, low.slope, high.step, high.cost)
        if guess is not None and lower <= guess <= upper:
            return guess
        return low.step + 0.5 * width

    # One iteration.
    def step(self):
        """Run one iteration: direction, line search and history update.

        Returns
        -------
        message : str or None
            None when a step was accepted.  Otherwise the reason why no
            step was found, and the state is unchanged, except that the
            history is empty when the L-BFGS direction was not a descent
            direction.
        """
        direction = self._direction()
        slope0 = self._dot(self.grad, direction)
        from_history = self._count > 0
        if from_history and not slope0 < 0.0:
            logger.debug("L-BFGS iteration %d: direction is not a descent direction "
                         "(g.d=%.3g); history reset", self.n_iter + 1, slope0)
            self.reset_history()
            direction = -self.grad
            slope0 = self._dot(self.grad, direction)
            from_history = False
        if not slope0 < 0.0:
            return f"the gradient gives no descent direction (g.d={slope0:.3g})"
        step = 1.0 if from_history else min(1.0, 1.0 / math.sqrt(-slope0))
        accepted = self._line_search(direction, slope0, step)
        if accepted is None and from_history:
            # Retry along the steepest descent direction, as L-BFGS-B does.
            # The history is only dropped when that retry succeeds.
            logger.debug("L-BFGS iteration %d: line search failed along the L-BFGS "
                         "direction; retrying along -g", self.n_iter + 1)
            direction = -self.grad
            slope0 = self._dot(self.grad, direction)
            accepted = self._line_search(direction, slope0, min(1.0, 1.0 / math.sqrt(-slope0)))
            if accepted is not None:
                self.reset_history()
        if accepted is None:
            return (f"the line search found no step that meets the strong Wolfe "
                    f"conditions (at most {MAX_TRIALS} evaluations per search)")
        self._update_history(accepted.x, accepted.grad)
        self.x, self.cost, self.grad = accepted.x, accepted.cost, accepted.grad
        self.n_iter += 1
        return None

    # Checkpoints.
    def export_state(self):
        """Return the arrays that :meth:`load_state` needs to continue exactly.

        The keys are :data:`STATE_KEYS`; ``history`` has shape ``(k, 2, n)``
        for the ``k`` stored pairs, in slot order.
        """
        return {
            "history": self._history[:self._count],
            "head": np.int64(self._head),
            "sty": self._sty,
            "yty": self._yty,
            "history_dot_grad": self._history_dot_grad,
            "gamma": np.float64(self._gamma),
            "grad": self.grad,
            "cost": np.float64(self.cost),
        }

    def load_state(self, state):
        """Restore the curvature history saved by :meth:`export_state`.

        ``state`` must have been checked by the caller: shapes, dtypes and
        ``head`` consistent with this object's ``memory`` and ``x``.
        """
        history = state["history"]
        count = history.shape[0]
        self._history[:count] = history
        self._count = count
        self._head = int(state["head"])
        self._sty[...] = state["sty"]
        self._yty[...] = state["yty"]
        self._history_dot_grad = np.array(state["history_dot_grad"], dtype=np.float64)
        self._gamma = float(state["gamma"])


def minimize(fun, x0, *, tol=1e-9, max_iter=1000, memory=DEFAULT_MEMORY, callback=None,
             n_threads=1, compiled=None):
    """Minimise a smooth function of a 1-D array with L-BFGS.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (cost, grad)``; see :class:`LBFGS`.
    x0 : ndarray of shape (n,), float32 or float64
        Starting point; not modified.  The iterates have its dtype.
    tol : float, default=1e-9
        Stop when the relative cost decrease or ``max |g_i|`` is at most
        ``tol`` (see :func:`convergence_reason`).
    max_iter : int, default=1000
        Maximum iterations.
    memory : int, default=10
        Curvature pairs kept.
    callback : callable or None
        Called as ``callback(optimizer)`` with the :class:`LBFGS` object after
        each iteration; returning True stops.
    n_threads, compiled :
        See :class:`LBFGS`.

    Returns
    -------
    result : LBFGSResult
    """
    optimizer = LBFGS(fun, np.array(x0), memory=memory, n_threads=n_threads,
                      compiled=compiled)
    status, message = "max_iter", f"reached max_iter={max_iter}"
    reason = None if max_abs(optimizer.grad) > tol else "max |gradient| <= tol at x0"
    if reason is not None:
        status, message = "converged", reason
    while reason is None and optimizer.n_iter < max_iter:
        previous = optimizer.cost
        failure = optimizer.step()
        if failure is not None:
            status, message = "line_search_failed", failure
            break
        if callback is not None and callback(optimizer):
            status, message = "callback", "callback returned True"
            break
        reason = convergence_reason(previous, optimizer.cost, optimizer.grad, tol)
        if reason is not None:
            status, message = "converged", reason
    return LBFGSResult(optimizer.x, optimizer.cost, optimizer.grad, optimizer.n_iter,
                       optimizer.n_evaluations, status, message)
