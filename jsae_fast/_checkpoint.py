"""Training checkpoints: atomic ``.npz`` files with a SHA-256 checksum inside.

A checkpoint is an uncompressed ``.npz`` archive (a ZIP of ``.npy`` files)
holding plain numeric and fixed-width string arrays, never pickled objects:

* ``format_version`` and the metadata that a resumed fit must match:
  ``solver``, ``dtype``, ``tied``, ``n_samples``, ``data_sha256`` (the
  SHA-256 digest of the training data's bytes) and ``penalties``;
* ``param_W``, ``param_b``, ``param_c`` and, unless the weights are tied,
  ``param_V``: the point where training continues;
* ``best_loss`` and ``best_W`` ... : the best parameters seen so far;
* ``loss_history``, ``n_iter``, ``n_evaluations``;
* solver state: Adam's moments ``adam_m_*`` and ``adam_v_*``, its step count,
  patience counters and the MT19937 state of the shuffling generator;
  gradient descent's previous cost; L-BFGS's curvature history, its ring
  position and products, scaling, last gradient and cost (``lbfgs_*``), and
  the number of curvature pairs it keeps (``lbfgs_memory``);
* ``sha256``: the digest of every other array's name, dtype, shape and bytes.

The trainer (:func:`jsae_fast.trainer._load_resume_checkpoint`) checks the
metadata and solver state against the resumed fit.

The writer puts the archive in a temporary file in the target's folder,
flushes and fsyncs it, then renames it over the target with ``os.replace``.
A reader therefore sees either the old checkpoint or the new one, never a
torn file.
The reader parses the archive with :mod:`zipfile` and the public
``numpy.lib.format`` header functions instead of ``np.load``, so that it can
check each member's declared size against the bytes actually stored before
allocating anything.  Every problem with the file's contents raises ValueError
naming the file.
"""

import hashlib
import io
import os
import struct
import tempfile
import zipfile
import zlib

import numpy as np

#: Version of the checkpoint layout written by :func:`save_checkpoint`.
FORMAT_VERSION = 1

_DIGEST_KEY = "sha256"

# Exceptions that zipfile and numpy.lib.format raise on malformed input.
# ValueError also covers UnicodeDecodeError in member names.
_PARSE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError,
                 KeyError, struct.error, zlib.error, NotImplementedError,
                 OverflowError, IndexError)


def _digest(arrays):
    """Return the SHA-256 digest of ``arrays`` (name -> ndarray) as 32 uint8 values."""
    sha = hashlib.sha256()
    for name in sorted(arrays):
        if name == _DIGEST_KEY:
            continue
        value = np.ascontiguousarray(arrays[name])
        sha.update(name.encode("utf-8") + b"\0")
        sha.update(value.dtype.str.encode("ascii") + b"\0")
        sha.update(repr(value.shape).encode("ascii") + b"\0")
        sha.update(value.tobytes())
    return np.frombuffer(sha.digest(), dtype=np.uint8).copy()


def save_checkpoint(path, arrays):
    """Write ``arrays`` (name -> array-like) to ``path`` atomically, with a checksum.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.  The name is used as given; no ``.npz`` is appended.
    arrays : dict
        Arrays to store; object arrays are rejected.
    """
    path = os.fspath(path)
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in arrays.items():
        if value.dtype.hasobject:
            raise TypeError(f"checkpoint entry {name!r} has object dtype; only numeric "
                            f"and string arrays can be stored.")
    arrays[_DIGEST_KEY] = _digest(arrays)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=".jsae-checkpoint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    # Persist the rename itself; not every platform can open a folder.
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _read_member(archive, info, path):
    """Read one ``.npy`` member of ``archive`` after checking its declared size."""
    if info.flag_bits & 0x1:
        # zipfile would raise RuntimeError asking for a password.
        raise ValueError(f"checkpoint {path!s}: member {info.filename!r} is marked "
                         f"encrypted, but checkpoints are never encrypted.")
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"checkpoint {path!s}: member {info.filename!r} is compressed, "
                         f"but checkpoints are written uncompressed.")
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"checkpoint {path!s}: member {info.filename!r} has "
                             f"unsupported .npy version {version}.")
        if dtype.hasobject:
            raise ValueError(f"checkpoint {path!s}: member {info.filename!r} contains "
                             f"Python objects, which checkpoints never contain.")
        count = 1
        for dim in shape:
            count *= int(dim)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:
            raise ValueError(f"checkpoint {path!s}: member {info.filename!r} declares "
                             f"{nbytes} bytes of data but stores {info.file_size}.")
        data = fh.read(nbytes)
        if len(data) != nbytes:
            raise ValueError(f"checkpoint {path!s}: member {info.filename!r} is truncated.")
        # Reading to the end of the member also makes zipfile check its CRC-32.
        if fh.read(1):
            raise ValueError(f"checkpoint {path!s}: member {info.filename!r} has bytes "
                             f"after its array data.")
    array = np.frombuffer(data, dtype=dtype, count=count)
    order = "F" if fortran_order else "C"
    return array.reshape(shape, order=order).copy()


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint` and verify its checksum.

    Parameters
    ----------
    path : str or os.PathLike
        Checkpoint file.

    Returns
    -------
    arrays : dict
        Name -> ndarray, without the checksum entry.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable checkpoint: not a ZIP archive, truncated,
        a member that fails its CRC-32, a malformed ``.npy`` header, or a
        SHA-256 digest that does not match the arrays.  The message names the
        file.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            arrays = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise ValueError(f"unexpected member {info.filename!r}")
                name = info.filename[:-len(".npy")]
                if name in arrays:
                    raise ValueError(f"duplicate member {info.filename!r}")
                arrays[name] = _read_member(archive, info, path)
    except _PARSE_ERRORS as exc:
        raise ValueError(f"checkpoint {path} is corrupt or not a jsae_fast checkpoint "
                         f"({type(exc).__name__}: {exc}).") from exc
    stored = arrays.pop(_DIGEST_KEY, None)
    if stored is None:
        raise ValueError(f"checkpoint {path} has no {_DIGEST_KEY!r} checksum entry; it "
                         f"was not written by jsae_fast.")
    if stored.dtype != np.uint8 or stored.shape != (32,) or not np.array_equal(
            stored, _digest(arrays)):
        raise ValueError(f"checkpoint {path} fails its SHA-256 checksum: the file was "
                         f"modified or damaged after it was written.")
    version = arrays.get("format_version")
    if version is None or version.shape != () or version.dtype.kind not in "iu":
        raise ValueError(f"checkpoint {path} has no valid format_version entry.")
    if int(version) != FORMAT_VERSION:
        raise ValueError(f"checkpoint {path} has format version {int(version)}; this "
                         f"version of jsae_fast reads version {FORMAT_VERSION}.")
    return arrays
