"""Trainer and estimator checkpoints: writing, resuming, rejecting damaged or mismatched files."""

import io
import os
import zipfile

import numpy as np
import pytest
from conftest import ALL_PENALTIES, make_problem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jsae_fast.estimators
from jsae_fast import Autoencoder, JacobianSparseAutoencoder, Trainer
from jsae_fast._checkpoint import load_checkpoint, save_checkpoint
from jsae_fast._lbfgs import DEFAULT_MEMORY

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RATES = {"adam": 0.01, "gd": 0.5, "lbfgs": None}


def _trainer(solver, max_iter=8, **kwargs):
    kwargs.setdefault("batch_size", 32)
    return Trainer(solver, max_iter=max_iter, learning_rate=RATES[solver], random_state=3,
                   n_threads=1, **kwargs)


def _stop_at(n):
    return lambda iteration, loss, params: iteration == n


def _write_partial(tmp_path, solver, *, tied=False, dtype=np.float64, stop=4, max_iter=8):
    X, _ = make_problem(120, 10, 5, dtype=dtype)
    path = tmp_path / f"{solver}.npz"
    partial = _trainer(solver, max_iter=max_iter, checkpoint_path=path,
                       callback=_stop_at(stop)).fit(X, n_hidden=5, tied=tied, **ALL_PENALTIES)
    assert partial.n_iter == stop
    return X, path


@pytest.mark.parametrize("solver", ["adam", "gd", "lbfgs"])
@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_resume_matches_uninterrupted_run(tmp_path, solver, tied, dtype):
    X, path = _write_partial(tmp_path, solver, tied=tied, dtype=dtype)
    full = _trainer(solver).fit(X, n_hidden=5, tied=tied, **ALL_PENALTIES)
    resumed = _trainer(solver).fit(X, resume_from=path, **ALL_PENALTIES)
    assert resumed.n_iter == full.n_iter == 8
    assert resumed.loss_history == full.loss_history
    assert resumed.n_evaluations == full.n_evaluations
    for name in ("W", "b", "c") if tied else ("W", "b", "V", "c"):
        np.testing.assert_array_equal(resumed.params[name], full.params[name])
    assert resumed.params["V"] is None if tied else resumed.params["V"] is not None


@pytest.mark.parametrize("stop", [2, 13], ids=["partial-history", "full-history"])
def test_resume_lbfgs_matches_after_history_wraps(tmp_path, stop):
    # With 13 iterations the ring buffer of 10 pairs has wrapped around.
    X, path = _write_partial(tmp_path, "lbfgs", stop=stop, max_iter=20)
    saved = load_checkpoint(path)
    assert saved["lbfgs_history"].shape[0] == min(stop, 10)
    full = _trainer("lbfgs", max_iter=20).fit(X, n_hidden=5, **ALL_PENALTIES)
    resumed = _trainer("lbfgs", max_iter=20).fit(X, resume_from=path, **ALL_PENALTIES)
    assert resumed.n_iter == full.n_iter
    assert resumed.loss_history == full.loss_history
    assert resumed.n_evaluations == full.n_evaluations
    for name in "WbVc":
        np.testing.assert_array_equal(resumed.params[name], full.params[name])


@pytest.mark.parametrize("change,match", [
    ({"lbfgs_history": None}, "no 'lbfgs_history' entry.*cannot be resumed"),
    ({"lbfgs_grad": None}, "no 'lbfgs_grad' entry"),
    ({"lbfgs_grad": np.zeros(7)}, r"'lbfgs_grad' has shape \(7,\)"),
    ({"lbfgs_grad": np.zeros(115, dtype=np.float32)}, "'lbfgs_grad' has dtype float32"),
    ({"lbfgs_history": np.zeros((11, 2, 115))}, "at most 10"),
    ({"lbfgs_history_dot_grad": np.zeros((3, 2))}, "'lbfgs_history_dot_grad' has shape"),
    ({"lbfgs_head": np.int64(1)}, "'lbfgs_head' is 1"),
    ({"lbfgs_sty": np.full((10, 10), np.inf)}, "'lbfgs_sty' contains NaN"),
    ({"lbfgs_gamma": np.float64(-1.0)}, "'lbfgs_gamma' is -1.0"),
    ({"lbfgs_memory": np.float64(10.0)}, r"'lbfgs_memory' has dtype float64 and shape \(\)"),
    ({"lbfgs_memory": np.int64(20)}, "written by L-BFGS keeping 20 curvature pairs, but "
                                     "this version of jsae_fast keeps 10"),
], ids=["old-format", "missing", "shape", "dtype", "too-many", "products", "head",
        "inf", "gamma", "memory-type", "memory"])
def test_resume_inconsistent_lbfgs_state_rejected(tmp_path, change, match):
    X, path = _write_partial(tmp_path, "lbfgs", stop=4)
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=match) as info:
        _trainer("lbfgs").fit(X, resume_from=path, **ALL_PENALTIES)
    assert str(path) in str(info.value)


def test_lbfgs_checkpoint_stores_memory(tmp_path):
    _, path = _write_partial(tmp_path, "lbfgs")
    saved = load_checkpoint(path)
    assert saved["lbfgs_memory"].dtype.kind == "i"
    assert int(saved["lbfgs_memory"]) == DEFAULT_MEMORY
    _, adam_path = _write_partial(tmp_path, "adam")
    assert "lbfgs_memory" not in load_checkpoint(adam_path)


def test_resume_lbfgs_without_memory_entry(tmp_path):
    # Checkpoints written before the entry existed kept DEFAULT_MEMORY pairs.
    X, path = _write_partial(tmp_path, "lbfgs")
    _rewrite(path, lbfgs_memory=None)
    full = _trainer("lbfgs").fit(X, n_hidden=5, **ALL_PENALTIES)
    resumed = _trainer("lbfgs").fit(X, resume_from=path, **ALL_PENALTIES)
    assert resumed.loss_history == full.loss_history


def test_resume_at_max_iter_runs_nothing(tmp_path):
    X, path = _write_partial(tmp_path, "adam", stop=4)
    with pytest.warns(Warning, match="max_iter=4"):
        result = _trainer("adam", max_iter=4).fit(X, resume_from=path, **ALL_PENALTIES)
    assert result.n_iter == 4
    assert len(result.loss_history) == 4


def test_checkpoint_every_writes_at_multiples(tmp_path):
    X, _ = make_problem(60, 8, 4)
    path = tmp_path / "every.npz"
    seen = {}

    def callback(iteration, loss, params):
        if path.exists():
            seen[iteration] = int(load_checkpoint(path)["n_iter"])

    _trainer("adam", max_iter=7, checkpoint_path=path, checkpoint_every=3,
             callback=callback).fit(X, n_hidden=4, **ALL_PENALTIES)
    assert seen == {3: 3, 4: 3, 5: 3, 6: 6, 7: 6}
    # The final checkpoint is written when fit returns.
    assert int(load_checkpoint(path)["n_iter"]) == 7
    assert sorted(os.listdir(tmp_path)) == ["every.npz"]


def test_checkpoint_readable_by_numpy_without_pickle(tmp_path):
    _, path = _write_partial(tmp_path, "adam")
    with np.load(path, allow_pickle=False) as archive:
        assert int(archive["n_iter"]) == 4
        assert archive["loss_history"].shape == (4,)
        assert archive["adam_m_W"].shape == (5, 10)
        assert archive["sha256"].shape == (32,)


def test_failed_write_keeps_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"format_version": np.int64(1), "x": np.arange(3)})
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"format_version": np.int64(1), "x": np.arange(5)})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]


def test_checkpoint_options_validated(tmp_path):
    X, _ = make_problem(20, 4, 2)
    with pytest.raises(ValueError, match="checkpoint_every=2 needs a checkpoint_path"):
        Trainer(checkpoint_every=2).fit(X, n_hidden=2)
    with pytest.raises(ValueError, match="checkpoint_every must be a non-negative integer"):
        Trainer(checkpoint_path=tmp_path / "c.npz", checkpoint_every=-1).fit(X, n_hidden=2)
    with pytest.raises(ValueError, match="does not exist"):
        Trainer(checkpoint_path=tmp_path / "missing" / "c.npz").fit(X, n_hidden=2)
    with pytest.raises(ValueError, match="is a folder"):
        Trainer(checkpoint_path=tmp_path).fit(X, n_hidden=2)
    with pytest.raises(TypeError, match="checkpoint_path must be a str"):
        Trainer(checkpoint_path=3).fit(X, n_hidden=2)


def test_resume_with_params_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    _, params = make_problem(120, 10, 5)
    with pytest.raises(ValueError, match="either params or resume_from"):
        _trainer("adam").fit(X, params, resume_from=path, **ALL_PENALTIES)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_hidden": 4}, r"n_hidden=4, but the checkpoint .*adam.npz has 5 hidden units; pass "
                      r"n_hidden=5 to match"),
    ({"tied": True}, r"tied=True, but the checkpoint .*adam.npz has untied weights \(a "
                     r"decoder V\); pass tied=False to match"),
    ({"n_hidden": 196}, "n_hidden=196, but the checkpoint"),
    ({"tied": False, "n_hidden": 5.0}, "n_hidden must be a positive integer, got 5.0"),
], ids=["n_hidden", "tied", "n_hidden-default-value", "n_hidden-type"])
def test_resume_contradicting_shape_rejected(tmp_path, kwargs, match):
    X, path = _write_partial(tmp_path, "adam")
    with pytest.raises((ValueError, TypeError), match=match):
        _trainer("adam").fit(X, resume_from=path, **kwargs, **ALL_PENALTIES)


def test_resume_tied_checkpoint_rejects_untied(tmp_path):
    X, path = _write_partial(tmp_path, "gd", tied=True)
    with pytest.raises(ValueError, match=r"tied=False, but the checkpoint .*gd.npz has tied "
                                         r"weights \(V is W.T\); pass tied=True to match"):
        _trainer("gd").fit(X, resume_from=path, tied=False, **ALL_PENALTIES)


def test_resume_matching_shape_accepted(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    full = _trainer("adam").fit(X, n_hidden=5, **ALL_PENALTIES)
    resumed = _trainer("adam").fit(X, resume_from=path, n_hidden=5, tied=False,
                                   **ALL_PENALTIES)
    assert resumed.loss_history == full.loss_history


# The estimators resume through Trainer.fit and pass it their own n_hidden
# and tied, so a checkpoint of another shape is rejected.

ESTIMATOR_SETTINGS = dict(n_hidden=4, solver="adam", learning_rate=0.01, batch_size=32,
                          random_state=0, n_threads=1)


def _write_estimator_checkpoint(tmp_path, cls, *, tied=False):
    X, _ = make_problem(60, 8, 4)
    path = tmp_path / "estimator.npz"
    cls(**ESTIMATOR_SETTINGS, tied=tied, max_iter=3, checkpoint_path=path).fit(X)
    return X, path


@pytest.mark.parametrize("cls", [JacobianSparseAutoencoder, Autoencoder])
@pytest.mark.parametrize("checkpoint_tied, changed, match", [
    (False, {"n_hidden": 6}, r"n_hidden=6, but the checkpoint .*estimator\.npz has 4 "
                             r"hidden units; pass n_hidden=4 to match"),
    (False, {"tied": True}, r"tied=True, but the checkpoint .*estimator\.npz has untied "
                            r"weights \(a decoder V\); pass tied=False to match"),
    (True, {"tied": False}, r"tied=False, but the checkpoint .*estimator\.npz has tied "
                            r"weights \(V is W.T\); pass tied=True to match"),
], ids=["n_hidden", "tied", "untied"])
def test_estimator_resume_shape_mismatch(tmp_path, cls, checkpoint_tied,
                                                       changed, match):
    X, path = _write_estimator_checkpoint(tmp_path, cls, tied=checkpoint_tied)
    written = path.read_bytes()
    settings = dict(ESTIMATOR_SETTINGS, tied=checkpoint_tied, max_iter=6)
    model = cls(**dict(settings, **changed), checkpoint_path=path)
    with pytest.raises(ValueError, match=match):
        model.fit(X, resume_from=path)
    assert not hasattr(model, "components_")
    # The fit stopped before training, so the checkpoint was not overwritten.
    assert path.read_bytes() == written


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_estimator_resume_matches_uninterrupted_fit(tmp_path, tied):
    X, path = _write_estimator_checkpoint(tmp_path, JacobianSparseAutoencoder, tied=tied)
    full = JacobianSparseAutoencoder(**ESTIMATOR_SETTINGS, tied=tied, max_iter=6).fit(X)
    resumed = JacobianSparseAutoencoder(**ESTIMATOR_SETTINGS, tied=tied, max_iter=6)
    resumed.fit(X, resume_from=path)
    assert resumed.n_iter_ == full.n_iter_ == 6
    assert resumed.loss_curve_ == full.loss_curve_
    np.testing.assert_array_equal(resumed.components_, full.components_)
    assert resumed.components_.shape[0] == resumed.get_params()["n_hidden"]
    assert (resumed.decoder_weights_ is None) == resumed.get_params()["tied"]


def test_resume_error_names_validation_split(tmp_path):
    # The checkpoint was written without early stopping, so it contains all
    # 60 samples.  With early stopping the estimator passes only 54.
    X, path = _write_estimator_checkpoint(tmp_path, JacobianSparseAutoencoder)
    model = JacobianSparseAutoencoder(**ESTIMATOR_SETTINGS, max_iter=6, early_stopping=True)
    with pytest.raises(ValueError, match=r"The estimator passed 54 samples of dtype float64.*"
                                         r"validation_fraction=0\.1.*fixed random_state, "
                                         r"here 0"):
        model.fit(X, resume_from=path)


def test_resume_error_names_random_split(tmp_path):
    X, _ = make_problem(60, 8, 4)
    path = tmp_path / "estimator.npz"
    settings = dict(ESTIMATOR_SETTINGS, random_state=None, early_stopping=True)
    JacobianSparseAutoencoder(**settings, max_iter=3, checkpoint_path=path).fit(X)
    with pytest.raises(ValueError, match=r"other training data.*fixed random_state, here None"):
        JacobianSparseAutoencoder(**settings, max_iter=6).fit(X, resume_from=path)


def test_resume_scores_only_new_iterates(tmp_path, monkeypatch):
    X, _ = make_problem(60, 8, 4)
    path = tmp_path / "estimator.npz"
    settings = dict(ESTIMATOR_SETTINGS, early_stopping=True, n_iter_no_change=50)
    JacobianSparseAutoencoder(**settings, max_iter=3, checkpoint_path=path).fit(X)
    scored = []
    original = jsae_fast.estimators.jsae_cost

    def counting_cost(*args):
        scored.append(args[1]["W"].copy())
        return original(*args)

    monkeypatch.setattr(jsae_fast.estimators, "jsae_cost", counting_cost)
    model = JacobianSparseAutoencoder(**settings, max_iter=5).fit(X, resume_from=path)
    # Two iterations were left after the checkpoint's three; the freshly drawn
    # starting parameters of the new estimator are never a candidate.
    assert model.n_iter_ == 5
    assert len(scored) == 2
    assert len(model.validation_scores_) == 2
    assert any(np.array_equal(model.components_, W) for W in scored)


def test_resume_missing_file_raises_file_not_found(tmp_path):
    X, _ = make_problem(20, 4, 2)
    with pytest.raises(FileNotFoundError):
        Trainer().fit(X, resume_from=tmp_path / "absent.npz")


# Mismatched checkpoints: each must name the file and the mismatch.

def test_resume_other_solver_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    with pytest.raises(ValueError, match=r"adam.npz was written by solver 'adam'.*'gd'"):
        _trainer("gd").fit(X, resume_from=path, **ALL_PENALTIES)


def test_resume_other_dtype_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam", dtype=np.float32)
    with pytest.raises(ValueError, match=r"contains float32 parameters, but X has dtype float64"):
        _trainer("adam").fit(X.astype(np.float64), resume_from=path, **ALL_PENALTIES)


def test_resume_other_data_shape_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    with pytest.raises(ValueError, match="written for 120 samples, but X has 119"):
        _trainer("adam").fit(X[:119], resume_from=path, **ALL_PENALTIES)
    with pytest.raises(ValueError, match=r"W of shape \(5, 10\), but X has 9 features"):
        _trainer("adam").fit(X[:, :9], resume_from=path, **ALL_PENALTIES)


def test_resume_other_penalties_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    changed = dict(ALL_PENALTIES, jacobian_weight=0.5)
    with pytest.raises(ValueError, match="resume with the same cost"):
        _trainer("adam").fit(X, resume_from=path, **changed)


def _rewrite(path, **changes):
    """Rewrite a checkpoint with some entries replaced, keeping a valid checksum."""
    arrays = load_checkpoint(path)
    arrays.update(changes)
    for name in [k for k, v in changes.items() if v is None]:
        del arrays[name]
    save_checkpoint(path, arrays)


@pytest.mark.parametrize("change,match", [
    ({"param_b": np.zeros(4)}, r"param_b has shape \(4,\)"),
    ({"best_W": np.zeros((5, 10), dtype=np.float32)}, "best_W has shape .* float32"),
    ({"adam_m_W": np.zeros((5, 9))}, "'adam_m_W' has shape"),
    ({"adam_v_c": None}, "no 'adam_v_c' entry"),
    ({"loss_history": np.zeros(3)}, "3 loss values for 4 iterations"),
    ({"param_W": np.full((5, 10), np.nan)}, "param_W contains NaN"),
    ({"format_version": np.int64(99)}, "format version 99"),
    ({"solver": np.zeros(2)}, "entry 'solver' has dtype float64"),
    ({"adam_rng_pos": np.int64(9999)}, "outside"),
], ids=["shape", "dtype", "moment-shape", "missing", "history", "nan", "version",
        "solver-type", "rng"])
def test_resume_inconsistent_checkpoint_rejected(tmp_path, change, match):
    X, path = _write_partial(tmp_path, "adam")
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=match) as info:
        _trainer("adam").fit(X, resume_from=path, **ALL_PENALTIES)
    assert str(path) in str(info.value)


def _tamper_member(path, member, position):
    """Flip one data byte of a member and fix the ZIP CRC, so only the SHA-256 can tell."""
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    data = bytearray(contents[member])
    data[position] ^= 0x01
    contents[member] = bytes(data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, value in contents.items():
            archive.writestr(name, value)


def test_checksum_mismatch_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    _tamper_member(path, "param_W.npy", -3)
    with pytest.raises(ValueError, match=r"adam.npz fails its SHA-256 checksum"):
        _trainer("adam").fit(X, resume_from=path, **ALL_PENALTIES)


def test_missing_checksum_rejected(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, format_version=np.int64(1))
    with pytest.raises(ValueError, match="no 'sha256' checksum"):
        load_checkpoint(path)


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, 0.99], ids=lambda k: f"keep={k}")
def test_truncated_checkpoint_rejected(tmp_path, keep):
    X, path = _write_partial(tmp_path, "adam")
    data = path.read_bytes()
    size = keep if isinstance(keep, int) else int(len(data) * keep)
    path.write_bytes(data[:size])
    with pytest.raises(ValueError, match=r"adam.npz is corrupt"):
        _trainer("adam").fit(X, resume_from=path, **ALL_PENALTIES)


def test_non_archive_files_rejected(tmp_path):
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(4))
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, a=np.arange(4))
    for path, match in ((npy, "is corrupt"), (text, "is corrupt"),
                        (compressed, "compressed")):
        with pytest.raises(ValueError, match=match):
            load_checkpoint(path)


def test_object_member_rejected_without_unpickling(tmp_path):
    path = tmp_path / "objects.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue())
    with pytest.raises(ValueError, match="contains Python objects"):
        load_checkpoint(path)


def test_oversized_header_shape_rejected(tmp_path):
    """A header that declares a huge array is rejected before any allocation."""
    path = tmp_path / "huge.npz"
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue() + b"\0" * 16)
    with pytest.raises(ValueError, match="declares 8000000000000 bytes"):
        load_checkpoint(path)


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    X, _ = make_problem(40, 5, 3)
    path = tmp_path_factory.mktemp("fuzz") / "seed.npz"
    _trainer("adam", max_iter=2, checkpoint_path=path).fit(X, n_hidden=3, **ALL_PENALTIES)
    return path.read_bytes()


# Positions near the start (local header) and the end (central directory) of
# the ZIP archive are drawn more often than data bytes.
_positions = st.one_of(st.integers(0, 63), st.integers(-300, -1), st.integers(0, 10**6))
_mutation = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(_positions, st.integers(1, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.tuples(st.integers(0, 10**6), st.binary(max_size=16))),
    st.tuples(st.just("random"), st.binary(max_size=512)),
)


def _mutate(data, mutation):
    kind, arg = mutation
    data = bytearray(data)
    if kind == "flip":
        for position, mask in arg:
            data[position % len(data)] ^= mask
    elif kind == "truncate":
        del data[arg % len(data):]
    elif kind == "insert":
        position, extra = arg
        data[position % len(data):position % len(data)] = extra
    else:
        data = bytearray(arg)
    return bytes(data)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutation)
def test_mutated_checkpoint_raises_only_value_error(tmp_path, checkpoint_bytes, mutation):
    path = tmp_path / "mutated.npz"
    data = _mutate(checkpoint_bytes, mutation)
    path.write_bytes(data)
    try:
        arrays = load_checkpoint(path)
    except ValueError as exc:
        assert "mutated.npz" in str(exc)
        return
    # Only changes outside the arrays' bytes (ZIP timestamps, for example) can
    # leave a readable checkpoint, and then every array must be intact.
    original = tmp_path / "original.npz"
    original.write_bytes(checkpoint_bytes)
    expected = load_checkpoint(original)
    assert arrays.keys() == expected.keys()
    for name in arrays:
        np.testing.assert_array_equal(arrays[name], expected[name])


def test_resume_other_data_same_shape_rejected(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    with pytest.raises(ValueError, match="written for other training data of the same shape"):
        _trainer("adam").fit(X[::-1].copy(), resume_from=path, **ALL_PENALTIES)


def test_resume_accepts_checkpoint_without_data_digest(tmp_path):
    X, path = _write_partial(tmp_path, "adam")
    _rewrite(path, data_sha256=None)
    result = _trainer("adam").fit(X, resume_from=path, **ALL_PENALTIES)
    assert result.n_iter > 0
