"""scikit-learn estimator API of the autoencoders, the softmax and the stacked classifier."""

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import jsae_fast
from jsae_fast import (
    Autoencoder,
    ContractiveAutoencoder,
    JacobianSparseAutoencoder,
    SoftmaxClassifier,
    SparseAutoencoder,
    StackedAutoencoderClassifier,
)
from jsae_fast.estimators import _EarlyStopping

# ----------------------------------------------------------------------
# scikit-learn's estimator checks
# ----------------------------------------------------------------------

SMALL = dict(n_hidden=3, max_iter=5, n_threads=1)
SMALL_STACKED = dict(hidden_layer_sizes=(4,), max_iter=5, fine_tune_max_iter=5,
                     softmax_max_iter=20, n_threads=1)

# The autoencoders and the stacked classifier reject data outside [0, 1] by
# design, because a sigmoid decoder cannot reconstruct it.  The checks below
# feed data with values above 1 or below 0, so each of them fails with that
# ValueError, or gets it before the error it tests for.  The same checks pass
# on the pipelines further down, which scale the data into [0, 1] first.
RANGE_REASON = "rejects data outside [0, 1] by design; passes behind MinMaxScaler"
RANGE_CHECKS = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_estimators_dtypes",
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_estimators_pickle", "check_f_contiguous_array_estimator",
    "check_fit2d_1feature", "check_fit2d_1sample", "check_fit2d_predict1d",
    "check_fit_check_is_fitted", "check_fit_idempotent",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_n_features_in", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_readonly_memmap_input",
]
TRANSFORMER_RANGE_CHECKS = [
    "check_transformer_data_not_an_array", "check_transformer_general",
    "check_transformer_n_iter", "check_transformer_preserve_dtypes",
]
CLASSIFIER_RANGE_CHECKS = [
    "check_classifier_data_not_an_array", "check_classifiers_classes",
    "check_classifiers_train", "check_non_transformer_estimators_n_iter",
    "check_decision_proba_consistency",
]
# Pipeline replaces its steps by fitted clones during fit, which these two
# checks report as a changed parameter; scikit-learn's own Pipeline fails them too.
PIPELINE_REASON = "Pipeline.fit replaces its steps attribute by design"
PIPELINE_CHECKS = ["check_estimators_overwrite_params", "check_dont_overwrite_parameters"]


def _expected_failed_checks(estimator):
    if isinstance(estimator, SoftmaxClassifier):
        return {}
    if hasattr(estimator, "steps"):
        return {name: PIPELINE_REASON for name in PIPELINE_CHECKS}
    names = RANGE_CHECKS + (CLASSIFIER_RANGE_CHECKS
                            if isinstance(estimator, StackedAutoencoderClassifier)
                            else TRANSFORMER_RANGE_CHECKS)
    return {name: RANGE_REASON for name in names}


def _scaled(estimator):
    return make_pipeline(MinMaxScaler(clip=True), estimator)


ESTIMATORS = [
    JacobianSparseAutoencoder(**SMALL),
    JacobianSparseAutoencoder(**dict(SMALL, max_iter=2), tied=True, solver="adam"),
    Autoencoder(**SMALL),
    SparseAutoencoder(**SMALL),
    ContractiveAutoencoder(**SMALL),
    SoftmaxClassifier(max_iter=50),
    StackedAutoencoderClassifier(**SMALL_STACKED),
    # random_state is fixed here because the checks seed only top-level parameters.
    _scaled(JacobianSparseAutoencoder(**SMALL, random_state=0)),
    _scaled(JacobianSparseAutoencoder(**SMALL, early_stopping=True, random_state=0)),
    _scaled(StackedAutoencoderClassifier(**SMALL_STACKED, random_state=0)),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks,
                         xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ----------------------------------------------------------------------
# JacobianSparseAutoencoder behaviour
# ----------------------------------------------------------------------


def _data(m=60, n=16, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).random((m, n)).astype(dtype)


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_autoencoder_keeps_float_dtype(dtype):
    X = _data(dtype=dtype)
    model = _fit_quietly(JacobianSparseAutoencoder(n_hidden=4, max_iter=5, random_state=0), X)
    assert model.components_.dtype == dtype
    assert model.decoder_weights_.dtype == dtype
    assert model.transform(X).dtype == dtype
    assert model.inverse_transform(model.transform(X)).dtype == dtype


def test_autoencoder_dtype_parameter_casts():
    X = _data(dtype=np.float64)
    model = _fit_quietly(JacobianSparseAutoencoder(n_hidden=4, max_iter=5, dtype="float32",
                                                   random_state=0), X)
    assert model.components_.dtype == np.float32
    assert model.transform(X).dtype == np.float32


def test_autoencoder_attributes_match_encode_decode():
    X = _data()
    model = _fit_quietly(JacobianSparseAutoencoder(n_hidden=5, max_iter=10, random_state=0), X)
    params = {"W": model.components_, "b": model.intercept_hidden_,
              "V": model.decoder_weights_, "c": model.intercept_visible_}
    np.testing.assert_array_equal(model.transform(X), jsae_fast.encode(X, params))
    H = model.transform(X)
    np.testing.assert_allclose(model.inverse_transform(H), jsae_fast.decode(H, params),
                               rtol=1e-12)
    assert model.components_.shape == (5, 16)
    assert model.n_features_in_ == 16
    assert model.n_iter_ == len(model.loss_curve_)


def test_autoencoder_score_is_negative_cost():
    X = _data()
    model = JacobianSparseAutoencoder(n_hidden=5, max_iter=10, sparsity_weight=0.5,
                                      jacobian_weight=0.3, random_state=0)
    _fit_quietly(model, X)
    loss, _ = jsae_fast.loss_and_grad(
        X, model.components_, model.intercept_hidden_, model.decoder_weights_,
        model.intercept_visible_, sparsity_target=0.1, weight_decay=3e-3,
        sparsity_weight=0.5, jacobian_weight=0.3, backend="numpy")
    assert model.score(X) == pytest.approx(-loss, rel=1e-10)


def test_autoencoder_fit_lowers_cost():
    X = _data()
    model = _fit_quietly(JacobianSparseAutoencoder(n_hidden=5, max_iter=30, random_state=0), X)
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_autoencoder_warns_at_max_iter():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        JacobianSparseAutoencoder(n_hidden=4, max_iter=2, random_state=0).fit(_data())


def test_autoencoder_same_seed_same_result():
    X = _data()
    a = _fit_quietly(JacobianSparseAutoencoder(n_hidden=4, max_iter=5, random_state=3,
                                               n_threads=1), X)
    b = _fit_quietly(JacobianSparseAutoencoder(n_hidden=4, max_iter=5, random_state=3,
                                               n_threads=1), X)
    np.testing.assert_array_equal(a.components_, b.components_)


def test_early_stopping_tracker_patience():
    values = iter([1.0, 2.0, 3.0, 2.5, 2.9, 2.0, 5.0])
    tracker = _EarlyStopping(lambda params: next(values), tol=0.0, patience=3)
    stops = [tracker.record({"W": np.array([float(i)])}) for i in range(6)]
    assert stops == [False, False, False, False, False, True]
    assert tracker.best_score == 3.0
    assert tracker.best_params["W"][0] == 2.0


def test_early_stopping_tracker_copies_params():
    tracker = _EarlyStopping(lambda params: 1.0, tol=0.0, patience=1)
    W = np.zeros(2)
    tracker.record({"W": W, "V": None})
    W += 1
    assert np.all(tracker.best_params["W"] == 0)


def test_autoencoder_early_stopping_keeps_best_validation():
    X = _data(m=200, n=20)
    # A large Adam step makes the validation cost stop improving within a few epochs.
    model = JacobianSparseAutoencoder(n_hidden=6, max_iter=200, early_stopping=True,
                                      n_iter_no_change=3, validation_fraction=0.2,
                                      random_state=0, solver="adam", learning_rate=0.5,
                                      batch_size=20, n_threads=1)
    _fit_quietly(model, X)
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_
    assert model.n_iter_ < 200
    assert model.best_validation_score_ >= max(scores)
    best_epoch = int(np.argmax(scores))
    if model.best_validation_score_ == scores[best_epoch]:
        assert len(scores) - 1 - best_epoch == 3


def test_autoencoder_early_stopping_too_few_samples():
    with pytest.raises(ValueError, match="validation_fraction"):
        JacobianSparseAutoencoder(n_hidden=2, early_stopping=True).fit(_data(m=3))


def test_autoencoder_rejects_out_of_range_data():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        JacobianSparseAutoencoder(n_hidden=2).fit(_data() * 2)
    with pytest.raises(ValueError, match="Negative values"):
        JacobianSparseAutoencoder(n_hidden=2).fit(_data() - 0.5)


def test_autoencoder_rejects_unknown_solver():
    with pytest.raises(ValueError, match="'lbfgs', 'gd', 'adam'"):
        JacobianSparseAutoencoder(solver="sgd").fit(_data())


def test_autoencoder_rejects_bad_n_hidden():
    with pytest.raises(ValueError, match="n_hidden"):
        JacobianSparseAutoencoder(n_hidden=0).fit(_data())


@pytest.mark.parametrize("cls", [JacobianSparseAutoencoder, Autoencoder, SparseAutoencoder,
                                 ContractiveAutoencoder])
@pytest.mark.parametrize("seed", [True, np.False_], ids=["True", "np.False_"])
def test_autoencoder_fit_rejects_bool_random_state(cls, seed):
    model = cls(n_hidden=2, max_iter=2, random_state=seed)
    # __init__ only stores the value; fit validates it.
    assert model.get_params()["random_state"] is seed
    with pytest.raises(TypeError, match=f"random_state must be an int, a "
                                        f"numpy.random.RandomState instance or None, got "
                                        f"{re.escape(repr(seed))} of type bool"):
        model.fit(_data())
    assert not hasattr(model, "components_")


@pytest.mark.parametrize("seed", [True, np.False_], ids=["True", "np.False_"])
def test_partial_fit_rejects_bool_random_state(seed):
    model = JacobianSparseAutoencoder(n_hidden=2, solver="adam", random_state=seed)
    with pytest.raises(TypeError, match=f"got {re.escape(repr(seed))} of type bool"):
        model.partial_fit(_data())
    assert not hasattr(model, "components_")


@pytest.mark.parametrize("tied", ["no", 0, None], ids=["str", "int", "None"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_autoencoder_rejects_non_bool_tied(tied, method):
    # bool("no") is True, so a string would otherwise tie the weights.
    model = JacobianSparseAutoencoder(n_hidden=2, max_iter=2, solver="adam", tied=tied)
    with pytest.raises(TypeError, match=f"tied must be True or False, got {tied!r}"):
        getattr(model, method)(_data())
    assert not hasattr(model, "components_")


def test_autoencoder_transform_checks_features():
    model = _fit_quietly(JacobianSparseAutoencoder(n_hidden=2, max_iter=2), _data())
    with pytest.raises(ValueError, match="16 features"):
        model.transform(_data(n=5))


def test_partial_fit_only_for_mini_batch_solvers():
    assert not hasattr(JacobianSparseAutoencoder(solver="lbfgs"), "partial_fit")
    assert hasattr(JacobianSparseAutoencoder(solver="adam"), "partial_fit")
    assert hasattr(JacobianSparseAutoencoder(solver="gd"), "partial_fit")


def _manual_adam(X, params, steps, rate, penalties):
    """Full-batch Adam written out independently of the estimator."""
    params = {k: None if v is None else v.copy() for k, v in params.items()}
    names = [k for k in ("W", "b", "V", "c") if params[k] is not None]
    m1 = {k: np.zeros_like(params[k]) for k in names}
    m2 = {k: np.zeros_like(params[k]) for k in names}
    for t in range(1, steps + 1):
        _, grads = jsae_fast.loss_and_grad(X, params["W"], params["b"], params["V"],
                                           params["c"], backend="numpy", **penalties)
        for k in names:
            m1[k] = 0.9 * m1[k] + 0.1 * grads[k]
            m2[k] = 0.999 * m2[k] + 0.001 * grads[k] ** 2
            m_hat = m1[k] / (1 - 0.9 ** t)
            v_hat = m2[k] / (1 - 0.999 ** t)
            # The epsilon placement of the Adam paper's efficient variant, as the
            # estimator and the Trainer use it.
            params[k] = params[k] - rate * m_hat / (np.sqrt(v_hat)
                                                    + 1e-8 / np.sqrt(1 - 0.999 ** t))
    return params


def test_partial_fit_adam_keeps_optimizer_state():
    X = _data(m=30, n=8)
    model = JacobianSparseAutoencoder(n_hidden=3, solver="adam", batch_size=30,
                                      learning_rate=0.05, random_state=4, backend="numpy")
    for _ in range(3):
        model.partial_fit(X)
    start = jsae_fast.init_params(8, 3, random_state=4)
    penalties = dict(sparsity_target=0.1, weight_decay=3e-3, sparsity_weight=3.0,
                     jacobian_weight=jsae_fast._model.DEFAULT_PENALTIES["jacobian_weight"])
    expected = _manual_adam(X, start, 3, 0.05, penalties)
    np.testing.assert_allclose(model.components_, expected["W"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.decoder_weights_, expected["V"], rtol=1e-10, atol=1e-12)
    assert model.n_iter_ == 3
    assert len(model.loss_curve_) == 3


def test_partial_fit_gd_lowers_cost():
    X = _data(m=40, n=8)
    model = JacobianSparseAutoencoder(n_hidden=3, solver="gd", learning_rate=0.5,
                                      random_state=0)
    for _ in range(20):
        model.partial_fit(X)
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_warm_start_continues_from_fitted_parameters():
    X = _data()
    model = JacobianSparseAutoencoder(n_hidden=4, max_iter=5, warm_start=True, random_state=0,
                                      n_threads=1)
    _fit_quietly(model, X)
    first_end = model.loss_curve_[-1]
    _fit_quietly(model, X)
    assert model.loss_curve_[0] <= first_end + 1e-12


# ----------------------------------------------------------------------
# Variants
# ----------------------------------------------------------------------


@pytest.mark.parametrize("cls, absent", [
    (Autoencoder, {"sparsity_target", "sparsity_weight", "jacobian_weight"}),
    (SparseAutoencoder, {"jacobian_weight"}),
    (ContractiveAutoencoder, {"sparsity_target", "sparsity_weight"}),
])
def test_variant_parameters_omit_fixed_penalties(cls, absent):
    params = cls().get_params()
    assert not absent & set(params)
    assert set(params) | absent == set(JacobianSparseAutoencoder().get_params())
    assert clone(cls(n_hidden=7)).get_params() == cls(n_hidden=7).get_params()


@pytest.mark.parametrize("cls, penalties", [
    (Autoencoder, dict(sparsity_weight=0.0, jacobian_weight=0.0)),
    (SparseAutoencoder, dict(jacobian_weight=0.0)),
    (ContractiveAutoencoder, dict(sparsity_weight=0.0)),
])
def test_variant_equals_jsae_with_fixed_weights(cls, penalties):
    X = _data()
    variant = _fit_quietly(cls(n_hidden=4, max_iter=8, random_state=1, n_threads=1), X)
    general = _fit_quietly(JacobianSparseAutoencoder(n_hidden=4, max_iter=8, random_state=1,
                                                     n_threads=1, **penalties), X)
    np.testing.assert_array_equal(variant.components_, general.components_)


# ----------------------------------------------------------------------
# Composition with scikit-learn tools
# ----------------------------------------------------------------------


def test_autoencoder_in_pipeline_and_grid_search():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500] / 16, y[:500]
    pipeline = make_pipeline(JacobianSparseAutoencoder(max_iter=40, random_state=0, n_threads=1),
                             SoftmaxClassifier(max_iter=100))
    search = GridSearchCV(pipeline, {"jacobiansparseautoencoder__n_hidden": [8, 32]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    best = search.best_params_["jacobiansparseautoencoder__n_hidden"]
    assert search.best_estimator_[0].components_.shape == (best, 64)
    assert search.score(X, y) > 0.5


def test_autoencoder_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_data(n=4), columns=["a", "b", "c", "d"])
    model = JacobianSparseAutoencoder(n_hidden=3, max_iter=3, random_state=0)
    model.set_output(transform="pandas")
    out = _fit_quietly(model, X).transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"jacobiansparseautoencoder{i}" for i in range(3)]
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
