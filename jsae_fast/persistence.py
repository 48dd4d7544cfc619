"""Saving and loading fitted estimators as versioned ``.npz`` files, without pickle.

A model file is a NumPy ``.npz`` archive (a zip of ``.npy`` files, written
compressed).  It contains:

* ``__meta__``: a 0-d unicode array whose text is a JSON object.  Its keys
  are ``format`` (always ``"jsae_fast-model"``), ``format_version`` (an
  int), ``class`` (the estimator's class name), ``jsae_fast_version``,
  ``hyperparameters`` (the result of ``get_params(deep=False)``),
  ``attributes`` (fitted scalars and lists such as ``n_iter_``),
  ``arrays`` (the names of the array entries) and ``restore_dtypes``.
* one entry per fitted array, named after the attribute; the list attributes
  ``coefs_`` and ``intercepts_`` of :class:`StackedAutoencoderClassifier` are
  stored as ``coefs_0``, ``coefs_1``, ... and ``intercepts_0``, ...

Files are read with ``allow_pickle=False``, so string labels and feature
names are stored as fixed-width unicode arrays, and object-dtype ``classes_``
come back as object arrays.  Arrays round-trip bit for bit; floats in the
JSON use Python's shortest round-trip representation, so they do too.
Adam's moment estimates from ``partial_fit`` are not saved: ``partial_fit``
on a loaded model starts a new Adam run from the saved parameters.
"""

import json
import logging
import os
import secrets
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger(__name__)

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

#: Version of the file layout written by :func:`save_model`.  Readers accept
#: files of this version or older and reject newer ones.
FORMAT_VERSION = 1
_FORMAT_NAME = "jsae_fast-model"
_META_KEY = "__meta__"

# Fitted attributes stored in the JSON part, per class.
_SCALAR_ATTRIBUTES = {
    "JacobianSparseAutoencoder": ("n_iter_", "loss_curve_", "stop_reason_", "validation_scores_",
                                  "best_validation_score_"),
    "StackedAutoencoderClassifier": ("n_iter_", "loss_curve_", "validation_loss_curve_",
                                     "best_validation_loss_", "pretrain_loss_curves_"),
    "SoftmaxClassifier": ("n_iter_",),
}


def _estimator_classes():
    from .estimators import (
        Autoencoder,
        ContractiveAutoencoder,
        JacobianSparseAutoencoder,
        SparseAutoencoder,
    )
    from .softmax import SoftmaxClassifier
    from .stacked import StackedAutoencoderClassifier

    classes = (Autoencoder, ContractiveAutoencoder, JacobianSparseAutoencoder,
               SparseAutoencoder, SoftmaxClassifier, StackedAutoencoderClassifier)
    return {cls.__name__: cls for cls in classes}


def _family(cls):
    """Return the key of ``_SCALAR_ATTRIBUTES`` that describes ``cls``."""
    for name in _SCALAR_ATTRIBUTES:
        if any(base.__name__ == name for base in cls.__mro__):
            return name
    raise TypeError(f"cannot save {cls.__name__}: only jsae_fast estimators are supported.")


# ----------------------------------------------------------------------
# JSON encoding of hyperparameters
# ----------------------------------------------------------------------


def _to_json_value(value, name):
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json_value(v, name) for v in value]}
    if isinstance(value, list):
        return [_to_json_value(v, name) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        logger.warning("hyperparameter %s is a random generator, which a model file cannot "
                       "store; it is saved as None", name)
        return None
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot save hyperparameter {name}={value!r} of type "
                    f"{type(value).__name__}; use None, a bool, number, string or a "
                    f"list of them.")


def _from_json_value(value):
    if isinstance(value, dict) and set(value) == {"__tuple__"}:
        return tuple(_from_json_value(v) for v in value["__tuple__"])
    if isinstance(value, list):
        return [_from_json_value(v) for v in value]
    return value


# ----------------------------------------------------------------------
# Arrays of each estimator
# ----------------------------------------------------------------------


def _label_array(values, name):
    """Return labels or names as an array that ``allow_pickle=False`` can store."""
    values = np.asarray(values)
    if values.dtype != object:
        return values, None
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"cannot save {name}: object arrays are supported only when "
                        f"every element is a str.")
    return values.astype(str), "object"


def _collect_arrays(model, family):
    """Return the fitted arrays of ``model`` and the dtypes to restore."""
    arrays, restore = {}, {}
    if family == "JacobianSparseAutoencoder":
        arrays["components_"] = model.components_
        arrays["intercept_hidden_"] = model.intercept_hidden_
        arrays["intercept_visible_"] = model.intercept_visible_
        if model.decoder_weights_ is not None:
            arrays["decoder_weights_"] = model.decoder_weights_
    elif family == "SoftmaxClassifier":
        arrays["coef_"] = model.coef_
        arrays["intercept_"] = model.intercept_
    else:
        for layer, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
            arrays[f"coefs_{layer}"] = W
            arrays[f"intercepts_{layer}"] = b
        arrays["softmax_coef_"] = model.softmax_coef_
        arrays["softmax_intercept_"] = model.softmax_intercept_
    for name in ("classes_", "feature_names_in_"):
        if hasattr(model, name):
            arrays[name], restore[name] = _label_array(getattr(model, name), name)
    return arrays, restore


def _expected_shapes(family, arrays, hyperparameters, path):
    """Return the required shape of every array entry, or raise ValueError."""
    def need(name):
        if name not in arrays:
            raise ValueError(f"model file {path} is missing the array {name!r}; the file "
                             f"is incomplete or was not written by jsae_fast.")
        return arrays[name]

    shapes = {}
    if family == "JacobianSparseAutoencoder":
        W = need("components_")
        if W.ndim != 2:
            raise ValueError(f"model file {path}: components_ has shape {W.shape}, "
                             f"expected 2 dimensions.")
        s, n = W.shape
        shapes.update(components_=(s, n), intercept_hidden_=(s,), intercept_visible_=(n,))
        if not hyperparameters.get("tied", False):
            shapes["decoder_weights_"] = (n, s)
        n_features = n
    elif family == "SoftmaxClassifier":
        coef = need("coef_")
        if coef.ndim != 2:
            raise ValueError(f"model file {path}: coef_ has shape {coef.shape}, expected "
                             f"2 dimensions.")
        k, n_features = coef.shape
        shapes.update(coef_=(k, n_features), intercept_=(k,), classes_=(k,))
    else:
        sizes = hyperparameters.get("hidden_layer_sizes")
        sizes = (sizes,) if isinstance(sizes, int) else tuple(sizes)
        W0 = need("coefs_0")
        if W0.ndim != 2:
            raise ValueError(f"model file {path}: coefs_0 has shape {W0.shape}, expected "
                             f"2 dimensions.")
        n_features = previous = W0.shape[1]
        for layer, size in enumerate(sizes):
            shapes[f"coefs_{layer}"] = (size, previous)
            shapes[f"intercepts_{layer}"] = (size,)
            previous = size
        k = need("softmax_coef_").shape[0]
        shapes.update(softmax_coef_=(k, previous), softmax_intercept_=(k,), classes_=(k,))
    if "feature_names_in_" in arrays:
        shapes["feature_names_in_"] = (n_features,)
    return shapes


def _assign_arrays(model, family, arrays):
    if family == "StackedAutoencoderClassifier":
        n_layers = sum(1 for name in arrays if name.startswith("coefs_"))
        model.coefs_ = [arrays[f"coefs_{layer}"] for layer in range(n_layers)]
        model.intercepts_ = [arrays[f"intercepts_{layer}"] for layer in range(n_layers)]
        rest = {k: v for k, v in arrays.items()
                if not k.startswith(("coefs_", "intercepts_"))}
    else:
        rest = dict(arrays)
    if family == "JacobianSparseAutoencoder":
        rest.setdefault("decoder_weights_", None)
    for name, value in rest.items():
        setattr(model, name, value)
    first_weights = {"JacobianSparseAutoencoder": "components_", "SoftmaxClassifier": "coef_",
                     "StackedAutoencoderClassifier": "coefs_0"}[family]
    model.n_features_in_ = int(arrays[first_weights].shape[1])


# ----------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------


def save_model(model, path):
    """Write a fitted jsae_fast estimator to ``path`` as a versioned ``.npz`` file.

    The layout is described in this module's docstring and in ``docs/api.md``.
    The file is written to a temporary name and renamed, so an interrupted
    save leaves any earlier file at ``path`` intact.  ``path`` is used as
    given; no ``.npz`` suffix is appended.

    Parameters
    ----------
    model : JacobianSparseAutoencoder, StackedAutoencoderClassifier or SoftmaxClassifier
        A fitted estimator (the autoencoder subclasses included).
    path : str or path-like
        Destination file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    ValueError
        If ``path`` is an existing folder.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    TypeError
        If ``model`` is not a jsae_fast estimator, or a hyperparameter cannot
        be stored as JSON.
    """
    from . import __version__

    family = _family(type(model))
    check_is_fitted(model)
    arrays, restore = _collect_arrays(model, family)
    params = model.get_params(deep=False)
    if params.get("augment") is not None:
        # Augmentation only changes training; prediction does not use it.
        logger.warning("hyperparameter augment=%r is a callable, which a model file cannot "
                       "store; it is saved as None (predictions are unaffected)",
                       params["augment"])
        params["augment"] = None
    hyperparameters = {name: _to_json_value(value, name) for name, value in params.items()}
    attributes = {}
    for name in _SCALAR_ATTRIBUTES[family]:
        if hasattr(model, name):
            attributes[name] = _to_json_value(getattr(model, name), name)
    meta = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "jsae_fast_version": __version__,
        "hyperparameters": hyperparameters,
        "attributes": attributes,
        "arrays": sorted(arrays),
        "restore_dtypes": restore,
    }
    entries = dict(arrays)
    entries[_META_KEY] = np.array(json.dumps(meta))
    path = Path(os.fspath(path))
    if path.is_dir():
        raise ValueError(f"cannot save the model to {path}: it is a folder; pass a file "
                         f"name such as {path / 'model.npz'}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save the model to {path}: the folder {path.parent} "
                                f"does not exist; create it first.")
    # open(..., "xb") creates the file with the permissions the umask allows,
    # like any other file the user writes (tempfile.mkstemp would give 0600).
    temporary = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        with open(temporary, "xb") as stream:
            np.savez_compressed(stream, **entries)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("saved %s to %s", type(model).__name__, path)


def _read_archive(path):
    """Return the metadata and arrays of a model file, or raise ValueError."""
    try:
        with open(path, "rb") as stream:
            signature = stream.read(4)
    except IsADirectoryError:
        raise ValueError(f"model file {path} is a folder; pass the .npz file written by "
                         f"save_model.") from None
    if signature != b"PK\x03\x04":
        # NumPy's own message for such files suggests unpickling them, which
        # a model file never needs.
        raise ValueError(f"model file {path} is not an .npz archive (no zip signature), so "
                         f"it was not written by save_model.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("the file is a single .npy array, not an .npz archive")
            names = list(archive.files)
            if _META_KEY not in names:
                raise ValueError(f"the archive has no {_META_KEY!r} entry")
            meta_text = archive[_META_KEY]
            arrays = {name: archive[name] for name in names if name != _META_KEY}
    except FileNotFoundError:
        raise
    # zipfile raises NotImplementedError for an unknown compression method and
    # RuntimeError when a damaged header sets the encryption flag.
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError,
            NotImplementedError, RuntimeError) as exc:
        raise ValueError(f"cannot read model file {path}: {exc}. The file is damaged or "
                         f"is not a jsae_fast model.") from exc
    if meta_text.dtype.kind != "U" or meta_text.ndim != 0:
        raise ValueError(f"model file {path}: {_META_KEY!r} must be a 0-d string array.")
    try:
        meta = json.loads(str(meta_text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"model file {path}: the metadata is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT_NAME:
        raise ValueError(f"model file {path} is not a jsae_fast model (format "
                         f"{meta.get('format') if isinstance(meta, dict) else None!r}).")
    for key in ("hyperparameters", "attributes", "restore_dtypes"):
        if not isinstance(meta.get(key, {}), dict):
            raise ValueError(f"model file {path}: the metadata entry {key!r} must be a JSON "
                             f"object, got {type(meta[key]).__name__}.")
    return meta, arrays


def load_model(path, *, expected_class=None):
    """Read an estimator written by :func:`save_model`.

    The file is opened with ``allow_pickle=False``; every array's shape is
    checked against the stored hyperparameters before the estimator is built.

    Parameters
    ----------
    path : str or path-like
        Model file.
    expected_class : type or None, default=None
        If given, the file must hold this class or a subclass of it.

    Returns
    -------
    model : estimator
        A fitted estimator equal to the saved one; its arrays are
        identical bit for bit.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is damaged or not a zip archive, comes from a newer
        format version, contains another class than ``expected_class``, or
        has missing, extra or misshapen arrays.
    """
    from . import __version__

    meta, arrays = _read_archive(path)
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"model file {path} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(f"model file {path} has format version {version}, but this "
                         f"jsae_fast {__version__} reads versions up to {FORMAT_VERSION}; "
                         f"upgrade jsae_fast to load it.")
    classes = _estimator_classes()
    class_name = meta.get("class")
    if class_name not in classes:
        raise ValueError(f"model file {path} contains an unknown class {class_name!r}; "
                         f"known classes are {', '.join(sorted(classes))}.")
    cls = classes[class_name]
    if expected_class is not None and not issubclass(cls, expected_class):
        raise ValueError(f"model file {path} contains a {class_name}, not a "
                         f"{expected_class.__name__}; load it with {class_name}.load or "
                         f"jsae_fast.persistence.load_model.")
    hyperparameters = {k: _from_json_value(v)
                       for k, v in meta.get("hyperparameters", {}).items()}
    try:
        model = cls(**hyperparameters)
    except TypeError as exc:
        raise ValueError(f"model file {path}: the hyperparameters do not fit "
                         f"{class_name} ({exc}).") from exc

    family = _family(cls)
    try:
        shapes = _expected_shapes(family, arrays, hyperparameters, path)
    except TypeError as exc:
        raise ValueError(f"model file {path}: the hyperparameters do not describe valid "
                         f"array shapes ({exc}).") from exc
    for name, shape in shapes.items():
        if name not in arrays:
            raise ValueError(f"model file {path} is missing the array {name!r}.")
        if arrays[name].shape != shape:
            raise ValueError(f"model file {path}: array {name!r} has shape "
                             f"{arrays[name].shape}, expected {shape}.")
    extra = sorted(set(arrays) - set(shapes))
    if extra:
        raise ValueError(f"model file {path} has unexpected arrays {extra}.")
    for name, value in arrays.items():
        # A trained model never has NaN or infinite weights; such a file would
        # give NaN predictions without any error.
        if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
            raise ValueError(f"model file {path}: array {name!r} contains NaN or infinite "
                             f"values; the file is damaged or was not written by a "
                             f"finished fit.")
    for name, dtype in meta.get("restore_dtypes", {}).items():
        if dtype == "object" and name in arrays:
            arrays[name] = arrays[name].astype(object)
    _assign_arrays(model, family, arrays)
    for name, value in meta.get("attributes", {}).items():
        setattr(model, name, _from_json_value(value))
    logger.info("loaded %s from %s", class_name, path)
    return model
