"""Training-set augmentation for image data stored as flat rows.

Small training sets of handwritten digits gain from copies of each image
moved by a pixel or two: the class does not change, and a classifier learns
that small translations do not matter.  :class:`ImageShifts` makes such
copies, and :class:`jsae_fast.StackedAutoencoderClassifier` accepts it as its
``augment`` argument.  The classifier applies it to the training part only,
after holding out the validation part for early stopping, so no shifted copy
of a validation image is trained on.
"""

import numbers

import numpy as np

__all__ = ["ImageShifts"]

#: The four shifts by one pixel: down, up, right, left.
FOUR_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))


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
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (samples x pixels), got shape {X.shape}.")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got "
                             f"shape {y.shape}.")
        (height, width), offsets, fill = self._validated(X.shape[1])
        images = X.reshape(-1, height, width)
        copies = [X]
        for dy, dx in offsets:
            shifted = np.full_like(images, fill)
            shifted[:, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
                images[:, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
            copies.append(shifted.reshape(X.shape))
        return np.concatenate(copies), np.tile(y, len(copies))
