"""Inputs unlike the training images (galcolor.novelty): properties, score, widening and warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import galcolor
from galcolor.exceptions import InputError
from galcolor.novelty import FEATURES, NoveltyReference, NoveltyWarning, fit_novelty_reference, input_features


def galaxy(noise=0.5, radius=6.0, seed=0, size=96):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    return (
        80 * np.exp(-np.hypot(x - size / 2, y - size / 2) / radius) + rng.normal(0, noise, (size, size)) + 3
    )


def test_features_follow_noise_sharpness_light_and_scale():
    quiet, noisy = input_features(galaxy(noise=0.5), scale=1.0), input_features(galaxy(noise=4.0), scale=1.0)
    assert set(FEATURES) <= set(quiet)
    # white noise of sigma s leaves ~s in L - median3x3(L): within 30 % of the sigma given
    assert quiet["sky_noise"] == pytest.approx(0.5, rel=0.3) and noisy["sky_noise"] == pytest.approx(
        4.0, rel=0.3
    )
    compact, extended = input_features(galaxy(radius=2.0), scale=1.0), input_features(
        galaxy(radius=12.0), scale=1.0
    )
    assert compact["sharpness"] > extended["sharpness"]
    assert compact["galaxy_fraction"] < extended["galaxy_fraction"]
    assert input_features(galaxy(), scale=0.1)["log_scale"] == pytest.approx(-1.0)
    with pytest.raises(InputError, match=r"\(H, W\)"):
        input_features(np.zeros((2, 3, 4)), scale=1.0)


def test_novelty_is_the_distance_outside_the_training_range_in_iqr_units():
    rng = np.random.default_rng(0)
    rows = [
        input_features(galaxy(noise=rng.uniform(0.5, 1.5), radius=rng.uniform(5, 8), seed=k), scale=1.0)
        for k in range(60)
    ]
    reference = fit_novelty_reference(rows, weights_sha256="0" * 64, widening=0.5)
    inside, _ = reference.score(rows[0])
    assert inside == 0.0 and reference.factor(0.0) == 1.0
    noisy = dict(rows[0], sky_noise=reference.high["sky_noise"] + 3 * reference.spread["sky_noise"])
    novelty, feature = reference.score(noisy)
    assert feature == "sky_noise" and novelty == pytest.approx(3.0)
    assert reference.factor(novelty) == pytest.approx(1 + 0.5 * 3.0)
    assert "sky_noise" in reference.describe(noisy)
    assert "log_scale" not in reference.low  # recorded by input_features, not scored
    assert NoveltyReference.from_dict(reference.to_dict()) == reference
    with pytest.raises(InputError, match="novelty reference"):
        NoveltyReference.from_dict({"low": {}})
    with pytest.raises(InputError, match="at least 20"):
        fit_novelty_reference(rows[:5], weights_sha256="0" * 64)


def test_colorizer_widens_and_warns_once_for_novel_inputs():
    colorizer = galcolor.Colorizer(tta=False, progress=False)
    assert colorizer.novelty is not None  # the default bundle ships its reference
    rng = np.random.default_rng(5)
    odd = rng.uniform(0, 1, (96, 96))  # a frame of noise: nothing like a Galaxy Zoo galaxy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = colorizer(odd), colorizer(odd)
    novel = [w for w in caught if issubclass(w.category, NoveltyWarning)]
    assert len(novel) == 1 and first.meta["novelty"] > 0 and first.meta["novelty_feature"] in FEATURES
    plain = galcolor.Colorizer(tta=False, progress=False)
    plain.novelty = None
    reference = colorizer.novelty
    assert np.allclose(first.ab_std, plain(odd).ab_std * reference.factor(first.meta["novelty"]), rtol=1e-5)
    assert second.meta["novelty"] == first.meta["novelty"]
    # a style carries its own calibration: no widening
    assert galcolor.Colorizer(tta=False, style="decals", progress=False).novelty is None
