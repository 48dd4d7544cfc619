"""Clear errors for bad data, parameters and hyperparameters."""

import numpy as np
import pytest
import sklearn.utils
from conftest import ALL_PENALTIES, make_problem

import jsae_fast
from jsae_fast._validation import check_random_state


def _call(X=None, params=None, **overrides):
    X0, p0 = make_problem(10, 6, 4)
    X = X0 if X is None else X
    params = p0 if params is None else params
    kwargs = dict(ALL_PENALTIES, **overrides)
    return jsae_fast.loss_and_grad(X, params["W"], params["b"], params.get("V"), params["c"],
                                   **kwargs)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_nonfinite_X_rejected(value):
    X, _ = make_problem(10, 6, 4)
    X[3, 2] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        _call(X)


def test_out_of_range_X_names_range_and_fix():
    X, _ = make_problem(10, 6, 4)
    X[0, 0] = 255.0
    with pytest.raises(ValueError, match=r"values in \[0\.\d+, 255\].*MinMaxScaler"):
        _call(X)


@pytest.mark.parametrize("shape", [(6,), (2, 3, 6)], ids=["1d", "3d"])
def test_wrong_ndim_rejected(shape):
    with pytest.raises(ValueError, match="2-D"):
        _call(np.zeros(shape))


def test_empty_X_rejected():
    with pytest.raises(ValueError, match="0 samples"):
        _call(np.zeros((0, 6)))


@pytest.mark.parametrize("dtype", [np.complex128, object], ids=["complex", "object"])
def test_unsupported_dtype_rejected(dtype):
    X, _ = make_problem(10, 6, 4)
    with pytest.raises(TypeError, match="dtype"):
        _call(X.astype(dtype))


def test_bool_and_int_X_converted_to_float64():
    X, params = make_problem(10, 6, 4)
    binary = X > 0.5
    loss_bool, _ = _call(binary, params)
    loss_float, _ = _call(binary.astype(np.float64), params)
    assert loss_bool == loss_float
    loss_int, _ = _call(binary.astype(np.int64), params)
    assert loss_int == loss_float


def test_float16_X_needs_float32_params():
    X, params32 = make_problem(10, 6, 4, dtype=np.float32)
    loss16, grads = _call(X.astype(np.float16), params32)
    assert grads["W"].dtype == np.float32
    assert np.isfinite(loss16)


def test_param_dtype_mismatch_names_fix():
    X, params = make_problem(10, 6, 4, dtype=np.float32)
    params["W"] = params["W"].astype(np.float64)
    with pytest.raises(TypeError, match=r"W has dtype float64.*astype"):
        _call(X, params)


@pytest.mark.parametrize("name,shape", [("W", (4, 5)), ("b", (3,)), ("V", (6, 3)),
                                        ("c", (5,))])
def test_param_shape_mismatch_rejected(name, shape):
    _, params = make_problem(10, 6, 4)
    params[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=name):
        _call(params=params)


@pytest.mark.parametrize("name,value,match", [
    ("sparsity_target", 0.0, "strictly between 0 and 1"),
    ("sparsity_target", 1.0, "strictly between 0 and 1"),
    ("weight_decay", -1.0, ">= 0"),
    ("sparsity_weight", np.nan, ">= 0"),
    ("jacobian_weight", "big", "real number"),
])
def test_bad_hyperparameters_rejected(name, value, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _call(**{name: value})


def test_unknown_backend_lists_valid_names():
    with pytest.raises(ValueError, match="'auto', 'cython', 'numba', 'numpy'"):
        _call(backend="fortran")


@pytest.mark.parametrize("n_threads", [0, -2])
def test_nonpositive_threads_rejected(n_threads):
    with pytest.raises(ValueError, match="n_threads"):
        _call(n_threads=n_threads)


def test_read_only_and_memmap_inputs_accepted(tmp_path):
    X, params = make_problem(10, 6, 4)
    expected, _ = _call(X, params)
    frozen = X.copy()
    frozen.flags.writeable = False
    assert _call(frozen, params)[0] == expected
    path = tmp_path / "x.dat"
    mapped = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    mapped[:] = X
    mapped.flush()
    reopened = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    assert _call(reopened, params)[0] == expected


# random_state, checked by one helper at every public entry point.

@pytest.mark.parametrize("value", [True, False, np.True_, np.False_],
                         ids=["True", "False", "np.True_", "np.False_"])
def test_random_state_bool_rejected(value):
    with pytest.raises(TypeError) as info:
        check_random_state(value)
    assert str(info.value) == (f"random_state must be an int, a numpy.random.RandomState "
                               f"instance or None, got {value!r} of type bool.")


def test_random_state_error_names_argument():
    with pytest.raises(TypeError, match="^seed must be an int"):
        check_random_state(True, "seed")
    with pytest.raises(ValueError, match="^seed must be an int"):
        check_random_state("7", "seed")


@pytest.mark.parametrize("value,match", [
    ("7", "got '7' of type str"),
    (1.5, "got 1.5 of type float"),
    (np.random.default_rng(0), "got Generator.* of type Generator"),
    (-1, r"must be an int between 0 and 2\*\*32 - 1, got -1\."),
    (2**32, r"must be an int between 0 and 2\*\*32 - 1, got 4294967296\."),
], ids=["str", "float", "Generator", "negative", "too-large"])
def test_random_state_invalid_value_rejected(value, match):
    # ValueError, as scikit-learn raises for these values, but naming the argument.
    with pytest.raises(ValueError, match="^random_state must be an int") as info:
        check_random_state(value)
    assert info.match(match)


@pytest.mark.parametrize("value", [0, 2**32 - 1, np.int64(7), np.uint8(3)],
                         ids=["0", "2**32-1", "np.int64", "np.uint8"])
def test_random_state_int_seeds_like_sklearn(value):
    rng = check_random_state(value)
    expected = sklearn.utils.check_random_state(value)
    assert isinstance(rng, np.random.RandomState)
    np.testing.assert_array_equal(rng.random_sample(5), expected.random_sample(5))


def test_random_state_none_and_instance_passed_through():
    assert check_random_state(None) is np.random.mtrand._rand
    state = np.random.RandomState(3)
    assert check_random_state(state) is state
