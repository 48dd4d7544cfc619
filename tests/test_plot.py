"""Pictures: filter grids, loss curves and reconstructions (Agg backend)."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from jsae_fast import JacobianSparseAutoencoder, StackedAutoencoderClassifier  # noqa: E402
from jsae_fast.plot import (  # noqa: E402
    filter_grid,
    plot_filters,
    plot_loss_curve,
    plot_reconstructions,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def model():
    X = np.random.default_rng(0).random((30, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return JacobianSparseAutoencoder(n_hidden=5, max_iter=5, early_stopping=True,
                                         validation_fraction=0.2, random_state=0,
                                         n_threads=1).fit(X)


def test_filter_grid_layout_and_scaling():
    W = np.arange(1, 4 * 9 + 1, dtype=float).reshape(4, 9)
    W[1] *= -1
    grid = filter_grid(W, n_columns=2, padding=1)
    assert grid.shape == (2 * 4 + 1, 2 * 4 + 1)
    cells = [grid[1:4, 1:4], grid[1:4, 5:8], grid[5:8, 1:4], grid[5:8, 5:8]]
    for cell, row in zip(cells, W):
        np.testing.assert_allclose(cell, (row / np.abs(row).max()).reshape(3, 3))
    assert np.all(grid[0] == -1)


def test_filter_grid_zero_row_stays_zero():
    grid = filter_grid(np.zeros((1, 4)), padding=0)
    np.testing.assert_array_equal(grid, np.zeros((2, 2)))


def test_filter_grid_rejects_non_square_rows():
    with pytest.raises(ValueError, match="image_shape"):
        filter_grid(np.ones((2, 10)))


def test_filter_grid_explicit_shape():
    assert filter_grid(np.ones((1, 10)), image_shape=(2, 5), padding=0).shape == (2, 5)
    with pytest.raises(ValueError, match="has 12 pixels"):
        filter_grid(np.ones((1, 10)), image_shape=(3, 4))


def test_plot_filters_saves_png(model, tmp_path):
    path = tmp_path / "filters.png"
    figure = plot_filters(model, title="filters", path=path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    image = figure.axes[0].images[0].get_array()
    # 5 filters of 4x4 in 3 columns and 2 rows, with 1 pixel of padding.
    assert image.shape == (2 * 5 + 1, 3 * 5 + 1)


def test_plot_filters_accepts_arrays_and_stacked():
    figure = plot_filters(np.random.default_rng(0).normal(size=(7, 25)), n_filters=4)
    assert figure.axes[0].images[0].get_array().shape == (2 * 6 + 1, 2 * 6 + 1)
    X = np.random.default_rng(0).random((30, 16))
    y = np.arange(30) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = StackedAutoencoderClassifier(hidden_layer_sizes=(4,), max_iter=2,
                                           fine_tune=False, n_threads=1).fit(X, y)
    assert plot_filters(clf) is not None


def test_plot_filters_rejects_bad_input():
    with pytest.raises(TypeError, match="model_or_W"):
        plot_filters("weights")


def test_plot_loss_curve_with_validation(model, tmp_path):
    figure = plot_loss_curve(model, path=tmp_path / "loss.png")
    lines = figure.axes[0].get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), model.loss_curve_)
    np.testing.assert_allclose(lines[1].get_ydata(), -np.asarray(model.validation_scores_))
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG_MAGIC)


def test_plot_loss_curve_from_sequence():
    figure = plot_loss_curve([3.0, 2.0, 1.5], log_scale=True)
    assert figure.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="non-empty"):
        plot_loss_curve([])


def test_plot_reconstructions_layout(model):
    X = np.random.default_rng(1).random((4, 16))
    figure = plot_reconstructions(model, X, n=10)
    assert len(figure.axes) == 8
    bottom = figure.axes[4].images[0].get_array()
    expected = model.inverse_transform(model.transform(X[:1]))[0].reshape(4, 4)
    np.testing.assert_allclose(bottom, expected)


def test_missing_matplotlib_raises_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_loss_curve([1.0, 0.5])
