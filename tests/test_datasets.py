"""Tests for jsae_fast.datasets: file readers, folder lookup, download, samples."""

import gzip
import hashlib
import io
import os
import re
import struct
import sys
import tracemalloc
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsae_fast import datasets
from jsae_fast.datasets import (
    load_mnist,
    load_mnist_sample,
    load_pendigits,
    load_usps,
    read_idx,
)

try:
    import h5py
except ImportError:
    h5py = None

requires_h5py = pytest.mark.skipif(h5py is None, reason="h5py is not installed")

REPO_ROOT = Path(__file__).resolve().parents[1]

# MD5 of the decompressed official MNIST test images.
MNIST_TEST_IMAGES_MD5 = "2646ac647ad5339dbf082846283269ea"

IDX_TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


# --------------------------------------------------------------------------
# Helpers and fixtures
# --------------------------------------------------------------------------


def real_data_root():
    """Return the folder with the real data sets, or None when it is absent."""
    env_value = os.environ.get("JSAE_FAST_DATA")
    candidates = [Path(env_value)] if env_value else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


# Resolved at import, before the isolated_env fixture removes JSAE_FAST_DATA.
REAL_DATA_ROOT = real_data_root()


def require_real_file(*parts):
    root = REAL_DATA_ROOT
    if root is None:
        pytest.skip(
            "real data folder not found: set JSAE_FAST_DATA or provide "
            "../shared/data next to the repository"
        )
    path = root.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real data file {path} not found")
    return root


def idx_bytes(array):
    """Return the IDX encoding of ``array``."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = IDX_TYPE_CODES[np.dtype(big_endian)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian).tobytes()


def write_file(path, data, compress=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def make_mnist_arrays(n_samples, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n_samples, 4, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n_samples, dtype=np.uint8)
    return images, labels


def write_mnist(folder, subset, images, labels, compress):
    prefix = "train" if subset == "train" else "t10k"
    suffix = ".gz" if compress else ""
    write_file(folder / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
    write_file(folder / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)


def write_usps(path, subsets):
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for name, (data, target) in subsets.items():
            group = f.create_group(name)
            group.create_dataset("data", data=data)
            group.create_dataset("target", data=target)
    return path


def make_usps_arrays(n_samples, seed):
    rng = np.random.default_rng(seed)
    data = rng.random((n_samples, 256), dtype=np.float32)
    target = rng.integers(0, 10, size=n_samples).astype(np.int32)
    return data, target


def pendigits_text(features, labels):
    """Format rows in the padded UCI layout, e.g. `` 47,100,  0, 8``."""
    lines = []
    for row, label in zip(features, labels):
        fields = [f"{value:3d}" for value in row] + [f"{label:2d}"]
        lines.append(",".join(fields))
    return "\n".join(lines) + "\n"


def make_pendigits_arrays(n_samples, seed):
    rng = np.random.default_rng(seed)
    features = rng.integers(0, 101, size=(n_samples, 16))
    labels = rng.integers(0, 10, size=n_samples)
    return features, labels


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test that reaches urlopen without installing a fake first."""

    def reject_network_access(url, *args, **kwargs):
        pytest.fail(f"test tried to open {url!r} over the network")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", reject_network_access)


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    """Point the environment variable and cache at empty folders."""
    monkeypatch.delenv("JSAE_FAST_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))


# --------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, ">i2", ">i4", ">f4", ">f8"],
    ids=["uint8", "int8", "int16", "int32", "float32", "float64"],
)
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (0, 2), (1, 1, 1, 1)])
def test_read_idx_round_trip(tmp_path, compress, dtype, shape):
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        expected = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        expected = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    path = write_file(tmp_path / "data-idx", idx_bytes(expected), compress)

    result = read_idx(path)

    assert result.shape == shape
    assert result.dtype == dtype.newbyteorder("=")
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, expected)


def test_read_idx_detects_gzip_by_content(tmp_path):
    expected = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = write_file(tmp_path / "no-suffix", idx_bytes(expected), compress=True)
    np.testing.assert_array_equal(read_idx(str(path)), expected)


def test_read_idx_missing_file(tmp_path):
    path = tmp_path / "absent-idx1-ubyte"
    with pytest.raises(FileNotFoundError, match="absent-idx1-ubyte"):
        read_idx(path)


VALID_IDX = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))

BROKEN_IDX_CASES = {
    "empty": (b"", "truncated"),
    "bad-magic": (b"\x01\x00" + VALID_IDX[2:], "magic number"),
    "gzip-like-text": (b"PK\x03\x04" + VALID_IDX[4:], "magic number"),
    "bad-type-byte": (VALID_IDX[:2] + b"\x07" + VALID_IDX[3:], "type byte"),
    "zero-dimensions": (b"\x00\x00\x08\x00", "number of dimensions is 0"),
    "truncated-header": (VALID_IDX[:10], "truncated"),
    "truncated-data": (VALID_IDX[:-1], "truncated"),
    "trailing-bytes": (VALID_IDX + b"\x00", "trailing bytes"),
    "oversized-header": (
        b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\x00" * 64,
        "truncated",
    ),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("case", list(BROKEN_IDX_CASES))
def test_read_idx_rejects_broken_file(tmp_path, case, compress):
    content, reason = BROKEN_IDX_CASES[case]
    path = write_file(tmp_path / f"{case}-idx", content, compress)

    with pytest.raises(ValueError) as excinfo:
        read_idx(path)

    assert str(path) in str(excinfo.value)
    assert reason in str(excinfo.value)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_oversized_header_memory(tmp_path, compress):
    # The header claims 10**9 bytes but the file contains 1 MiB. The reader
    # must fail after reading what is there, not allocate the claimed size.
    header = b"\x00\x00\x08\x01" + struct.pack(">I", 10**9)
    path = write_file(tmp_path / "huge-idx", header + bytes(1 << 20), compress)

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="truncated"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 32 * (1 << 20)


def test_read_idx_corrupted_gzip_body(tmp_path):
    compressed = bytearray(gzip.compress(VALID_IDX * 50))
    middle = len(compressed) // 2
    compressed[middle] ^= 0xFF
    compressed[middle + 1] ^= 0xFF
    path = write_file(tmp_path / "corrupt.gz", bytes(compressed))

    with pytest.raises(ValueError) as excinfo:
        read_idx(path)

    assert str(path) in str(excinfo.value)


@pytest.mark.parametrize(
    "mutation", ["cut-trailer", "bad-crc", "garbage-after"],
)
def test_read_idx_damaged_gzip_wrapper(tmp_path, mutation):
    compressed = bytearray(gzip.compress(VALID_IDX))
    if mutation == "cut-trailer":
        compressed = compressed[:-6]
    elif mutation == "bad-crc":
        compressed[-8] ^= 0xFF
    else:
        compressed += b"not gzip"
    path = write_file(tmp_path / "damaged.gz", bytes(compressed))

    with pytest.raises(ValueError, match="corrupted gzip") as excinfo:
        read_idx(path)

    assert str(path) in str(excinfo.value)


def _check_read_idx_outcome(path):
    """Run read_idx and accept only an ndarray or a ValueError naming the file."""
    try:
        result = read_idx(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(result, np.ndarray)
    assert result.dtype.isnative


FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ_SETTINGS
@given(content=st.binary(max_size=300))
def test_read_idx_fuzz_random_bytes(tmp_path, content):
    path = write_file(tmp_path / "fuzz-idx", content)
    _check_read_idx_outcome(path)


@FUZZ_SETTINGS
@given(content=st.binary(max_size=300))
def test_read_idx_fuzz_idx_prefix(tmp_path, content):
    # Random bytes behind a valid uint8 magic reach the dimension and size
    # checks much more often than fully random bytes do.
    path = write_file(tmp_path / "fuzz-idx", b"\x00\x00\x08" + content)
    _check_read_idx_outcome(path)


@FUZZ_SETTINGS
@given(content=st.binary(max_size=300))
def test_read_idx_fuzz_gzip_prefix(tmp_path, content):
    # Random bytes behind the gzip magic exercise the gzip header parser.
    path = write_file(tmp_path / "fuzz-idx", b"\x1f\x8b" + content)
    _check_read_idx_outcome(path)


@FUZZ_SETTINGS
@given(
    compress=st.booleans(),
    flips=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
        max_size=4,
    ),
    cut=st.integers(min_value=0, max_value=40),
    extra=st.binary(max_size=8),
)
def test_read_idx_fuzz_mutated_file(tmp_path, compress, flips, cut, extra):
    original = gzip.compress(VALID_IDX, mtime=0) if compress else VALID_IDX
    content = bytearray(original)
    for position, mask in flips:
        content[position % len(content)] ^= mask
    content = content[: max(len(content) - cut, 0)] + extra
    path = write_file(tmp_path / "fuzz-idx", bytes(content))
    _check_read_idx_outcome(path)


# --------------------------------------------------------------------------
# load_mnist
# --------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("subset", ["train", "test"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_load_mnist_round_trip(tmp_path, isolated_env, compress, subset, dtype):
    images, labels = make_mnist_arrays(9, seed=1)
    write_mnist(tmp_path / "mnist", subset, images, labels, compress)

    X, y = load_mnist(tmp_path, subset=subset, dtype=dtype)

    assert X.shape == (9, 20)
    assert X.dtype == dtype
    assert X.flags.c_contiguous
    assert y.dtype == np.int64
    np.testing.assert_allclose(X, images.reshape(9, 20) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_subset_selection(tmp_path, isolated_env):
    train = make_mnist_arrays(5, seed=2)
    test = make_mnist_arrays(3, seed=3)
    write_mnist(tmp_path, "train", *train, compress=False)
    write_mnist(tmp_path, "test", *test, compress=True)

    _, y_train = load_mnist(tmp_path, subset="train")
    _, y_test = load_mnist(tmp_path, subset="test")

    np.testing.assert_array_equal(y_train, train[1])
    np.testing.assert_array_equal(y_test, test[1])


@pytest.mark.parametrize("layout", ["parent", "dataset-folder"])
@pytest.mark.parametrize("source", ["argument", "environment", "cache"])
def test_load_mnist_data_home_resolution(tmp_path, monkeypatch, layout, source):
    root = tmp_path / "root"
    folder = root / "mnist" if layout == "parent" else root
    images, labels = make_mnist_arrays(4, seed=4)
    write_mnist(folder, "test", images, labels, compress=True)
    monkeypatch.delenv("JSAE_FAST_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))

    if source == "argument":
        X, y = load_mnist(root, subset="test")
    elif source == "environment":
        monkeypatch.setenv("JSAE_FAST_DATA", str(root))
        X, y = load_mnist(subset="test")
    else:
        cache = tmp_path / "cache"
        cache_root = cache / "jsae_fast"
        if layout == "parent":
            write_mnist(cache_root / "mnist", "test", images, labels, compress=True)
        else:
            write_mnist(cache_root, "test", images, labels, compress=True)
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        X, y = load_mnist(subset="test")

    assert X.shape == (4, 20)
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_argument_overrides_environment(tmp_path, monkeypatch):
    images, labels = make_mnist_arrays(6, seed=5)
    write_mnist(tmp_path / "chosen", "test", images, labels, compress=False)
    monkeypatch.setenv("JSAE_FAST_DATA", str(tmp_path / "elsewhere"))

    _, y = load_mnist(tmp_path / "chosen", subset="test")

    np.testing.assert_array_equal(y, labels)


def test_load_mnist_missing_file(tmp_path, isolated_env):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist(tmp_path, subset="test")

    message = str(excinfo.value)
    assert "t10k-images-idx3-ubyte" in message
    assert str(tmp_path / "mnist") in message
    assert str(tmp_path) in message
    assert "download=True" in message


def test_load_mnist_missing_labels(tmp_path, isolated_env):
    images, _ = make_mnist_arrays(3, seed=6)
    write_file(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images))

    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, subset="test")


def test_load_mnist_count_mismatch(tmp_path, isolated_env):
    images, labels = make_mnist_arrays(5, seed=7)
    write_mnist(tmp_path, "test", images, labels[:4], compress=False)

    with pytest.raises(ValueError, match="counts must match") as excinfo:
        load_mnist(tmp_path, subset="test")

    assert str(tmp_path / "t10k-labels-idx1-ubyte") in str(excinfo.value)


def test_load_mnist_label_out_of_range(tmp_path, isolated_env):
    images, labels = make_mnist_arrays(5, seed=8)
    labels[2] = 10
    write_mnist(tmp_path, "test", images, labels, compress=False)

    with pytest.raises(ValueError, match="0-9"):
        load_mnist(tmp_path, subset="test")


@pytest.mark.parametrize(
    "images",
    [np.zeros((3, 20), dtype=np.uint8), np.zeros((3, 4, 5), dtype=">i4")],
    ids=["two-dimensional", "int32"],
)
def test_load_mnist_rejects_wrong_image_array(tmp_path, isolated_env, images):
    write_file(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images))
    write_file(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8)))

    with pytest.raises(ValueError, match="uint8 images") as excinfo:
        load_mnist(tmp_path, subset="test")

    assert "t10k-images-idx3-ubyte" in str(excinfo.value)


def test_load_mnist_corrupted_file(tmp_path, isolated_env):
    images, labels = make_mnist_arrays(5, seed=9)
    write_mnist(tmp_path, "test", images, labels, compress=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])

    with pytest.raises(ValueError) as excinfo:
        load_mnist(tmp_path, subset="test")

    assert str(path) in str(excinfo.value)


# --------------------------------------------------------------------------
# load_mnist(download=True) with a fake urlopen
# --------------------------------------------------------------------------


class FakeOpener:
    """Fake urlopen that serves mirror URLs from local files and records them."""

    def __init__(self, files_by_name, failing_mirrors=()):
        self.files_by_name = files_by_name
        self.failing_mirrors = failing_mirrors
        self.requested = []

    def __call__(self, url, timeout=None):
        self.requested.append(url)
        if any(url.startswith(mirror) for mirror in self.failing_mirrors):
            raise urllib.error.URLError("connection refused by the test opener")
        name = url.rsplit("/", 1)[-1]
        return io.BytesIO(self.files_by_name[name].read_bytes())


def install_synthetic_mnist_mirror(monkeypatch, tmp_path, subset, served, expected=None):
    """Serve ``served`` (images, labels) and register ``expected`` checksums."""
    expected = served if expected is None else expected
    prefix = "train" if subset == "train" else "t10k"
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    source = tmp_path / "mirror"
    files_by_name, checksums = {}, dict(datasets._MNIST_FILES)
    for name, served_array, expected_array in zip(names, served, expected):
        content = idx_bytes(served_array)
        files_by_name[f"{name}.gz"] = write_file(source / f"{name}.gz", content, True)
        expected_content = idx_bytes(expected_array)
        checksums[name] = (hashlib.md5(expected_content).hexdigest(), len(expected_content))
    monkeypatch.setattr(datasets, "_MNIST_FILES", checksums)
    return files_by_name


def test_load_mnist_download(tmp_path, isolated_env, monkeypatch):
    images, labels = make_mnist_arrays(6, seed=10)
    files = install_synthetic_mnist_mirror(monkeypatch, tmp_path, "train", (images, labels))
    opener = FakeOpener(files)
    monkeypatch.setattr(datasets.urllib.request, "urlopen", opener)
    home = tmp_path / "home"

    X, y = load_mnist(home, subset="train", download=True)

    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(X, images.reshape(6, 20) / 255.0)
    assert sorted(p.name for p in (home / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    assert len(opener.requested) == 2
    assert all(url.startswith(datasets._MNIST_MIRRORS[0]) for url in opener.requested)

    # A second call finds the saved files and does not download again.
    load_mnist(home, subset="train", download=True)
    assert len(opener.requested) == 2


def test_load_mnist_download_into_dataset_folder(tmp_path, isolated_env, monkeypatch):
    images, labels = make_mnist_arrays(3, seed=11)
    files = install_synthetic_mnist_mirror(monkeypatch, tmp_path, "test", (images, labels))
    monkeypatch.setattr(datasets.urllib.request, "urlopen", FakeOpener(files))
    home = tmp_path / "data" / "mnist"

    load_mnist(home, subset="test", download=True)

    assert (home / "t10k-images-idx3-ubyte.gz").is_file()
    assert not (home / "mnist").exists()


def test_load_mnist_download_mirror_fallback(tmp_path, isolated_env, monkeypatch):
    images, labels = make_mnist_arrays(3, seed=12)
    files = install_synthetic_mnist_mirror(monkeypatch, tmp_path, "test", (images, labels))
    opener = FakeOpener(files, failing_mirrors=datasets._MNIST_MIRRORS[:1])
    monkeypatch.setattr(datasets.urllib.request, "urlopen", opener)

    _, y = load_mnist(tmp_path / "home", subset="test", download=True)

    np.testing.assert_array_equal(y, labels)
    assert [url.startswith(datasets._MNIST_MIRRORS[1]) for url in opener.requested] == [
        False, True, False, True,
    ]


def test_load_mnist_download_checksum_mismatch(tmp_path, isolated_env, monkeypatch):
    images, labels = make_mnist_arrays(3, seed=13)
    tampered = images.copy()
    tampered[0, 0, 0] ^= 0xFF
    files = install_synthetic_mnist_mirror(
        monkeypatch, tmp_path, "test", (tampered, labels), expected=(images, labels)
    )
    opener = FakeOpener(files)
    monkeypatch.setattr(datasets.urllib.request, "urlopen", opener)
    home = tmp_path / "home"

    with pytest.raises(OSError, match="MD5") as excinfo:
        load_mnist(home, subset="test", download=True)

    assert "t10k-images-idx3-ubyte" in str(excinfo.value)
    assert len(opener.requested) == len(datasets._MNIST_MIRRORS)
    saved = list((home / "mnist").iterdir()) if (home / "mnist").exists() else []
    assert saved == []


def test_load_mnist_download_oversized_response(tmp_path, isolated_env, monkeypatch):
    images, labels = make_mnist_arrays(3, seed=14)
    files = install_synthetic_mnist_mirror(monkeypatch, tmp_path, "test", (images, labels))
    big = write_file(tmp_path / "big.gz", bytes(3 * (1 << 20)))
    files["t10k-images-idx3-ubyte.gz"] = big
    monkeypatch.setattr(datasets.urllib.request, "urlopen", FakeOpener(files))

    with pytest.raises(OSError, match="exceeds"):
        load_mnist(tmp_path / "home", subset="test", download=True)


@pytest.mark.realdata
def test_load_mnist_download_real_test_files(tmp_path, isolated_env, monkeypatch):
    # Serving the real gzip files checks the MD5 table against real content.
    root = require_real_file("mnist", "t10k-images-idx3-ubyte.gz")
    names = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    files = {name: root / "mnist" / name for name in names}
    monkeypatch.setattr(datasets.urllib.request, "urlopen", FakeOpener(files))

    X, y = load_mnist(tmp_path / "home", subset="test", download=True)

    assert X.shape == (10000, 784)
    assert y.shape == (10000,)


# --------------------------------------------------------------------------
# load_mnist_sample
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_load_mnist_sample(dtype):
    X, y = load_mnist_sample(dtype=dtype)

    assert X.shape == (5000, 784)
    assert X.dtype == dtype
    assert X.flags.c_contiguous
    assert y.shape == (5000,)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, 500))
    assert X.min() == 0.0
    assert X.max() == 1.0
    pixels = X.astype(np.float64) * 255
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-4)


def test_load_mnist_sample_default_dtype():
    X, _ = load_mnist_sample()
    assert X.dtype == np.float64


def test_load_mnist_sample_float32_matches_float64():
    X32, y32 = load_mnist_sample(dtype=np.float32)
    X64, y64 = load_mnist_sample(dtype=np.float64)
    np.testing.assert_allclose(X32, X64, rtol=1e-7)
    np.testing.assert_array_equal(y32, y64)


def test_load_mnist_sample_detects_damage(monkeypatch):
    checksums = dict(datasets._MNIST_SAMPLE_SHA256, images="0" * 64)
    monkeypatch.setattr(datasets, "_MNIST_SAMPLE_SHA256", checksums)

    with pytest.raises(ValueError, match="SHA-256"):
        load_mnist_sample()


# --------------------------------------------------------------------------
# load_usps
# --------------------------------------------------------------------------


@requires_h5py
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("layout", ["parent", "dataset-folder"])
def test_load_usps_round_trip(tmp_path, isolated_env, dtype, layout):
    train = make_usps_arrays(11, seed=20)
    test = make_usps_arrays(5, seed=21)
    folder = tmp_path / "usps" if layout == "parent" else tmp_path
    write_usps(folder / "usps.h5", {"train": train, "test": test})

    for subset, (data, target) in (("train", train), ("test", test)):
        X, y = load_usps(tmp_path, subset=subset, dtype=dtype)
        assert X.dtype == dtype
        assert X.flags.c_contiguous
        assert y.dtype == np.int64
        np.testing.assert_array_equal(X, data.astype(dtype))
        np.testing.assert_array_equal(y, target)


@requires_h5py
def test_load_usps_environment_variable(tmp_path, monkeypatch):
    data, target = make_usps_arrays(4, seed=22)
    write_usps(tmp_path / "usps" / "usps.h5", {"test": (data, target)})
    monkeypatch.setenv("JSAE_FAST_DATA", str(tmp_path))

    _, y = load_usps(subset="test")

    np.testing.assert_array_equal(y, target)


def test_load_usps_missing_file(tmp_path, isolated_env):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_usps(tmp_path)

    assert "usps.h5" in str(excinfo.value)
    assert str(tmp_path / "usps") in str(excinfo.value)


@requires_h5py
def test_load_usps_not_hdf5(tmp_path, isolated_env):
    path = write_file(tmp_path / "usps.h5", b"this is not an HDF5 file" * 20)

    with pytest.raises(ValueError) as excinfo:
        load_usps(tmp_path)

    assert str(path) in str(excinfo.value)


@requires_h5py
def test_load_usps_truncated_file(tmp_path, isolated_env):
    path = write_usps(tmp_path / "usps.h5", {"train": make_usps_arrays(50, seed=23)})
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])

    with pytest.raises(ValueError) as excinfo:
        load_usps(tmp_path)

    assert str(path) in str(excinfo.value)


def _usps_case(case):
    data, target = make_usps_arrays(6, seed=24)
    if case == "missing-group":
        return {"train": (data, target)}, "missing HDF5 group"
    if case == "wide-data":
        return {"test": (np.zeros((6, 255), np.float32), target)}, "shape"
    if case == "label-count":
        return {"test": (data, target[:5])}, "shape"
    if case == "out-of-range":
        data[1, 3] = 1.5
        return {"test": (data, target)}, "expected [0, 1]"
    if case == "nan":
        data[0, 0] = np.nan
        return {"test": (data, target)}, "NaN"
    if case == "bad-label":
        target[2] = 10
        return {"test": (data, target)}, "0-9"
    if case == "float-labels":
        return {"test": (data, target.astype(np.float32))}, "integers"
    raise AssertionError(case)


@requires_h5py
@pytest.mark.parametrize(
    "case",
    ["missing-group", "wide-data", "label-count", "out-of-range", "nan", "bad-label",
     "float-labels"],
)
def test_load_usps_rejects_invalid_content(tmp_path, isolated_env, case):
    subsets, reason = _usps_case(case)
    path = write_usps(tmp_path / "usps.h5", subsets)

    with pytest.raises(ValueError, match=re.escape(reason)) as excinfo:
        load_usps(tmp_path, subset="test")

    assert str(path) in str(excinfo.value)


@requires_h5py
def test_load_usps_missing_dataset(tmp_path, isolated_env):
    path = tmp_path / "usps.h5"
    with h5py.File(path, "w") as f:
        f.create_group("test").create_dataset("data", data=np.zeros((2, 256), np.float32))

    with pytest.raises(ValueError, match="test/target"):
        load_usps(tmp_path, subset="test")


def test_load_usps_without_h5py(tmp_path, isolated_env, monkeypatch):
    write_usps(tmp_path / "usps.h5", {"train": make_usps_arrays(2, seed=25)})
    monkeypatch.setitem(sys.modules, "h5py", None)

    with pytest.raises(ImportError, match="pip install h5py"):
        load_usps(tmp_path)


# --------------------------------------------------------------------------
# load_pendigits
# --------------------------------------------------------------------------


def write_pendigits(folder, train, test):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pendigits.tra").write_text(pendigits_text(*train))
    (folder / "pendigits.tes").write_text(pendigits_text(*test))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("layout", ["parent", "dataset-folder"])
def test_load_pendigits_round_trip(tmp_path, isolated_env, dtype, layout):
    train = make_pendigits_arrays(9, seed=30)
    test = make_pendigits_arrays(4, seed=31)
    folder = tmp_path / "pendigits" if layout == "parent" else tmp_path
    write_pendigits(folder, train, test)

    X_train, y_train = load_pendigits(tmp_path, subset="train", dtype=dtype)
    X_test, y_test = load_pendigits(tmp_path, subset="test", dtype=dtype)
    X_all, y_all = load_pendigits(tmp_path, subset="all", dtype=dtype)

    assert X_train.dtype == dtype
    assert X_train.flags.c_contiguous
    assert y_train.dtype == np.int64
    np.testing.assert_allclose(X_train, train[0] / 100.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, train[1])
    np.testing.assert_allclose(X_test, test[0] / 100.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, test[1])
    np.testing.assert_array_equal(X_all, np.concatenate([X_train, X_test]))
    np.testing.assert_array_equal(y_all, np.concatenate([y_train, y_test]))


def test_load_pendigits_padding_and_blank_lines(tmp_path, isolated_env):
    lines = [
        " 47,100, 27, 81, 57, 37, 26,  0,  0, 23, 56, 53,100, 90, 40, 98, 8",
        "",
        "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,3",
        "   ",
    ]
    (tmp_path / "pendigits.tra").write_text("\n".join(lines) + "\n")

    X, y = load_pendigits(tmp_path)

    assert X.shape == (2, 16)
    np.testing.assert_array_equal(y, [8, 3])
    assert X[0, 1] == 1.0
    assert X[1, 15] == pytest.approx(0.15)


PENDIGITS_BAD_LINES = {
    "too-few-fields": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,3", "17 comma-separated"),
    "too-many-fields": (",".join(["1"] * 18), "17 comma-separated"),
    "not-a-number": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,x,3", "not a non-negative integer"),
    "negative": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,-1,3", "not a non-negative integer"),
    "underscore": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,1_0,3", "not a non-negative integer"),
    "decimal": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,1.5,3", "not a non-negative integer"),
    "feature-too-large": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,101,3", "outside 0..100"),
    "label-too-large": ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,10", "not a digit"),
}


@pytest.mark.parametrize("case", list(PENDIGITS_BAD_LINES))
def test_load_pendigits_malformed_line(tmp_path, isolated_env, case):
    bad_line, reason = PENDIGITS_BAD_LINES[case]
    good_line = "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,3"
    path = tmp_path / "pendigits.tes"
    path.write_text("\n".join([good_line, good_line, bad_line, good_line]) + "\n")

    with pytest.raises(ValueError, match=re.escape(reason)) as excinfo:
        load_pendigits(tmp_path, subset="test")

    assert f"{path}, line 3" in str(excinfo.value)


def test_load_pendigits_non_ascii(tmp_path, isolated_env):
    path = tmp_path / "pendigits.tra"
    path.write_bytes("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,\u00b2,3\n".encode("utf-8"))

    with pytest.raises(ValueError, match="not ASCII") as excinfo:
        load_pendigits(tmp_path)

    assert str(path) in str(excinfo.value)


def test_load_pendigits_empty_file(tmp_path, isolated_env):
    path = tmp_path / "pendigits.tra"
    path.write_text("\n\n")

    with pytest.raises(ValueError, match="no samples") as excinfo:
        load_pendigits(tmp_path)

    assert str(path) in str(excinfo.value)


def test_load_pendigits_missing_file(tmp_path, isolated_env):
    (tmp_path / "pendigits.tra").write_text("0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,3\n")

    with pytest.raises(FileNotFoundError) as excinfo:
        load_pendigits(tmp_path, subset="all")

    assert "pendigits.tes" in str(excinfo.value)
    assert str(tmp_path / "pendigits") in str(excinfo.value)


# --------------------------------------------------------------------------
# Argument validation shared by all loaders
# --------------------------------------------------------------------------


LOADERS = {
    "mnist": lambda home, **kw: load_mnist(home, **kw),
    "usps": lambda home, **kw: load_usps(home, **kw),
    "pendigits": lambda home, **kw: load_pendigits(home, **kw),
    "mnist-sample": lambda home, **kw: load_mnist_sample(**kw),
}


@pytest.mark.parametrize("dtype", [np.int64, np.float16, "complex128", "not-a-dtype", None])
@pytest.mark.parametrize("loader", list(LOADERS))
def test_loaders_reject_dtype(tmp_path, loader, dtype):
    with pytest.raises(ValueError, match="dtype must be np.float32 or np.float64"):
        LOADERS[loader](tmp_path, dtype=dtype)


@pytest.mark.parametrize("loader", ["mnist", "usps", "pendigits"])
def test_loaders_reject_subset(tmp_path, loader):
    with pytest.raises(ValueError, match="subset must be one of") as excinfo:
        LOADERS[loader](tmp_path, subset="validation")

    assert "'validation'" in str(excinfo.value)


def test_load_mnist_rejects_subset_all(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        load_mnist(tmp_path, subset="all")


# --------------------------------------------------------------------------
# Real data sets
# --------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_mnist_test_set():
    root = require_real_file("mnist", "t10k-images-idx3-ubyte.gz")
    raw = gzip.decompress((root / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    assert hashlib.md5(raw).hexdigest() == MNIST_TEST_IMAGES_MD5

    X, y = load_mnist(root, subset="test", dtype=np.float32)

    assert X.shape == (10000, 784)
    assert y.shape == (10000,)
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    # Re-encoding the loaded pixels must give back the official file.
    pixels = np.round(X.astype(np.float64) * 255).astype(np.uint8)
    reencoded = idx_bytes(pixels.reshape(10000, 28, 28))
    assert hashlib.md5(reencoded).hexdigest() == MNIST_TEST_IMAGES_MD5


@requires_h5py
@pytest.mark.realdata
@pytest.mark.parametrize("subset, n_samples", [("train", 7291), ("test", 2007)])
def test_real_usps(subset, n_samples):
    root = require_real_file("usps", "usps.h5")

    X, y = load_usps(root, subset=subset)

    assert X.shape == (n_samples, 256)
    assert y.shape == (n_samples,)
    assert X.min() >= 0.0
    assert X.max() <= 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))


@pytest.mark.realdata
@pytest.mark.parametrize(
    "subset, n_samples", [("train", 7494), ("test", 3498), ("all", 10992)],
)
def test_real_pendigits(subset, n_samples):
    root = require_real_file("pendigits", "pendigits.tra")
    require_real_file("pendigits", "pendigits.tes")

    X, y = load_pendigits(root, subset=subset)

    assert X.shape == (n_samples, 16)
    assert y.shape == (n_samples,)
    assert X.min() == 0.0
    assert X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
