"""Training-set augmentation for digits stored as flat rows.

Small training sets of handwritten digits gain from copies of each sample
that a slightly different hand could have produced: the class does not
change, and a classifier learns that such variation does not matter.

* :class:`ImageShifts` moves images by whole pixels (MNIST, USPS).
* :class:`PointDistortions` rotates and shears digits given as sequences of
  pen positions, as in the UCI Pen digits data, and normalizes them again.

:class:`jsae_fast.StackedAutoencoderClassifier` accepts either as its
``augment`` argument.  The classifier applies it to the training part only,
after holding out the validation part for early stopping, so no copy of a
validation sample is trained on.
"""

import numbers

import numpy as np

from ._validation import check_random_state

__all__ = ["ImageShifts", "PointDistortions"]

#: The four shifts by one pixel: down, up, right, left.
FOUR_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def _check_labelled_rows(X, y):
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples x features), got shape {X.shape}.")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got "
                         f"shape {y.shape}.")
    return X, y


class ImageShifts:
    """Append copies of each image shifted by whole pixels.

    Each row of ``X`` is read as an image of ``image_shape`` in row-major
    order.  For every offset ``(dy, dx)`` a copy moved ``dy`` pixels down and
    ``dx`` pixels right is appended.  Pixels shifted in from outside the
    image take the value ``fill``.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` of one image; ``height * width`` must equal the
        number of features.
    offsets : sequence of (int, int), default=((1, 0), (-1, 0), (0, 1), (0, -1))
        Shifts ``(dy, dx)`` in pixels; each gives one copy of the data.  The
        default, the four one-pixel shifts, makes the training set five
        times larger.
    fill : float, default=0.0
        Value of the pixels shifted in; 0 is the background of MNIST and USPS.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast.augment import ImageShifts
    >>> X = np.arange(4.0).reshape(1, 4) / 4
    >>> X_aug, y_aug = ImageShifts((2, 2), offsets=[(0, 1)])(X, np.array([7]))
    >>> X_aug
    array([[0.  , 0.25, 0.5 , 0.75],
           [0.  , 0.  , 0.  , 0.5 ]])
    >>> y_aug
    array([7, 7])
    """

    def __init__(self, image_shape, offsets=FOUR_NEIGHBOURS, fill=0.0):
        self.image_shape = image_shape
        self.offsets = offsets
        self.fill = fill

    def __repr__(self):
        return (f"ImageShifts(image_shape={self.image_shape!r}, offsets={self.offsets!r}, "
                f"fill={self.fill!r})")

    def _validated(self, n_features):
        shape = tuple(self.image_shape)
        if (len(shape) != 2 or not all(isinstance(d, numbers.Integral) and d > 0
                                       for d in shape)):
            raise ValueError(f"image_shape must be two positive integers (height, width), "
                             f"got {self.image_shape!r}.")
        if shape[0] * shape[1] != n_features:
            raise ValueError(f"image_shape={shape} has {shape[0] * shape[1]} pixels, but X "
                             f"has {n_features} features per row; pass the shape of one "
                             f"image.")
        offsets = []
        for offset in self.offsets:
            offset = tuple(offset)
            if len(offset) != 2 or not all(isinstance(d, numbers.Integral) for d in offset):
                raise ValueError(f"each offset must be two integers (dy, dx), got "
                                 f"{offset!r} in offsets={self.offsets!r}.")
            if abs(offset[0]) >= shape[0] or abs(offset[1]) >= shape[1]:
                raise ValueError(f"offset {offset} moves the whole {shape} image out of "
                                 f"view; use shifts smaller than the image.")
            offsets.append((int(offset[0]), int(offset[1])))
        fill = float(self.fill)
        if not np.isfinite(fill):
            raise ValueError(f"fill must be finite, got {self.fill!r}.")
        return shape, offsets, fill

    def __call__(self, X, y):
        """Return ``(X_augmented, y_augmented)``: the data, then one shifted copy per offset.

        Parameters
        ----------
        X : ndarray of shape (n_samples, height * width)
            Images as rows.
        y : ndarray of shape (n_samples,)
            Labels, repeated for every copy.

        Returns
        -------
        X_augmented : ndarray of shape (n_samples * (1 + len(offsets)), height * width)
            Same dtype as ``X``.
        y_augmented : ndarray of shape (n_samples * (1 + len(offsets)),)
        """
        X, y = _check_labelled_rows(X, y)
        (height, width), offsets, fill = self._validated(X.shape[1])
        images = X.reshape(-1, height, width)
        copies = [X]
        for dy, dx in offsets:
            shifted = np.full_like(images, fill)
            shifted[:, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
                images[:, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
            copies.append(shifted.reshape(X.shape))
        return np.concatenate(copies), np.tile(y, len(copies))


class PointDistortions:
    """Append randomly rotated and sheared copies of digits given as pen positions.

    Each row of ``X`` contains ``k`` points ``(x_1, y_1, ..., x_k, y_k)``, and
    each coordinate of a row spans ``[0, 1]`` (its smallest value is 0 and its
    largest 1), which is how the UCI Pen digits features are normalized once
    divided by 100.  Every copy maps the points of a row by its own random
    linear map: a shear ``x <- x + t y`` followed by a rotation by angle
    ``a``, with ``a`` uniform in ``[-max_rotation, max_rotation]`` degrees and
    ``t`` uniform in ``[-max_shear, max_shear]``.  Each coordinate of the
    result is then rescaled to span ``[0, 1]`` again.  A coordinate that is
    constant after the map is set to 0.5.

    Writers differ in the slant and the angle of their digits, so the copies
    imitate other writers. No scale change is drawn, because the
    normalization would undo it.

    Parameters
    ----------
    n_copies : int, default=4
        Distorted copies per sample; the training set grows by a factor of
        ``1 + n_copies``.
    max_rotation : float, default=10.0
        Largest rotation in degrees, in [0, 90).
    max_shear : float, default=0.2
        Largest shear factor, in [0, 1].
    random_state : int, RandomState instance or None, default=0
        Seed of the draws.  With an int, every call with the same data
        returns the same copies.

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast.augment import PointDistortions
    >>> X = np.array([[0.0, 0.0, 1.0, 0.5, 0.5, 1.0]])   # three points
    >>> X_aug, y_aug = PointDistortions(n_copies=2)(X, np.array([3]))
    >>> X_aug.shape, y_aug.tolist()
    ((3, 6), [3, 3, 3])
    >>> bool(X_aug.min() == 0.0 and X_aug.max() == 1.0)
    True
    """

    def __init__(self, n_copies=4, max_rotation=10.0, max_shear=0.2, random_state=0):
        self.n_copies = n_copies
        self.max_rotation = max_rotation
        self.max_shear = max_shear
        self.random_state = random_state

    def __repr__(self):
        return (f"PointDistortions(n_copies={self.n_copies!r}, "
                f"max_rotation={self.max_rotation!r}, max_shear={self.max_shear!r}, "
                f"random_state={self.random_state!r})")

    def _validated(self, n_features):
        if n_features % 2 or n_features < 4:
            raise ValueError(f"X has {n_features} features per row; PointDistortions needs "
                             f"an even number of at least 4, the (x, y) pairs of two or "
                             f"more points.")
        if not isinstance(self.n_copies, numbers.Integral) or isinstance(self.n_copies, bool):
            raise TypeError(f"n_copies must be a positive int, got {self.n_copies!r} of "
                            f"type {type(self.n_copies).__name__}.")
        if self.n_copies < 1:
            raise ValueError(f"n_copies must be a positive int, got {self.n_copies!r}.")
        for name in ("max_rotation", "max_shear"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"{name} must be a real number, got {value!r} of type "
                                f"{type(value).__name__}.")
        rotation = float(self.max_rotation)
        if not 0.0 <= rotation < 90.0:
            raise ValueError(f"max_rotation must be in [0, 90) degrees, got "
                             f"{self.max_rotation!r}.")
        shear = float(self.max_shear)
        if not 0.0 <= shear <= 1.0:
            raise ValueError(f"max_shear must be in [0, 1], got {self.max_shear!r}.")
        rng = check_random_state(self.random_state)
        return int(self.n_copies), np.deg2rad(rotation), shear, rng

    def __call__(self, X, y):
        """Return ``(X_augmented, y_augmented)``: the data, then ``n_copies`` distorted copies.

        Parameters
        ----------
        X : ndarray of shape (n_samples, 2 k)
            Points as rows ``(x_1, y_1, ..., x_k, y_k)``.
        y : ndarray of shape (n_samples,)
            Labels, repeated for every copy.

        Returns
        -------
        X_augmented : ndarray of shape (n_samples * (1 + n_copies), 2 k)
            Same dtype as ``X``, or float64 for integer input. Every
            coordinate of the copies is in [0, 1].
        y_augmented : ndarray of shape (n_samples * (1 + n_copies),)
        """
        X, y = _check_labelled_rows(X, y)
        n_copies, max_angle, max_shear, rng = self._validated(X.shape[1])
        if X.dtype.kind not in "uif":
            raise TypeError(f"X must contain real numbers, got dtype {X.dtype}.")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values; PointDistortions needs "
                             "finite coordinates.")
        if X.size and (X.min() < 0.0 or X.max() > 1.0):
            # The copies are normalized to [0, 1]; originals on another scale
            # would make a training set with two scales.
            raise ValueError(f"X has values in [{X.min():g}, {X.max():g}], but "
                             f"PointDistortions needs coordinates in [0, 1]; scale the data "
                             f"first (the UCI Pen digits values divided by 100).")
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        points = X.reshape(X.shape[0], X.shape[1] // 2, 2).astype(np.float64)
        copies = [np.asarray(X, dtype=dtype)]
        for _ in range(n_copies):
            angle = rng.uniform(-max_angle, max_angle, size=(X.shape[0], 1))
            shear = rng.uniform(-max_shear, max_shear, size=(X.shape[0], 1))
            px, py = points[..., 0], points[..., 1]
            sheared = px + shear * py
            cos, sin = np.cos(angle), np.sin(angle)
            moved = np.stack([cos * sheared - sin * py, sin * sheared + cos * py], axis=-1)
            low = moved.min(axis=1, keepdims=True)
            span = moved.max(axis=1, keepdims=True) - low
            flat = span <= 1e-12
            scaled = (moved - low) / np.where(flat, 1.0, span)
            scaled = np.where(flat, 0.5, np.clip(scaled, 0.0, 1.0))
            copies.append(scaled.reshape(X.shape).astype(dtype))
        return np.concatenate(copies), np.tile(y, 1 + n_copies)
