"""Calibrated color uncertainty: the per-lightness residual table and its use by the Colorizer."""

from __future__ import annotations

import numpy as np
import pytest

import galcolor
from galcolor.exceptions import InputError
from galcolor.models import bundle_for_weights, load_bundle
from galcolor.uncertainty import COVERAGE, ResidualTable, fit_residual_table


def load_residual_table(weights_sha256: str) -> ResidualTable | None:
    bundle = bundle_for_weights(weights_sha256)
    return None if bundle is None else bundle.residual_table()


def _heavy_tailed_errors(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Student-t (3 dof) errors whose scale grows with L: heavier tails than a Gaussian."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(0, 100, n)
    errors = rng.standard_t(3, size=(n, 2)) * (0.5 + lightness[:, None] / 20)
    return lightness, errors


def test_fitted_table_covers_68_percent_in_every_bin_of_new_data():
    lightness, errors = _heavy_tailed_errors(200_000, seed=0)
    table = fit_residual_table([(lightness, np.zeros_like(errors), errors)], weights_sha256="0" * 64,
                               bin_width=10)
    # fresh draws: the calibration must hold out of sample, bin by bin (a
    # regression network's own spread is small next to its error: none here)
    lightness, errors = _heavy_tailed_errors(200_000, seed=1)
    combined = table.combine(lightness, np.zeros_like(errors))
    inside = np.sum((errors / combined) ** 2, axis=1) <= -2 * np.log(1 - COVERAGE)
    bins = np.clip((lightness // 10).astype(int), 0, 9)
    for k in range(10):
        # ~20,000 pixels per bin: binomial standard error 0.0033; 0.015 is > 4 of them
        assert inside[bins == k].mean() == pytest.approx(COVERAGE, abs=0.015), k


def test_sparse_bins_borrow_their_neighbours_sigma():
    rng = np.random.default_rng(2)
    lightness = np.concatenate([rng.uniform(0, 10, 5000), rng.uniform(90, 100, 5000)])
    errors = rng.normal(0, 1, (10_000, 2))
    table = fit_residual_table([(lightness, np.zeros_like(errors), errors)],
                               weights_sha256="0" * 64, bin_width=10)
    assert np.isfinite(np.asarray(table.sigma)).all()
    with pytest.raises(InputError, match="fewer than 200"):
        fit_residual_table([(lightness[:50], np.zeros((50, 2)), errors[:50])],
                           weights_sha256="0" * 64)


def test_equal_width_bins_are_indexed_as_a_search_would():
    from galcolor.uncertainty import _bin_index

    edges = np.arange(0.0, 101.0, 5.0)
    lightness = np.concatenate([np.arange(0.0, 150.0, 5.0), [-5.0, np.nan, np.inf, -np.inf, 4.999, 99.99],
                                np.random.default_rng(1).random(1000) * 100])
    search = np.clip(np.searchsorted(edges, lightness, side="right") - 1, 0, len(edges) - 2)
    for values in (lightness, lightness.astype(np.float32), lightness.reshape(-1, 2)):
        expected = search.reshape(values.shape)
        assert np.array_equal(_bin_index(edges, values), expected)
    assert _bin_index(edges, 37.5).shape == () and int(_bin_index(edges, 37.5)) == 7
    uneven = np.array([0.0, 1.0, 3.0])  # not equal-width: the search itself
    assert list(_bin_index(uneven, np.array([0.5, 2.0, 5.0, -1.0]))) == [0, 1, 1, 0]
    table = ResidualTable("0" * 64, tuple(edges), tuple((float(k), 2.0 * k) for k in range(20)))
    std = np.ones((3, 4, 2), dtype=np.float32)
    combined = table.combine(np.full((3, 4), 12.0, dtype=np.float32), std)
    assert combined.dtype == np.float32 and np.allclose(combined, np.sqrt(1 + np.array([2.0, 4.0]) ** 2))


def test_table_round_trips_and_checks_its_shape():
    table = ResidualTable("a" * 64, (0.0, 50.0, 100.0), ((1.0, 2.0), (3.0, 4.0)), {"images": 3})
    assert ResidualTable.from_dict(table.to_dict()) == table
    with pytest.raises(InputError, match="len"):
        ResidualTable("a" * 64, (0.0, 100.0), ((1.0, 2.0), (3.0, 4.0)))


def test_the_default_model_ships_a_table_fitted_on_training_galaxies():
    table = load_residual_table(load_bundle("default").weights_sha256)
    assert table is not None
    assert table.provenance["folder"] == "sdss-gz/train"
    assert table.provenance["images"] >= 100
    # brighter galaxy pixels carry more color, so more color error, than the sky
    sigma = np.asarray(table.sigma)
    assert sigma[-4:].mean() > sigma[0].mean()


def test_colorizer_adds_the_table_to_the_spread_and_records_it():
    cutout = galcolor.load(galcolor.io.example_hdulist())
    calibrated = galcolor.Colorizer(tta=False)(cutout)
    spread = galcolor.Colorizer(tta=False, uncertainty="spread")(cutout)
    assert calibrated.meta["uncertainty"] == "calibrated" and spread.meta["uncertainty"] == "spread"
    assert np.array_equal(calibrated.ab, spread.ab)
    table = load_residual_table(calibrated.meta["weights_sha256"])
    expected = table.combine(cutout.lightness, spread.ab_std)
    valid = ~cutout.mask
    assert np.allclose(calibrated.ab_std[valid], expected[valid], rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match="uncertainty"):
        galcolor.Colorizer(uncertainty="guess")
