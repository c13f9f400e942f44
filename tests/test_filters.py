"""galcolor._filters: the fast 3 x 3 median gives scipy's values exactly."""

import numpy as np
import pytest
from scipy import ndimage

from galcolor._filters import median3x3
from galcolor.exceptions import InputError


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "wrap"])
def test_median3x3_equals_scipy(mode):
    rng = np.random.default_rng(11)
    for trial in range(200):
        shape = tuple(rng.integers(1, 9, 2)) if trial % 2 else tuple(rng.integers(3, 40, 2))
        if trial % 3 == 0:  # many ties
            image = rng.integers(0, 4, shape).astype(np.float64)
        else:
            image = rng.normal(size=shape)
        if trial % 5 == 0:
            image[rng.random(shape) < 0.1] = np.inf
        if trial % 7 == 0:
            image[rng.random(shape) < 0.1] = -np.inf
        if trial % 4 == 0:
            image = image.astype(np.float32)
        ours, theirs = median3x3(image, mode=mode), ndimage.median_filter(image, size=3, mode=mode)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_median3x3_removes_a_hot_pixel_and_keeps_edges():
    sky = np.full((6, 6), 5.0)
    hot = sky.copy()
    hot[2, 3] = 1e6
    filtered = median3x3(hot, mode="nearest")
    np.testing.assert_array_equal(filtered, sky)
    assert not np.shares_memory(filtered, hot) and hot[2, 3] == 1e6  # the input is not modified
    ramp = np.arange(36, dtype=float).reshape(6, 6)  # inside the frame, a linear ramp is its own median
    np.testing.assert_array_equal(median3x3(ramp, mode="nearest")[1:-1, 1:-1], ramp[1:-1, 1:-1])


def test_median3x3_refuses_what_it_cannot_filter():
    with pytest.raises(InputError, match="2-D"):
        median3x3(np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="mode"):
        median3x3(np.zeros((4, 4)), mode="constant")
    assert median3x3(np.zeros((0, 5))).shape == (0, 5)
