"""Passes over long 1-D vectors for the L-BFGS optimizer, compiled or in NumPy.

The compiled module ``jsae_fast._vector_ops`` fuses each step into one pass
and spreads it over OpenMP threads; its design note explains the summation
order.  When the module was not built, :func:`get` returns the NumPy
versions below, which compute the same quantities on one thread (sums may
differ in the last bits).

Every function takes ``n_threads`` last.  The compiled ``rows_dot`` and
``combine_rows`` call BLAS from several threads at once, so BLAS must be
limited to one thread (``jsae_fast._threads.blas_limits(1)``) while they run
with ``n_threads > 1``.
"""

import types

import numpy as np
from scipy.linalg import blas

try:
    from . import _vector_ops as _compiled
except ImportError:  # the package was installed without its extensions
    _compiled = None

#: True when the compiled module is available.
COMPILED = _compiled is not None


def _dot(a, b, n_threads=1):
    if a.dtype == np.float64:
        return float(np.dot(a, b))
    return float(np.multiply(a, b).sum(dtype=np.float64))


def _all_finite(a, n_threads=1):
    return bool(np.isfinite(a).all())


def _step_point(x, d, step, out, n_threads=1):
    np.multiply(d, x.dtype.type(step), out=out)
    out += x


def _curvature_pair(x_new, x, g_new, g, s, y, n_threads=1):
    np.subtract(x_new, x, out=s)
    np.subtract(g_new, g, out=y)
    return _dot(s, y), _dot(y, y)


def _rows_dot(H, v, n_threads=1):
    return (H @ v).astype(np.float64)


def _combine_rows(H, coefficients, g, scale, out, n_threads=1):
    if H.shape[0] == 0 or H.shape[1] == 0:
        np.multiply(g, g.dtype.type(scale), out=out)
        return
    gemv = blas.sgemv if H.dtype == np.float32 else blas.dgemv
    # The transposed view is Fortran-ordered, so f2py passes it without a copy.
    out[...] = gemv(1.0, H.T, coefficients.astype(H.dtype), beta=scale, y=g, trans=0,
                    overwrite_y=False)


NUMPY_OPS = types.SimpleNamespace(
    name="numpy", dot=_dot, all_finite=_all_finite, step_point=_step_point,
    curvature_pair=_curvature_pair, rows_dot=_rows_dot, combine_rows=_combine_rows)

COMPILED_OPS = None if _compiled is None else types.SimpleNamespace(
    # NumPy's isfinite loop is as fast as a threaded pass here (0.03 ms for
    # 308,700 float32 values), so both namespaces share it.
    name="compiled", dot=_compiled.dot, all_finite=_all_finite,
    step_point=_compiled.step_point, curvature_pair=_compiled.curvature_pair,
    rows_dot=_compiled.rows_dot, combine_rows=_compiled.combine_rows)


def get(compiled=None):
    """Return the namespace of vector functions.

    With ``compiled`` None the compiled module is used when it exists. True
    requires it and raises ImportError without it. False selects the NumPy
    versions.
    """
    if compiled is not None and not isinstance(compiled, bool):
        raise TypeError(f"compiled must be True, False or None, got {compiled!r}.")
    if compiled is None:
        return NUMPY_OPS if COMPILED_OPS is None else COMPILED_OPS
    if compiled:
        if COMPILED_OPS is None:
            raise ImportError("jsae_fast._vector_ops was not built; reinstall jsae_fast "
                              "with a C compiler to get it.")
        return COMPILED_OPS
    return NUMPY_OPS
