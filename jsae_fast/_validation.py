"""Input validation at the public boundary.

Every public entry point runs its arguments through these helpers once; the
backends and the trainer then trust clean, C-contiguous arrays of one float
dtype.  Errors name the argument, the offending value and what is accepted.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state as _sklearn_check_random_state

#: Floating-point types the kernels compute in.
FLOAT_DTYPES = (np.float32, np.float64)


def check_dtype(dtype):
    """Return ``dtype`` as ``np.float32`` or ``np.float64``, or raise."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}.") from exc
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {resolved.name}.")
    return resolved.type


def check_positive_int(value, name):
    """Return ``value`` as a Python int >= 1, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r} "
                        f"of type {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}.")
    return int(value)


def check_nonnegative_int(value, name):
    """Return ``value`` as a Python int >= 0, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r} "
                        f"of type {type(value).__name__}.")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}.")
    return int(value)


def check_bool(value, name):
    """Return ``value`` as a Python bool, accepting only bool and numpy.bool_."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} "
                        f"of type {type(value).__name__}.")
    return bool(value)


def check_random_state(value, name="random_state"):
    """Turn ``value`` into a ``numpy.random.RandomState``, rejecting bools.

    Accepts what :func:`sklearn.utils.check_random_state` accepts and returns
    what it returns: None gives NumPy's global RandomState, an int in
    ``[0, 2**32 - 1]`` a new RandomState seeded with it, and a RandomState
    instance is returned as is.  A bool (Python or NumPy) raises TypeError,
    because scikit-learn (1.9) takes ``True`` as the seed 1, so a flag passed
    by mistake would pass for a seed.  Other invalid values raise ValueError, as
    in scikit-learn, with a message that names ``name``.
    """
    accepted = "an int, a numpy.random.RandomState instance or None"
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {accepted}, got {value!r} of type "
                        f"{type(value).__name__}.")
    try:
        return _sklearn_check_random_state(value)
    except ValueError as exc:
        if isinstance(value, numbers.Integral):
            # NumPy rejects seeds outside the range of a uint32.
            raise ValueError(f"{name} must be an int between 0 and 2**32 - 1, got "
                             f"{value}.") from exc
        raise ValueError(f"{name} must be {accepted}, got {value!r} of type "
                         f"{type(value).__name__}.") from exc


def check_nonnegative_float(value, name):
    """Return ``value`` as a finite Python float >= 0, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a non-negative real number, got {value!r} "
                        f"of type {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}.")
    return value


def check_open_unit(value, name):
    """Return ``value`` as a Python float strictly between 0 and 1, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in (0, 1), got {value!r} "
                        f"of type {type(value).__name__}.")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}.")
    return value


def check_penalties(sparsity_target, weight_decay, sparsity_weight, jacobian_weight):
    """Validate the four penalty hyperparameters and return them as floats."""
    return (
        check_open_unit(sparsity_target, "sparsity_target"),
        check_nonnegative_float(weight_decay, "weight_decay"),
        check_nonnegative_float(sparsity_weight, "sparsity_weight"),
        check_nonnegative_float(jacobian_weight, "jacobian_weight"),
    )


def _as_float_array(array, name, dtype=None):
    """Convert ``array`` to a C-contiguous float32/float64 ndarray.

    Booleans and integers convert to float64, which is exact for integers up
    to 2**53 in magnitude; larger integers are rejected.  float16 converts to
    float32, which is exact, and wider floats (longdouble) to float64.
    Complex, object, string and datetime types are rejected.  ``dtype`` forces
    the result type instead.
    """
    if hasattr(array, "toarray") or type(array).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix; pass a dense array "
                        f"(for example {name}.toarray()).")
    arr = np.asarray(array)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} has complex dtype {arr.dtype}; pass real-valued data.")
    if kind not in "biuf":
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; pass a numeric "
                        f"array of float32 or float64 values.")
    if kind in "iu" and arr.dtype.itemsize > 4 and arr.size:
        # float64 represents every integer up to 2**53 exactly, and it would
        # round larger ones without notice.
        largest = max(abs(int(arr.min())), abs(int(arr.max())))
        if largest > 2**53:
            raise ValueError(f"{name} has integer values up to {largest}, which float64 "
                             f"cannot hold exactly (limit 2**53); scale the data to "
                             f"[0, 1] first.")
    if dtype is not None:
        target = dtype
    elif arr.dtype == np.float32 or arr.dtype == np.float64:
        target = arr.dtype.type
    elif arr.dtype == np.float16:
        target = np.float32
    elif kind == "f":
        # longdouble and other wide floats: float64 is the widest the kernels use.
        target = np.float64
    else:
        target = np.float64
    # np.ascontiguousarray would turn a 0-d array into shape (1,), and check_X
    # would then report the wrong number of dimensions.
    return np.asarray(arr, dtype=target, order="C")


def check_X(X, *, name="X", dtype=None, unit_range=True, n_features=None):
    """Validate a data matrix and return it as a C-contiguous float array.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data, one row per sample.
    name : str, default="X"
        Argument name used in error messages.
    dtype : {None, np.float32, np.float64}, default=None
        Force this dtype; by default float32 and float64 are kept, float16
        becomes float32 and booleans and integers become float64.
    unit_range : bool, default=True
        Require every value to lie in ``[0, 1]``, as a sigmoid decoder does.
    n_features : int or None, default=None
        Required number of columns, for data passed to a fitted model.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    """
    X = _as_float_array(X, name, dtype)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n_samples, n_features), "
                         f"got an array with {X.ndim} dimension(s) and shape {X.shape}. "
                         f"Reshape a single sample with {name}.reshape(1, -1).")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples (shape {X.shape}); at least 1 is required.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {X.shape}); at least 1 is required.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the model was fitted "
                         f"with {n_features} features.")
    # np.min and np.max propagate NaN, so these two passes also detect NaN and inf.
    low, high = float(X.min()), float(X.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); remove or "
                         f"impute them before training.")
    if unit_range and (low < 0.0 or high > 1.0):
        raise ValueError(f"{name} has values in [{low:g}, {high:g}], but the sigmoid decoder "
                         f"reconstructs values in [0, 1]. Scale the data first, for example "
                         f"with sklearn.preprocessing.MinMaxScaler or by dividing pixel "
                         f"values by 255.")
    return X


def _check_param(value, name, shape, dtype):
    if value is None:
        raise ValueError(f"{name} is required and must not be None.")
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value.dtype != dtype:
        raise TypeError(f"{name} has dtype {value.dtype}, but X has dtype "
                        f"{np.dtype(dtype).name}; cast with {name}.astype(X.dtype).")
    if value.shape != shape:
        raise ValueError(f"{name} has shape {value.shape}, expected {shape}.")
    value = np.ascontiguousarray(value)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return value


def check_params(X, W, b, V, c):
    """Validate autoencoder parameters against a validated ``X``.

    The encoder ``W`` fixes the number of hidden units; every array must have
    the dtype of ``X``.  ``V=None`` selects tied weights.
    """
    dtype = X.dtype
    n = X.shape[1]
    if W is None:
        raise ValueError("W is required and must not be None.")
    W_arr = np.asarray(W)
    if W_arr.ndim != 2:
        raise ValueError(f"W must be a 2-D array of shape (n_hidden, n_features), "
                         f"got shape {W_arr.shape}.")
    s = W_arr.shape[0]
    if s == 0:
        raise ValueError("W has 0 rows; at least one hidden unit is required.")
    if W_arr.shape[1] != n:
        raise ValueError(f"W has shape {W_arr.shape}, but X has {n} features; "
                         f"expected W of shape (n_hidden, {n}).")
    W = _check_param(W_arr, "W", (s, n), dtype)
    b = _check_param(b, "b", (s,), dtype)
    if V is not None:
        V = _check_param(V, "V", (n, s), dtype)
    c = _check_param(c, "c", (n,), dtype)
    return W, b, V, c
