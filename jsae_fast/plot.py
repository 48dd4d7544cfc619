"""Pictures of trained models: encoder filters, loss curves and reconstructions.

matplotlib is imported only when a function here is called, so the rest of
the package works without it.  Every function returns the matplotlib Figure
and, given ``path``, also saves it as a PNG.  The functions create figures
with :class:`matplotlib.figure.Figure` directly, not through ``pyplot``, so
they open no window and work on any backend.
"""

import logging
import math

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["plot_filters", "plot_loss_curve", "plot_reconstructions"]


def _figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("jsae_fast.plot needs matplotlib; install it with "
                          "'pip install matplotlib'.") from exc
    return Figure(figsize=figsize, layout="constrained")


def _finish(figure, path, dpi):
    if path is not None:
        figure.savefig(path, dpi=dpi, format="png")
        logger.info("saved figure to %s", path)
    return figure


def _image_shape(n_features, image_shape):
    """Return ``(height, width)`` of one image, inferring a square when not given."""
    if image_shape is not None:
        height, width = (int(v) for v in image_shape)
        if height * width != n_features:
            raise ValueError(f"image_shape={tuple(image_shape)} has {height * width} pixels, "
                             f"but each row has {n_features} values.")
        return height, width
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(f"rows of {n_features} values are not square images; pass "
                         f"image_shape=(height, width).")
    return side, side


def _encoder_weights(model_or_W):
    """Return the encoder weights of a model, or the array itself."""
    if hasattr(model_or_W, "components_"):
        return np.asarray(model_or_W.components_)
    if hasattr(model_or_W, "coefs_"):
        return np.asarray(model_or_W.coefs_[0])
    if isinstance(model_or_W, dict) and "W" in model_or_W:
        return np.asarray(model_or_W["W"])
    W = np.asarray(model_or_W)
    if W.ndim != 2 or W.dtype.kind not in "biuf":
        raise TypeError(f"model_or_W must be a fitted autoencoder, a parameter dict or a "
                        f"2-D numeric array, got {type(model_or_W).__name__}"
                        f"{' of shape ' + str(W.shape) if W.dtype.kind in 'biuf' else ''}.")
    return W


def filter_grid(W, image_shape=None, n_columns=None, padding=1):
    """Tile the rows of ``W`` as images into one array, each scaled to [-1, 1].

    Each row is divided by its largest absolute value, so every filter uses
    the full grey range and zero stays mid-grey.  Cells are separated by
    ``padding`` pixels of value -1 (black).

    Parameters
    ----------
    W : ndarray of shape (n_filters, height * width)
        Filters, one per row.
    image_shape : (int, int) or None, default=None
        Shape of one filter; None infers a square.
    n_columns : int or None, default=None
        Cells per row of the grid; None makes the grid about square.
    padding : int, default=1
        Pixels between cells.

    Returns
    -------
    grid : ndarray of shape (rows * (height + padding) + padding,
        n_columns * (width + padding) + padding)
    """
    W = np.asarray(W, dtype=np.float64)
    n_filters = W.shape[0]
    height, width = _image_shape(W.shape[1], image_shape)
    if n_columns is None:
        n_columns = math.ceil(math.sqrt(n_filters))
    n_rows = math.ceil(n_filters / n_columns)
    grid = -np.ones((n_rows * (height + padding) + padding,
                     n_columns * (width + padding) + padding))
    scale = np.abs(W).max(axis=1)
    scale[scale == 0] = 1.0
    for index, row in enumerate(W / scale[:, None]):
        top = padding + (index // n_columns) * (height + padding)
        left = padding + (index % n_columns) * (width + padding)
        grid[top:top + height, left:left + width] = row.reshape(height, width)
    return grid


def plot_filters(model_or_W, *, image_shape=None, n_filters=None, n_columns=None,
                 title=None, path=None, dpi=100):
    """Show the encoder's rows as a grid of images (a display network).

    Parameters
    ----------
    model_or_W : estimator, dict or array-like of shape (n_hidden, n_features)
        A fitted :class:`JacobianSparseAutoencoder` (its ``components_``), a
        :class:`StackedAutoencoderClassifier` (its first layer), a parameter
        dict with key ``"W"``, or the weights themselves.
    image_shape : (int, int) or None, default=None
        Shape of one input image; None infers a square (784 gives 28 x 28).
    n_filters : int or None, default=None
        Show only the first ``n_filters`` rows; None shows all.
    n_columns : int or None, default=None
        Filters per grid row; None makes the grid about square.
    title : str or None, default=None
        Figure title.
    path : str, path-like or None, default=None
        If given, save the figure there as PNG.
    dpi : int, default=100
        Resolution of the saved PNG.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from jsae_fast.plot import plot_filters
    >>> figure = plot_filters(np.random.default_rng(0).normal(size=(16, 64)))
    >>> len(figure.axes)
    1
    """
    W = _encoder_weights(model_or_W)
    if n_filters is not None:
        W = W[:n_filters]
    grid = filter_grid(W, image_shape, n_columns)
    figure = _figure((6, 6 * grid.shape[0] / grid.shape[1]))
    axes = figure.add_subplot()
    axes.imshow(grid, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    if title is not None:
        axes.set_title(title)
    return _finish(figure, path, dpi)


def plot_loss_curve(model_or_curve, *, validation=True, log_scale=False, title=None,
                    path=None, dpi=100):
    """Plot the training cost per iteration, with the validation curve when present.

    Parameters
    ----------
    model_or_curve : estimator or sequence of float
        A fitted estimator with ``loss_curve_`` (and, after early stopping,
        ``validation_scores_`` or ``validation_loss_curve_``), or a sequence of
        costs such as :attr:`jsae_fast.TrainingResult.loss_history`.
    validation : bool, default=True
        Also draw the validation curve when the estimator has one.
    log_scale : bool, default=False
        Use a logarithmic cost axis.
    title : str or None, default=None
        Axes title.
    path : str, path-like or None, default=None
        If given, save the figure there as PNG.
    dpi : int, default=100
        Resolution of the saved PNG.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    if hasattr(model_or_curve, "loss_curve_"):
        curve = np.asarray(model_or_curve.loss_curve_, dtype=np.float64)
    else:
        curve = np.asarray(model_or_curve, dtype=np.float64)
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(f"the loss curve must be a non-empty 1-D sequence, got shape "
                         f"{curve.shape}.")
    figure = _figure((6, 4))
    axes = figure.add_subplot()
    iterations = np.arange(1, curve.size + 1)
    axes.plot(iterations, curve, label="training cost")
    if validation:
        if hasattr(model_or_curve, "validation_scores_"):
            values = -np.asarray(model_or_curve.validation_scores_)
            axes.plot(np.arange(1, values.size + 1), values, label="validation cost")
        elif hasattr(model_or_curve, "validation_loss_curve_"):
            # The first value is measured before the first iteration.
            values = np.asarray(model_or_curve.validation_loss_curve_)
            axes.plot(np.arange(values.size), values, label="validation cross-entropy")
    axes.set_xlabel("iteration")
    axes.set_ylabel("cost")
    if log_scale:
        axes.set_yscale("log")
    axes.legend()
    axes.grid(alpha=0.3)
    if title is not None:
        axes.set_title(title)
    return _finish(figure, path, dpi)


def plot_reconstructions(model, X, n=10, *, image_shape=None, title=None, path=None, dpi=100):
    """Show ``n`` inputs (top row) above the model's reconstructions (bottom row).

    Parameters
    ----------
    model : JacobianSparseAutoencoder
        A fitted autoencoder.
    X : array-like of shape (n_samples, n_features)
        Inputs in ``[0, 1]``; the first ``n`` rows are shown.
    n : int, default=10
        Number of samples shown.
    image_shape : (int, int) or None, default=None
        Shape of one image; None infers a square.
    title : str or None, default=None
        Figure title.
    path : str, path-like or None, default=None
        If given, save the figure there as PNG.
    dpi : int, default=100
        Resolution of the saved PNG.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}.")
    n = min(int(n), X.shape[0])
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    originals = X[:n]
    reconstructions = model.inverse_transform(model.transform(originals))
    height, width = _image_shape(X.shape[1], image_shape)
    figure = _figure((1.0 * n, 2.2))
    axes = figure.subplots(2, n, squeeze=False)
    for column in range(n):
        for row, images in enumerate((originals, reconstructions)):
            ax = axes[row, column]
            ax.imshow(np.asarray(images[column]).reshape(height, width), cmap="gray",
                      vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    if title is not None:
        figure.suptitle(title)
    return _finish(figure, path, dpi)
