"""Model files: exact round trips and clear errors for bad files."""

import json
import struct
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from jsae_fast import (
    Autoencoder,
    ContractiveAutoencoder,
    JacobianSparseAutoencoder,
    SoftmaxClassifier,
    StackedAutoencoderClassifier,
    load_model,
    save_model,
)
from jsae_fast.persistence import FORMAT_VERSION


def _data(m=40, n=9, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, n)), rng.integers(0, 3, size=m)


def _fit(estimator, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args)


def _assert_same_model(a, b):
    assert type(a) is type(b)
    assert a.get_params() == b.get_params()
    fitted = [k for k in vars(a) if k.endswith("_") and not k.startswith("_")]
    assert sorted(fitted) == sorted(k for k in vars(b) if k.endswith("_")
                                    and not k.startswith("_"))
    for name in fitted:
        left, right = getattr(a, name), getattr(b, name)
        if isinstance(left, np.ndarray):
            assert left.dtype == right.dtype, name
            assert left.shape == right.shape, name
            if left.dtype.kind == "f":
                # Bitwise equality, which also holds for NaN and signed zeros.
                assert left.tobytes() == right.tobytes(), name
            else:
                np.testing.assert_array_equal(left, right, err_msg=name)
        elif isinstance(left, list) and left and isinstance(left[0], np.ndarray):
            for x, z in zip(left, right, strict=True):
                assert x.dtype == z.dtype, name
                assert x.tobytes() == z.tobytes(), name
        else:
            assert left == right, name


def _models():
    X, y = _data()
    X32 = X.astype(np.float32)
    labels = np.array(["cat", "dog", "eel"], dtype=object)[y]
    return {
        "jsae": _fit(JacobianSparseAutoencoder(n_hidden=3, max_iter=4, random_state=0), X),
        "jsae-tied-float32": _fit(JacobianSparseAutoencoder(n_hidden=3, max_iter=4, tied=True,
                                                            random_state=0), X32),
        "jsae-early-stopping": _fit(JacobianSparseAutoencoder(
            n_hidden=3, max_iter=4, early_stopping=True, random_state=0), X),
        "autoencoder": _fit(Autoencoder(n_hidden=2, max_iter=3, random_state=0), X),
        "contractive": _fit(ContractiveAutoencoder(n_hidden=2, max_iter=3, random_state=0), X),
        "softmax": _fit(SoftmaxClassifier(max_iter=20), X, labels),
        "stacked": _fit(StackedAutoencoderClassifier(hidden_layer_sizes=(4, 3), max_iter=3,
                                                     fine_tune_max_iter=3, random_state=0),
                        X, y),
        "stacked-strings-float32": _fit(StackedAutoencoderClassifier(
            hidden_layer_sizes=(4,), max_iter=(3,), fine_tune=False, random_state=0),
            X32, labels),
    }


MODELS = _models()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_is_exact(name, tmp_path):
    model = MODELS[name]
    path = tmp_path / "model.npz"
    save_model(model, path)
    loaded = load_model(path)
    _assert_same_model(model, loaded)


def test_round_trip_predictions_identical(tmp_path):
    X, _ = _data()
    for name in ("stacked", "softmax"):
        path = tmp_path / f"{name}.npz"
        MODELS[name].save(path)
        loaded = type(MODELS[name]).load(path)
        assert loaded.predict_proba(X).tobytes() == MODELS[name].predict_proba(X).tobytes()
    model = MODELS["jsae"]
    model.save(tmp_path / "ae.npz")
    assert JacobianSparseAutoencoder.load(tmp_path / "ae.npz").transform(X).tobytes() == \
        model.transform(X).tobytes()


def test_round_trip_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = _data(n=3)
    frame = pd.DataFrame(X, columns=["x", "y", "z"])
    model = _fit(JacobianSparseAutoencoder(n_hidden=2, max_iter=2, random_state=0), frame)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.feature_names_in_.dtype == object
    assert list(loaded.feature_names_in_) == ["x", "y", "z"]


def test_save_keeps_path_without_suffix(tmp_path):
    path = tmp_path / "model.bin"
    save_model(MODELS["jsae"], path)
    assert path.exists()
    assert not (tmp_path / "model.bin.npz").exists()
    assert list(tmp_path.iterdir()) == [path]


def test_file_has_no_pickled_objects(tmp_path):
    path = tmp_path / "m.npz"
    save_model(MODELS["stacked-strings-float32"], path)
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["__meta__"]))
        for name in archive.files:
            assert archive[name].dtype != object
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["class"] == "StackedAutoencoderClassifier"


def test_save_unfitted_raises():
    with pytest.raises(NotFittedError):
        save_model(JacobianSparseAutoencoder(), "unused.npz")


def _rewrite(path, edit):
    """Load a model file's entries, let ``edit`` change them, and save them back."""
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    meta = json.loads(str(entries["__meta__"]))
    edit(entries, meta)
    entries["__meta__"] = np.array(json.dumps(meta))
    with open(path, "wb") as stream:
        np.savez(stream, **entries)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    save_model(MODELS["jsae"], path)
    return path


def test_load_rejects_newer_version(saved):
    _rewrite(saved, lambda entries, meta: meta.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match="format version 2.*upgrade"):
        load_model(saved)


def test_load_rejects_missing_array(saved):
    _rewrite(saved, lambda entries, meta: entries.pop("intercept_hidden_"))
    with pytest.raises(ValueError, match="missing the array 'intercept_hidden_'"):
        load_model(saved)


def test_load_rejects_misshapen_array(saved):
    def edit(entries, meta):
        entries["decoder_weights_"] = entries["decoder_weights_"][:, :2]

    _rewrite(saved, edit)
    with pytest.raises(ValueError, match=r"'decoder_weights_' has shape \(9, 2\), expected "
                                         r"\(9, 3\)"):
        load_model(saved)


def test_load_rejects_extra_array(saved):
    _rewrite(saved, lambda entries, meta: entries.update(extra=np.zeros(2)))
    with pytest.raises(ValueError, match="unexpected arrays"):
        load_model(saved)


def test_load_rejects_wrong_class(saved):
    with pytest.raises(ValueError, match="contains a JacobianSparseAutoencoder, not a "
                                         "StackedAutoencoderClassifier"):
        StackedAutoencoderClassifier.load(saved)


def test_load_rejects_unknown_class(saved):
    _rewrite(saved, lambda entries, meta: meta.update({"class": "Pickle"}))
    with pytest.raises(ValueError, match="unknown class 'Pickle'"):
        load_model(saved)


def test_load_subclass_through_base_class(tmp_path):
    save_model(MODELS["autoencoder"], tmp_path / "ae.npz")
    assert type(JacobianSparseAutoencoder.load(tmp_path / "ae.npz")) is Autoencoder


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_load_rejects_corrupted_file(saved, damage):
    data = saved.read_bytes()
    if damage == "truncate":
        saved.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        saved.write_bytes(b"not a zip file at all" * 10)
    else:
        # Flip one byte inside the compressed data of the encoder weights, so
        # the CRC check (or the decompressor) must catch it.
        with zipfile.ZipFile(saved) as archive:
            info = archive.getinfo("components_.npy")
        name_length, extra_length = struct.unpack(
            "<HH", data[info.header_offset + 26:info.header_offset + 30])
        start = info.header_offset + 30 + name_length + extra_length
        target = start + info.compress_size // 2
        saved.write_bytes(data[:target] + bytes([data[target] ^ 0xFF]) + data[target + 1:])
    with pytest.raises(ValueError, match="cannot read model file|model file"):
        load_model(saved)


def test_load_rejects_unknown_compression_method(saved):
    # Method 97 (WavPack) is valid ZIP but unsupported by zipfile, which then
    # raises NotImplementedError.
    data = bytearray(saved.read_bytes())
    # The first central directory record; its compression method is at offset 10.
    entry = data.find(b"PK\x01\x02")
    assert entry >= 0
    data[entry + 10:entry + 12] = struct.pack("<H", 97)
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="cannot read model file"):
        load_model(saved)


def test_load_rejects_malformed_metadata(saved):
    _rewrite(saved, lambda entries, meta: meta.update(hyperparameters=[1, 2]))
    with pytest.raises(ValueError, match="'hyperparameters' must be a JSON object"):
        load_model(saved)


def test_load_rejects_non_model_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="no '__meta__' entry"):
        load_model(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.npz")


def test_load_rejects_nonfinite_weights(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((40, 6))
    y = np.arange(40) % 3
    from jsae_fast import SoftmaxClassifier
    from jsae_fast.persistence import load_model, save_model

    path = tmp_path / "model.npz"
    save_model(SoftmaxClassifier(max_iter=20).fit(X, y), path)
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    entries["coef_"] = entries["coef_"].copy()
    entries["coef_"][0, 0] = np.nan
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, **entries)
    with pytest.raises(ValueError, match="NaN or infinite"):
        load_model(damaged)


def test_save_to_folder_names_the_folder(tmp_path):
    with pytest.raises(ValueError, match="it is a folder"):
        save_model(MODELS["jsae"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_save_into_missing_folder_names_the_folder(tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(FileNotFoundError, match=f"the folder {missing} does not exist"):
        save_model(MODELS["jsae"], missing / "model.npz")


def test_saved_file_mode_follows_umask(tmp_path):
    import os
    import stat

    previous = os.umask(0o027)
    try:
        save_model(MODELS["jsae"], tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model.npz").stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\nrest", b"", b"a,b\n1,2\n"],
                         ids=["png", "empty", "csv"])
def test_non_archive_is_named_without_pickle_advice(tmp_path, content):
    path = tmp_path / "not_a_model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not an .npz archive") as info:
        load_model(path)
    assert "pickle" not in str(info.value)
