"""Candidates from the light and the color, the boosted-tree score and the labelled candidate sets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.table import QTable, vstack

from galcolor import InputError
from galcolor.color import rgb_to_lab_numpy
from galcolor.evaluation.knots import label_injected
from galcolor.io import Cutout
from galcolor.regions import (
    NoRegionsWarning,
    RegionClassifier,
    RegionParameters,
    feature_names,
    find_star_forming_regions,
    fit_region_classifier,
    knot_features,
)


def _galaxy(knots: list[tuple[float, float, float]], size: int = 96, fwhm: float = 3.5,
            knot_rgb: tuple[float, float, float] = (0.6, 0.8, 1.3)) -> np.ndarray:
    """A reddish exponential disk with a bulge, plus Gaussian knots (x, y, peak) of color ``knot_rgb``."""
    y, x = np.mgrid[:size, :size].astype(np.float64)
    c = (size - 1) / 2.0
    r = np.hypot((x - c), (y - c) / 0.7)
    disk = 0.35 * np.exp(-r / 9.0) + 0.5 * np.exp(-(r / 2.5) ** 1.0)
    rgb = disk[..., None] * np.array([1.15, 1.0, 0.8])
    sigma = fwhm / 2.3548
    for kx, ky, peak in knots:
        blob = peak * np.exp(-((x - kx) ** 2 + (y - ky) ** 2) / (2 * sigma ** 2))
        rgb = rgb + blob[..., None] * np.array(knot_rgb)
    rng = np.random.default_rng(0)
    rgb = rgb + 0.004 * rng.normal(size=rgb.shape)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def _cutout(rgb: np.ndarray, with_color: bool = True) -> Cutout:
    lightness = rgb_to_lab_numpy(rgb)[..., 0]
    return Cutout(lightness=lightness, mask=np.zeros(lightness.shape, bool), source="test galaxy",
                  truth_rgb=rgb if with_color else None)


def _find(cutout: Cutout, kind: str, **options) -> QTable:
    options.setdefault("psf_fwhm", 3.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoRegionsWarning)
        return find_star_forming_regions(cutout, candidates="light+color", min_score=0.0,
                                         calibration=RegionClassifier.uninformative(kind), **options)


def _nearest(table: QTable, x: float, y: float) -> tuple[float, int]:
    distance = np.hypot(u.Quantity(table["x"]).value - x, u.Quantity(table["y"]).value - y)
    return float(distance.min()), int(np.argmin(distance))


def test_a_blue_knot_is_found_in_the_light_and_is_bluer_than_its_disk() -> None:
    table = _find(_cutout(_galaxy([(56.5, 47.5, 0.25)])), "true")
    distance, row = _nearest(table, 56.5, 47.5)
    assert distance < 1.5
    assert table["origin"][row] & 1  # a knot of light
    assert table["light_significance"][row] > 5
    assert table["blue_excess"][row] > 1.0  # bluer than the disk beneath
    assert 0.5 < table["size_psf"][row] < 2.0
    assert table.meta["evidence"] == "true"


def test_a_knot_beside_the_nucleus_is_its_own_candidate() -> None:
    # 1.3 PSF FWHM from the nucleus: a smoothed-galaxy contrast merges it with
    # the nucleus; the galaxy's 180-degree symmetric part does not contain it.
    x, y = 47.5 + 1.3 * 3.5, 47.5
    symmetric = _find(_cutout(_galaxy([(x, y, 0.2)])), "true")
    assert _nearest(symmetric, x, y)[0] < 1.5
    smooth = _find(_cutout(_galaxy([(x, y, 0.2)])), "true", galaxy_model="smooth")
    assert _nearest(smooth, x, y)[0] > _nearest(symmetric, x, y)[0]


def test_a_knot_brighter_than_the_nucleus_beside_it_is_not_taken_for_the_nucleus() -> None:
    # One PSF FWHM from the nucleus and brighter than it: the local maximum
    # nearest the galaxy's smoothed peak is the knot. Rotated about the knot,
    # the knot vanishes from the contrast and the nucleus stands out instead;
    # the disk is symmetric about the nucleus only.
    x, y = 47.5 + 3.5, 47.5
    for peak in (0.5, 1.0):
        table = _find(_cutout(_galaxy([(x, y, peak)])), "true")
        distance, row = _nearest(table, x, y)
        assert distance < 1.5
        significance = np.asarray(table["light_significance"], dtype=float)
        # the knot stands out of the contrast by far the most (rotated about
        # the knot, the nucleus did: 340 and 820 sigma against the knot's 22 and 68)
        assert significance[row] > 10 * np.delete(significance, row).max()


def test_the_centre_of_symmetry_is_found_to_a_fraction_of_a_pixel() -> None:
    from galcolor.regions.candidates import _asymmetry_centre

    rng = np.random.default_rng(3)
    for cy, cx in rng.uniform(20.0, 28.0, size=(5, 2)):
        y, x = np.mgrid[:48, :48].astype(np.float64)
        light = np.exp(-np.hypot(x - cx, (y - cy) / 0.6) / 4.0)
        light += 1.5 * np.exp(-((x - cx - 4.0) ** 2 + (y - cy) ** 2) / 4.0)  # a knot brighter than the nucleus
        found = _asymmetry_centre(light, np.ones(light.shape, bool), (int(round(cy)), int(round(cx + 3))),
                                  radius=5.0, window=14.0)
        assert np.hypot(found[0] - cy, found[1] - cx) < 0.5
    # a wide PSF (a frame scaled to a big galaxy; knot FWHM 10 px): ~600 centres over ~5,000 pixels, in blocks
    y, x = np.mgrid[:120, :120].astype(np.float64)
    cy, cx = 58.3, 61.6
    light = np.exp(-np.hypot(x - cx, (y - cy) / 0.6) / 14.0)
    light += 1.5 * np.exp(-((x - cx - 14) ** 2 + (y - cy) ** 2) / 40.0)
    found = _asymmetry_centre(light, np.ones(light.shape, bool), (60, 70), radius=12.0, window=40.0)
    assert np.hypot(found[0] - cy, found[1] - cx) < 1.0  # 0.1 of the knot's 10 px FWHM


def test_a_grey_cutout_is_searched_on_its_light_alone() -> None:
    table = _find(_cutout(_galaxy([(56.5, 47.5, 0.25)]), with_color=False), "lightness")
    assert table.meta["evidence"] == "lightness" and table.meta["color"] == "none"
    assert _nearest(table, 56.5, 47.5)[0] < 1.5
    assert np.isnan(np.asarray(table["blue_excess"], dtype=float)).all()
    with pytest.raises(InputError, match="evidence is lightness"):
        _find(_cutout(_galaxy([]), with_color=False), "true")


def test_color_evidence_false_scores_a_colored_image_on_its_light() -> None:
    table = _find(_cutout(_galaxy([(56.5, 47.5, 0.25)])), "lightness", color_evidence=False)
    assert table.meta["evidence"] == "lightness" and table.meta["color"] == "true"
    assert set(np.asarray(table["origin"]).tolist()) <= {1}  # no color candidates


def test_the_exported_trees_are_scikit_learns_and_survive_json() -> None:
    rng = np.random.default_rng(1)
    n = 900
    features = rng.normal(size=(n, len(feature_names("true"))))
    labels = features[:, 0] - 0.5 * features[:, 8] + 0.4 * rng.normal(size=n) > 0.3
    model = fit_region_classifier(features, labels, np.arange(n) // 3, kind="true", n_estimators=40)
    back = RegionClassifier.from_dict(model.to_dict())
    assert np.array_equal(back(features), model(features))
    scores = model(features)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.mean((scores >= 0.5) == labels) > 0.85
    with pytest.raises(InputError, match="both"):
        fit_region_classifier(features, np.ones(n, bool), np.arange(n), kind="true")
    with pytest.raises(InputError, match="scores"):
        RegionClassifier(kind="lightness", features=feature_names("true"), init=0.0, trees=(), iso_x=(), iso_y=())


def test_an_ensemble_is_the_mean_of_its_members_and_survives_json() -> None:
    rng = np.random.default_rng(2)
    n = 900
    features = rng.normal(size=(n, len(feature_names("lightness"))))
    labels = features[:, 0] + 0.6 * rng.normal(size=n) > 0.3
    groups = np.arange(n) // 3
    ensemble = fit_region_classifier(features, labels, groups, kind="lightness", n_estimators=30, members=3, seed=4)
    assert len(ensemble.members) == 3 and ensemble.provenance["seeds"] == [4, 5, 6]
    singles = [fit_region_classifier(features, labels, groups, kind="lightness", n_estimators=30, seed=seed)
               for seed in (4, 5, 6)]
    assert np.allclose(ensemble(features), np.mean([single(features) for single in singles], axis=0))
    assert not np.allclose(singles[0](features), singles[1](features))  # each member its own draw
    back = RegionClassifier.from_dict(ensemble.to_dict())
    assert back == ensemble and np.array_equal(back(features), ensemble(features))


def test_knot_features_follow_the_kind() -> None:
    table = _find(_cutout(_galaxy([(56.5, 47.5, 0.25)])), "true")
    assert knot_features(table, "true", 3.5).shape == (len(table), len(feature_names("true")))
    assert knot_features(table, "lightness", 3.5).shape == (len(table), len(feature_names("lightness")))
    assert np.isfinite(knot_features(table, "true", 3.5)).all()


def test_injected_labels_are_clump_negative_or_unknown() -> None:
    truth = QTable({"id": [1, 2], "kind": ["clump", "star"], "x": [10.0, 40.0] * u.pix, "y": [10.0, 40.0] * u.pix,
                    "fwhm": [4.0, 4.0] * u.pix, "flux_fraction_r": [0.05, 0.03], "delta_gr": [-0.5, 0.3],
                    "delta_ri": [-0.2, 0.1]})
    found = _find(_cutout(_galaxy([(56.5, 47.5, 0.25)])), "true")
    catalog = vstack([found[:1]] * 3)
    catalog["id"] = [4, 5, 6]
    catalog["x"] = [10.5, 40.0, 70.0] * u.pix
    catalog["y"] = [10.0, 41.0, 70.0] * u.pix
    candidates, matched = label_injected(7, truth, {"true": catalog})
    assert candidates["label"].tolist() == [1, 0, -1]
    assert matched["detection"].tolist() == [int(catalog["id"][0]), int(catalog["id"][1])]


def test_without_a_wcs_the_psf_is_measured_on_the_frames_stars() -> None:
    from galcolor.io.lupton import display_from_linear

    y, x = np.mgrid[:128, :128].astype(np.float64)
    sigma = 6.0 / 2.3548  # a 6-pixel PSF, not the 3.5 pixels of the default
    star = lambda cx, cy: np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2))  # noqa: E731
    galaxy = 0.3 * np.exp(-np.hypot(x - 63.5, (y - 63.5) / 0.6) / 8.0)
    linear = galaxy + 2.0 * star(20, 25) + 1.5 * star(105, 100) + 0.002 * np.random.default_rng(3).normal(size=x.shape)
    rgb = display_from_linear(np.clip(linear, 0, None)[..., None] * np.array([1.1, 1.0, 0.8])).astype(np.float32)
    table = _find_default_psf(_cutout(rgb))
    assert table.meta["psf_source"] == "stars"
    assert table.meta["parameters"]["psf_fwhm"] == pytest.approx(6.0, rel=0.15)


def _find_default_psf(cutout: Cutout) -> QTable:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoRegionsWarning)
        return find_star_forming_regions(cutout, min_score=0.0, calibration=RegionClassifier.uninformative("true"))


def test_features_of_stored_candidates_are_those_of_the_catalog() -> None:
    import pandas as pd

    from galcolor.evaluation.knots import CANDIDATE_COLUMNS, candidate_features

    tables = [(_find(_cutout(_galaxy([(56.5, 47.5, 0.25)])), "true"), 3.5),
              (_find(_cutout(_galaxy([(40.0, 50.0, 0.3)]), with_color=True), "true", psf_fwhm=4.0), 4.0)]
    frames = []
    for table, psf in tables:
        frame = pd.DataFrame({name: np.asarray(getattr(table[name], "value", table[name]), dtype=float)
                              for name in CANDIDATE_COLUMNS})
        frames.append(frame.assign(psf_fwhm=psf))
    stored = pd.concat(frames[::-1] + frames, ignore_index=True)  # interleaved PSFs keep their rows
    expected = np.concatenate([knot_features(t, "true", p) for t, p in tables[::-1] + tables])
    assert np.allclose(candidate_features(stored, "true"), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deblend_gives_what_photutils_gives_on_every_segment(seed: int) -> None:
    # blobs of random sizes, some touching, on noise: the skipped single-peak
    # segments would not have come apart in deblend_sources either
    from photutils.segmentation import deblend_sources, detect_sources

    from galcolor.regions.segments import deblend

    rng = np.random.default_rng(seed)
    rows, cols = np.indices((80, 80), dtype=np.float64)
    image = 0.01 * rng.normal(size=rows.shape)
    for _ in range(12):
        x, y, width, peak = rng.uniform(5, 75), rng.uniform(5, 75), rng.uniform(1.0, 4.0), rng.uniform(0.2, 1.0)
        image += peak * np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * width ** 2))
    segments = detect_sources(image, 0.05, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = deblend_sources(image, segments, 5, n_levels=32, contrast=0.001, progress_bar=False)
    found, split = deblend(image, segments, 5, n_levels=32, contrast=0.001)
    np.testing.assert_array_equal(found.data, expected.data)
    assert set(found.labels[split]) == set(expected.deblended_labels)


def test_knots_split_from_one_segment_of_light_are_flagged_deblended() -> None:
    from galcolor.catalog import RegionFlag

    # two knots 1.6 PSF FWHM apart share one segment of light; a third stands alone
    pair = [(56.5, 47.5 - 0.8 * 3.5, 0.25), (56.5, 47.5 + 0.8 * 3.5, 0.25)]
    table = _find(_cutout(_galaxy(pair + [(36.0, 47.5, 0.25)]), with_color=False), "lightness")
    rows = [_nearest(table, x, y)[1] for x, y, _ in pair]
    lone = _nearest(table, 36.0, 47.5)[1]
    assert len(set(rows)) == 2 and all(_nearest(table, x, y)[0] < 1.5 for x, y, _ in pair)
    assert all(table["flags"][row] & RegionFlag.DEBLENDED for row in rows)
    assert not table["flags"][lone] & RegionFlag.DEBLENDED


def test_knot_color_excess_is_positive_for_a_blue_knot_and_negative_for_a_red_one() -> None:
    from galcolor.evaluation.knot_color import knot_color_excess

    blue, red = (56.5, 47.5), (38.5, 47.5)
    rgb = _galaxy([(*blue, 0.2)], knot_rgb=(0.6, 0.8, 1.3))
    rgb = np.clip(rgb + _galaxy([(*red, 0.2)], knot_rgb=(1.3, 0.9, 0.5)) - _galaxy([]), 0.0, 1.0)
    excess = knot_color_excess(_cutout(rgb), [blue[0], red[0], 500.0], [blue[1], red[1], 47.5], 3.5)
    assert excess["b_excess"][0] > 5 and excess["b_excess"][1] < -5
    assert np.isnan(excess["b_excess"][2])  # off the image
    # the disk beneath leaves the known objects out: with them in, the excess shrinks
    diluted = knot_color_excess(_cutout(rgb), [blue[0]], [blue[1]], 3.5, exclude_radius=0.0)
    assert 0 < diluted["b_excess"][0] < excess["b_excess"][0]


def test_knot_light_excess_measures_the_light_of_a_knot_against_its_disk() -> None:
    from galcolor.evaluation.knot_color import knot_light_excess

    bright, faint = (56.5, 47.5), (38.5, 47.5)
    cutout = _cutout(_galaxy([(*bright, 0.4), (*faint, 0.05)]))
    before = cutout.lightness.copy()
    light = knot_light_excess(cutout, [bright[0], faint[0], 500.0], [bright[1], faint[1], 47.5], 3.5)
    assert light["l_excess"][0] > light["l_excess"][1] > 0
    np.testing.assert_allclose(light["l_excess"][:2], light["l_object"][:2] - light["l_disk"][:2])
    assert np.isnan(light["l_excess"][2])  # off the image
    height, width = cutout.lightness.shape
    expected = np.hypot(bright[0] - (width - 1) / 2, bright[1] - (height - 1) / 2) / 3.5
    assert light["centre_distance_psf"][0] == pytest.approx(expected)
    np.testing.assert_array_equal(cutout.lightness, before)
    empty = knot_light_excess(cutout, [], [], 3.5)
    assert all(len(value) == 0 for value in empty.values())


def test_excess_agreement_measures_slope_and_correlation_over_finite_pairs() -> None:
    from galcolor.evaluation.knot_color import excess_agreement

    rng = np.random.default_rng(0)
    true = rng.normal(0, 5, 400)
    stats = excess_agreement(np.append(true, np.nan), np.append(0.5 * true + rng.normal(0, 1, 400), 3.0))
    assert stats["n"] == 400 and abs(stats["slope"] - 0.5) < 0.05 and stats["correlation"] > 0.9
    disk_colored = excess_agreement(true, np.full(400, -2.0))  # every knot painted its disk's color
    assert disk_colored["slope"] == 0 and np.isnan(disk_colored["correlation"]) and disk_colored["bluer_too"] == 0
    assert disk_colored["predicted_bluer"] == 0 and stats["predicted_bluer"] == pytest.approx(0.5, abs=0.1)
    assert np.isnan(excess_agreement([1.0, 2.0], [1.0, 2.0])["slope"])


def test_candidates_closer_than_the_merge_radius_are_one_knot() -> None:
    # At the PSF's resolution candidates closer than merge_radius (1.5 FWHM by
    # default, the benchmark's blend) are one knot: the highest-scoring stays.
    galaxy = _cutout(_galaxy([(60.5, 47.5, 0.25), (47.5, 62.5, 0.25)]))
    both = _find(galaxy, "true")
    assert len(both) >= 2 and both.meta["parameters"]["merge_radius"] == 1.5
    one = _find(galaxy, "true", merge_radius=30.0)  # every candidate within 30 FWHM of the best
    assert len(one) == 1
    with pytest.raises(InputError, match="merge_radius"):
        RegionParameters(merge_radius=-1.0)


def test_the_benchmark_merges_scored_candidates_and_matches_them_again() -> None:
    import pandas as pd

    from galcolor.evaluation.knots import merge_duplicates

    # one clump found twice (the weaker copy on it), and a star
    candidates = pd.DataFrame({"image": 0, "kind": "true", "definition": "new", "id": [1, 2, 3],
                               "x": [10.0, 11.0, 30.0], "y": [10.0, 10.0, 30.0], "score": [0.6, 0.9, 0.7],
                               "psf_fwhm": 3.0, "label": [1, 0, 0], "matched_kind": ["clump", "", "star"]})
    truth = pd.DataFrame({"image": 0, "kind_of_evidence": "true", "definition": "new", "x": [10.5, 30.0],
                          "y": [10.0, 30.0], "kind": ["clump", "star"], "positive": [True, False],
                          "catalog": [True, False], "detection": [1, 3]})
    kept, matched = merge_duplicates(candidates, truth)
    assert kept["id"].tolist() == [2, 3]  # the higher-scoring copy stays ...
    assert kept["label"].tolist() == [1, 0] and kept["matched_kind"].tolist() == ["clump", "star"]
    assert matched["detection"].tolist() == [2, 3]  # ... and is now the clump's detection
    kept, _ = merge_duplicates(candidates, truth, merge_radius=0.0)
    assert len(kept) == 3


def _graded_galaxy(knot: tuple[float, float], knot_rgb: tuple[float, float, float] | None,
                   size: int = 96, fwhm: float = 3.5) -> np.ndarray:
    """A point-symmetric galaxy red at its centre and bluer outwards, with one knot.

    ``knot_rgb`` None: the knot has the color of the galaxy where it sits (a
    bump of light, not of color).
    """
    y, x = np.mgrid[:size, :size].astype(np.float64)
    c = (size - 1) / 2.0
    r = np.hypot(x - c, (y - c) / 0.7)
    light = 0.35 * np.exp(-r / 9.0) + 0.5 * np.exp(-r / 2.5)
    red_share = np.exp(-r / 5.0)[..., None]
    color = red_share * np.array([1.3, 1.0, 0.6]) + (1 - red_share) * np.array([0.9, 1.0, 1.1])
    sigma = fwhm / 2.3548
    blob = 0.25 * np.exp(-((x - knot[0]) ** 2 + (y - knot[1]) ** 2) / (2 * sigma ** 2))
    rgb = light[..., None] * color + blob[..., None] * (color if knot_rgb is None else np.array(knot_rgb))
    rgb = rgb + 0.004 * np.random.default_rng(0).normal(size=rgb.shape)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def test_a_knot_is_measured_against_the_color_at_its_point_symmetric_counterpart() -> None:
    # 1.5 PSF FWHM from a red nucleus, on a disk that grows bluer outwards. The
    # disk color beneath (a broad average, knots left out) is bluer than the
    # galaxy at that radius, so a knot of the local color seems red against it;
    # against its counterpart across the centre it is neither.
    knot = (47.5 + 1.5 * 3.5, 47.5)
    plain = _find(_cutout(_graded_galaxy(knot, None)), "true")
    distance, row = _nearest(plain, *knot)
    assert distance < 1.5
    assert plain["blue_excess"][row] < -1.0
    assert abs(plain["mirror_blue_excess"][row]) < 0.5 * abs(plain["blue_excess"][row])
    blue = _find(_cutout(_graded_galaxy(knot, (0.6, 0.8, 1.3))), "true")
    distance, row = _nearest(blue, *knot)
    assert distance < 1.5 and blue["mirror_blue_excess"][row] > 3.0
    # without a symmetric model there is no counterpart: the disk color stands in
    smooth = _find(_cutout(_graded_galaxy(knot, None)), "true", galaxy_model="smooth")
    distance, row = _nearest(smooth, *knot)
    assert smooth["mirror_blue_excess"][row] == smooth["blue_excess"][row]


def _armed_galaxy(knot: tuple[float, float]) -> np.ndarray:
    """A reddish disk with a one-sided arm (y = 57.5, x = 50 to 70) and a blue knot on it, the arm's only peak."""
    size, sigma = 96, 3.5 / 2.3548
    y, x = np.mgrid[:size, :size].astype(np.float64)
    r = np.hypot(x - 47.5, y - 47.5)
    light = 0.3 * np.exp(-r / 14.0) + 0.4 * np.exp(-r / 2.5)
    along = np.clip(x, 50.0, 70.0)  # the ridge runs at constant height
    arm = 0.06 * np.exp(-((x - along) ** 2 + (y - 57.5) ** 2) / (2 * sigma ** 2))
    blob = 0.1 * np.exp(-((x - knot[0]) ** 2 + (y - knot[1]) ** 2) / (2 * sigma ** 2))
    rgb = (light + arm)[..., None] * np.array([1.15, 1.0, 0.8]) + blob[..., None] * np.array([0.6, 0.8, 1.3])
    rgb = rgb + 0.003 * np.random.default_rng(0).normal(size=rgb.shape)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def test_a_knot_on_an_arm_is_measured_in_its_core_not_along_the_arm() -> None:
    # The knot is the arm's only peak, so no threshold splits it from the
    # arm: the segment of light is the whole arm. Measured over the segment,
    # the candidate sits mid-arm with the arm's color; in its core, 1 PSF
    # FWHM around the peak, it is the knot, and its shape is still the arm's.
    knot = (62.0, 57.5)
    cored = _find(_cutout(_armed_galaxy(knot)), "true")
    distance, row = _nearest(cored, *knot)
    assert distance < 1.0
    whole = _find(_cutout(_armed_galaxy(knot)), "true", core_radius=0.0)
    far, whole_row = _nearest(whole, *knot)
    assert far > 3.0
    # the shape of the light is the segment's either way: the knot sits on an arm
    area = u.Quantity(cored["area"][row]).value
    assert area == u.Quantity(whole["area"][whole_row]).value > 2 * np.pi * 3.5 ** 2
    assert cored["size_psf"][row] == whole["size_psf"][whole_row]
    # the arm's color dilutes the knot's: 1.5 b* units bluer than the disk against 2.8 in the core
    assert cored["blue_excess"][row] > 1.5 * whole["blue_excess"][whole_row] > 0


def test_a_segment_splits_at_peaks_that_rise_above_the_noise_only() -> None:
    from photutils.segmentation import SegmentationImage

    from galcolor.regions.candidates import _split_knots

    y, x = np.mgrid[:40, :60].astype(np.float64)
    sigma = 3.0
    # two knots 3 sigma apart: the contrast dips by a third between them
    contrast = sum(np.exp(-((x - x0) ** 2 + (y - 20.0) ** 2) / (2 * sigma ** 2)) for x0 in (25.5, 34.5))
    segments = SegmentationImage((contrast > 0.2).astype(np.int32))
    assert segments.n_labels == 1
    pieces, split = _split_knots(segments, contrast, np.full(contrast.shape, 0.01), 3.0, 5)
    assert pieces.n_labels == 2 and split == {1, 2}
    assert {int(pieces.data[20, 25]), int(pieces.data[20, 35])} == {1, 2}
    # a dip of a third is not 3 noise when the noise is 0.15: one knot
    same, none = _split_knots(segments, contrast, np.full(contrast.shape, 0.15), 3.0, 5)
    assert same.n_labels == 1 and none == set()
