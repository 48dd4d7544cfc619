"""Tests of the augmentations and their use in the stacked classifier."""

import numpy as np
import pytest

from jsae_fast import StackedAutoencoderClassifier
from jsae_fast.augment import ImageShifts, PointDistortions


def _shift_by_loops(image, dy, dx, fill):
    """Shift one 2-D image pixel by pixel: the obvious, slow definition."""
    height, width = image.shape
    out = np.full_like(image, fill)
    for i in range(height):
        for j in range(width):
            if 0 <= i - dy < height and 0 <= j - dx < width:
                out[i, j] = image[i - dy, j - dx]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5), (1, 4), (6, 1), (4, 4)])
def test_shifts_match_pixel_loop(dtype, shape):
    rng = np.random.default_rng(0)
    X = rng.random((3, shape[0] * shape[1])).astype(dtype)
    y = np.array([4, 0, 9])
    offsets = [(dy, dx) for dy in range(-shape[0] + 1, shape[0])
               for dx in range(-shape[1] + 1, shape[1])]
    X_aug, y_aug = ImageShifts(shape, offsets=offsets, fill=0.25)(X, y)
    assert X_aug.dtype == dtype
    assert X_aug.shape == (3 * (1 + len(offsets)), X.shape[1])
    np.testing.assert_array_equal(X_aug[:3], X)
    np.testing.assert_array_equal(y_aug, np.tile(y, 1 + len(offsets)))
    for k, (dy, dx) in enumerate(offsets, start=1):
        for row in range(3):
            expected = _shift_by_loops(X[row].reshape(shape), dy, dx, dtype(0.25))
            np.testing.assert_array_equal(X_aug[3 * k + row].reshape(shape), expected)


def test_default_offsets_are_four_one_pixel_shifts():
    X = np.zeros((1, 9))
    X[0, 4] = 1.0  # centre pixel of a 3 x 3 image
    X_aug, _ = ImageShifts((3, 3))(X, np.array([1]))
    assert X_aug.shape == (5, 9)
    lit = sorted(int(np.flatnonzero(row)[0]) for row in X_aug[1:])
    assert lit == [1, 3, 5, 7]


@pytest.mark.parametrize("kwargs, match", [
    ({"image_shape": (5, 5)}, "25 pixels"),
    ({"image_shape": (4,)}, "two positive integers"),
    ({"image_shape": (4, 0)}, "two positive integers"),
    ({"image_shape": (4, 4), "offsets": [(1,)]}, "two integers"),
    ({"image_shape": (4, 4), "offsets": [(0.5, 1)]}, "two integers"),
    ({"image_shape": (4, 4), "offsets": [(4, 0)]}, "out of view"),
    ({"image_shape": (4, 4), "fill": np.nan}, "fill must be finite"),
])
def test_bad_settings_are_named(kwargs, match):
    X = np.zeros((2, 16))
    with pytest.raises(ValueError, match=match):
        ImageShifts(**kwargs)(X, np.array([0, 1]))


def test_bad_data_is_named():
    shifts = ImageShifts((2, 2))
    with pytest.raises(ValueError, match="2-D"):
        shifts(np.zeros(4), np.zeros(1))
    with pytest.raises(ValueError, match="one label per row"):
        shifts(np.zeros((3, 4)), np.zeros(2))


def _digits():
    """Two classes of 4 x 4 images: a bright row or a bright column, on noise."""
    rng = np.random.default_rng(1)
    X = rng.random((60, 16)) * 0.2
    y = np.arange(60) % 2
    images = X.reshape(-1, 4, 4)
    images[y == 0, 1, :] += 0.7
    images[y == 1, :, 1] += 0.7
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_stacked_classifier_trains_on_augmented_part_only():
    X, y = _digits()
    seen = []

    def recording_shifts(X_part, y_part):
        seen.append((X_part.copy(), y_part.copy()))
        return ImageShifts((4, 4))(X_part, y_part)

    clf = StackedAutoencoderClassifier((6,), max_iter=20, fine_tune_max_iter=20,
                                       random_state=0, augment=recording_shifts)
    clf.fit(X, y)
    (X_part, y_part), = seen
    # The validation part (10% of 60) is held out before augmentation.
    assert X_part.shape == (54, 16)
    assert set(map(bytes, X_part)) < set(map(bytes, X))
    assert clf.score(X, y) > 0.9
    # The augmented data reached pretraining: 5 x 54 samples.
    plain = StackedAutoencoderClassifier((6,), max_iter=20, fine_tune_max_iter=20,
                                         random_state=0).fit(X, y)
    assert not np.array_equal(plain.coefs_[0], clf.coefs_[0])


@pytest.mark.parametrize("augment, error, match", [
    (lambda X, y: (X[:, :3], y), ValueError, "keep the 16 features"),
    (lambda X, y: (X, y[:-1]), ValueError, "one label per row"),
    (lambda X, y: (X, y + 5), ValueError, "not among the training labels"),
    (lambda X, y: (X - 1, y), ValueError, r"augment returned values in \[-0\.9"),
    (lambda X, y: (X * 100, y), ValueError, "it must keep them in"),
    (lambda X, y: (X * np.nan, y), ValueError, "augment returned NaN or infinite values"),
    ("shifts", TypeError, "augment must be callable"),
])
def test_stacked_classifier_rejects_bad_augment(augment, error, match):
    X, y = _digits()
    clf = StackedAutoencoderClassifier((4,), max_iter=2, fine_tune_max_iter=2, random_state=0,
                                       augment=augment)
    with pytest.raises(error, match=match):
        clf.fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_model_file_drops_augment_but_keeps_predictions(tmp_path, caplog):
    from jsae_fast import load_model, save_model

    X, y = _digits()
    clf = StackedAutoencoderClassifier((4,), max_iter=5, fine_tune_max_iter=5, random_state=0,
                                       augment=ImageShifts((4, 4))).fit(X, y)
    path = tmp_path / "model.npz"
    with caplog.at_level("WARNING", logger="jsae_fast"):
        save_model(clf, path)
    assert "augment" in caplog.text
    loaded = load_model(path)
    assert loaded.augment is None
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def _normalize_points(points):
    """Rescale each coordinate of one (k, 2) point set to span [0, 1], one point at a time."""
    out = np.empty_like(points)
    for axis in range(2):
        low, high = points[:, axis].min(), points[:, axis].max()
        for i in range(points.shape[0]):
            out[i, axis] = 0.5 if high - low <= 1e-12 else (points[i, axis] - low) / (high - low)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_point_distortions_match_the_map_point_by_point(dtype):
    rng = np.random.default_rng(1)
    X = rng.random((5, 16)).astype(dtype)
    y = np.arange(5)
    augment = PointDistortions(n_copies=3, max_rotation=20.0, max_shear=0.3, random_state=4)
    X_aug, y_aug = augment(X, y)
    assert X_aug.dtype == dtype
    assert X_aug.shape == (20, 16)
    np.testing.assert_array_equal(X_aug[:5], X)
    np.testing.assert_array_equal(y_aug, np.tile(y, 4))
    # Redraw the same angles and shears and apply them one point at a time.
    draws = np.random.RandomState(4)
    for copy in range(3):
        angles = draws.uniform(-np.deg2rad(20.0), np.deg2rad(20.0), size=(5, 1))
        shears = draws.uniform(-0.3, 0.3, size=(5, 1))
        for row in range(5):
            a, t = angles[row, 0], shears[row, 0]
            moved = []
            for x, yy in X[row].astype(np.float64).reshape(8, 2):
                xs = x + t * yy
                moved.append((np.cos(a) * xs - np.sin(a) * yy, np.sin(a) * xs + np.cos(a) * yy))
            expected = _normalize_points(np.array(moved))
            got = X_aug[5 * (copy + 1) + row].reshape(8, 2)
            tolerance = 1e-6 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got, expected, atol=tolerance)
            # Every coordinate of a copy spans [0, 1] again.
            assert got.min(axis=0).tolist() == [0.0, 0.0]
            assert got.max(axis=0).tolist() == [1.0, 1.0]


def test_point_distortions_are_identity_without_rotation_or_shear():
    points = np.random.default_rng(2).random((4, 5, 2))
    normalized = np.stack([_normalize_points(p) for p in points]).reshape(4, 10)
    X_aug, _ = PointDistortions(n_copies=2, max_rotation=0.0, max_shear=0.0)(
        normalized, np.zeros(4, dtype=int))
    np.testing.assert_allclose(X_aug[4:8], normalized, atol=1e-12)
    np.testing.assert_allclose(X_aug[8:], normalized, atol=1e-12)


def test_point_distortions_are_reproducible_and_handle_degenerate_rows():
    X = np.array([[0.3, 0.3, 0.3, 0.3, 0.3, 0.3],   # one point repeated
                  [0.0, 0.5, 1.0, 0.5, 0.5, 0.5]])  # points on a line
    augment = PointDistortions(n_copies=2, max_rotation=0.0, max_shear=0.0, random_state=1)
    first, _ = augment(X, np.array([1, 2]))
    second, _ = augment(X, np.array([1, 2]))
    np.testing.assert_array_equal(first, second)
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first[2], np.full(6, 0.5))
    np.testing.assert_allclose(first[3], [0.0, 0.5, 1.0, 0.5, 0.5, 0.5])
    other, _ = PointDistortions(random_state=2)(X, np.array([1, 2]))
    assert not np.array_equal(PointDistortions(random_state=1)(X, np.array([1, 2]))[0], other)


@pytest.mark.parametrize("kwargs, X, error, match", [
    ({}, np.zeros((2, 5)), ValueError, "even number of at least 4"),
    ({}, np.zeros((2, 2)), ValueError, "even number of at least 4"),
    ({"n_copies": 0}, np.zeros((2, 4)), ValueError, "n_copies must be a positive int, got 0"),
    ({"n_copies": 1.5}, np.zeros((2, 4)), TypeError, "n_copies must be a positive int"),
    ({"n_copies": True}, np.zeros((2, 4)), TypeError, "n_copies must be a positive int"),
    ({"max_rotation": 90}, np.zeros((2, 4)), ValueError, r"max_rotation must be in \[0, 90\)"),
    ({"max_rotation": -1}, np.zeros((2, 4)), ValueError, "max_rotation"),
    ({"max_rotation": True}, np.zeros((2, 4)), TypeError, "max_rotation must be a real"),
    ({"max_shear": "0.2"}, np.zeros((2, 4)), TypeError, "max_shear must be a real"),
    ({"max_shear": 2.0}, np.zeros((2, 4)), ValueError, r"max_shear must be in \[0, 1\]"),
    ({}, np.full((2, 4), np.nan), ValueError, "NaN or infinite"),
    ({}, np.zeros(4), ValueError, "X must be 2-D"),
    ({}, np.full((2, 4), 50), ValueError, r"values in \[50, 50\].*divided by 100"),
    ({}, np.full((2, 4), -0.5), ValueError, "needs coordinates in"),
    ({}, np.zeros((2, 4), dtype=complex), TypeError, "X must contain real numbers"),
    ({"random_state": True}, np.zeros((2, 4)), TypeError,
     "random_state must be an int, a numpy.random.RandomState instance or None, got True "
     "of type bool"),
    ({"random_state": np.bool_(False)}, np.zeros((2, 4)), TypeError,
     r"random_state must be an int.*got (np\.)?False_? of type bool"),
])
def test_point_distortions_name_bad_input(kwargs, X, error, match):
    with pytest.raises(error, match=match):
        PointDistortions(**kwargs)(X, np.zeros(len(X), dtype=int))


def test_point_distortions_accept_no_rows_and_integer_input():
    X_aug, y_aug = PointDistortions(n_copies=3)(np.zeros((0, 6)), np.zeros(0, dtype=int))
    assert X_aug.shape == (0, 6)
    assert y_aug.shape == (0,)
    X_int = np.array([[0, 1, 1, 0, 1, 1]])
    X_aug, _ = PointDistortions(n_copies=1, max_rotation=0.0, max_shear=0.0)(
        X_int, np.array([5]))
    assert X_aug.dtype == np.float64
    np.testing.assert_array_equal(X_aug[1], X_int[0])


def test_point_distortions_check_labels():
    with pytest.raises(ValueError, match="one label per row"):
        PointDistortions()(np.zeros((3, 4)), np.zeros(2))
