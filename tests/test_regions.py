"""Star-forming regions, galcolor 0.1's color-excess method (``candidates="color"``): detection on known
images, rejection of red knots, schema, scores. The light-and-color default is tested in test_knots.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.table import QTable
from astropy.wcs import WCS

import galcolor
from galcolor.evaluation import completeness_purity, label_candidates, match_regions
from galcolor.color.lab import lab_to_rgb_numpy
from galcolor.io.cutout import Cutout
from galcolor.regions import (
    RegionClassifier,
    SCORE_FEATURES,
    NoRegionsWarning,
    RegionParameters,
    ScoreCalibration,
    fit_score_calibration,
    load_score_calibration,
    psf_fwhm_pixels,
    score_features,
)
from galcolor.catalog import REGION_COLUMNS, RegionFlag
from galcolor.regions import find_star_forming_regions as _find_star_forming_regions


def find_star_forming_regions(data, params=None, **options):
    """The color-excess method this module tests (unless the parameters say otherwise)."""
    if params is None and "candidates" not in options:
        options["candidates"] = "color"
    return _find_star_forming_regions(data, params, **options)

SIZE = 96
#: Blue knots (x, y): bluer than the disk by 25 b* units, 8 pixels apart or more.
BLUE_KNOTS = ((40.0, 50.0), (58.0, 42.0), (52.0, 62.0))
#: Red knot and a bright red "star": brighter than the disk but redder.
RED_KNOTS = ((36.0, 36.0), (62.0, 58.0))
#: The test galaxies' colors stand for the shipped default model's predictions,
#: so the default model's region calibration scores them.
DEFAULT_WEIGHTS = galcolor.models.load_bundle("default").weights_sha256
#: Scores every candidate 0.5 (min_score=0 tests look at detection alone).
FLAT = ScoreCalibration.uninformative("predicted")


def _blob(x0: float, y0: float, sigma: float, shape: tuple[int, int] = (SIZE, SIZE)) -> np.ndarray:
    y, x = np.mgrid[:shape[0], :shape[1]]
    return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma ** 2))


def knotty_galaxy(wcs: WCS | None = None, ab_std: float = 1.5) -> galcolor.Colorization:
    """An exponential disk (b* = +8) with three blue knots and two red ones."""
    y, x = np.mgrid[:SIZE, :SIZE]
    radius = np.hypot(x - (SIZE - 1) / 2, y - (SIZE - 1) / 2)
    lightness = 75.0 * np.exp(-radius / 14.0)
    b = np.where(lightness > 2, 8.0, 0.0)
    a = np.where(lightness > 2, 2.0, 0.0)
    for x0, y0 in BLUE_KNOTS:
        lightness = lightness + 15.0 * _blob(x0, y0, 1.8)
        b = b - 25.0 * _blob(x0, y0, 1.8)
    for x0, y0 in RED_KNOTS:
        lightness = lightness + 25.0 * _blob(x0, y0, 1.5)
        b = b + 25.0 * _blob(x0, y0, 1.5)
        a = a + 15.0 * _blob(x0, y0, 1.5)
    lightness = np.clip(lightness, 0, 100).astype(np.float32)
    ab = np.stack([a, b], axis=-1).astype(np.float32)
    return galcolor.Colorization(lightness=lightness, ab=ab, ab_std=np.full_like(ab, ab_std),
                                 mask=np.zeros((SIZE, SIZE), bool), wcs=wcs, source="knotty test galaxy",
                                 meta={"model": "test", "weights_sha256": DEFAULT_WEIGHTS})


def tan_wcs() -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.1, 2.2]
    wcs.wcs.crpix = [48.5, 48.5]
    wcs.wcs.cd = [[-0.396 / 3600, 0.0], [0.0, 0.396 / 3600]]
    return wcs


def test_blue_knots_are_found_where_they_are() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    found = np.stack([u.Quantity(table["x"]).value, u.Quantity(table["y"]).value], axis=1)
    for knot in BLUE_KNOTS:
        distance = np.hypot(*(found - np.asarray(knot)).T)
        # The significance-weighted centroid of a symmetric knot on a smooth
        # disk is within a pixel of its centre; the disk gradient pulls less.
        assert distance.min() < 1.0, f"blue knot at {knot} not found: {found}"


def test_red_knots_and_stars_are_not_regions() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    found = np.stack([u.Quantity(table["x"]).value, u.Quantity(table["y"]).value], axis=1)
    assert len(table) == len(BLUE_KNOTS)
    for knot in RED_KNOTS:
        assert np.hypot(*(found - np.asarray(knot)).T).min() > 5.0


def test_measured_colors_and_excess_are_those_of_the_knots() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    # The knots reach b* = 8 - 25 = -17 at the centre; the segment mean is
    # bluer than the disk (+8) but not as blue as the peak.
    assert np.all(np.asarray(table["b_mean"]) < 0)
    assert np.all(np.asarray(table["blue_excess"]) > 5)
    # ab_std = 1.5 everywhere, and the excess of ~20 is many of those.
    assert np.all(np.asarray(table["significance"]) > 5)
    assert np.allclose(np.asarray(table["b_err"]), 1.5, atol=1e-6)
    assert np.all(np.asarray(table["galaxy_id"]) == 1)
    assert np.all((np.asarray(table["flux_fraction"]) > 0) & (np.asarray(table["flux_fraction"]) < 0.2))


def test_default_calibration_scores_clear_knots_as_likely() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, psf_fwhm=3.5)
    assert len(table) == len(BLUE_KNOTS)
    assert np.all((np.asarray(table["score"]) >= 0) & (np.asarray(table["score"]) <= 1))


def test_catalog_has_the_schema_and_provenance() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    assert table.colnames == [column.name for column in REGION_COLUMNS]
    for column in REGION_COLUMNS:
        if column.unit is not None:
            assert table[column.name].unit == column.unit
    assert table.meta["source"] == "knotty test galaxy"
    assert table.meta["color"] == "predicted"
    assert table.meta["model"] == "test"
    assert table.meta["weights_sha256"] == DEFAULT_WEIGHTS
    assert table.meta["galcolor_version"] == galcolor.__version__
    assert table.meta["parameters"]["psf_fwhm"] == 3.5
    assert "date" in table.meta


def test_ra_dec_come_from_the_wcs() -> None:
    wcs = tan_wcs()
    table = find_star_forming_regions(knotty_galaxy(wcs=wcs), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    sky = wcs.pixel_to_world(u.Quantity(table["x"]).value, u.Quantity(table["y"]).value)
    # Same transform, so agreement to float precision (1e-9 deg = 4 micro-arcsec).
    assert np.allclose(u.Quantity(table["ra"]).to_value(u.deg), sky.ra.deg, atol=1e-9)
    assert np.allclose(u.Quantity(table["dec"]).to_value(u.deg), sky.dec.deg, atol=1e-9)


def test_no_wcs_gives_nan_sky_positions() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    assert np.all(np.isnan(u.Quantity(table["ra"]).value))


def test_constant_image_gives_empty_table_with_full_schema_and_warning() -> None:
    flat = galcolor.Colorization(lightness=np.full((32, 32), 40, np.float32), ab=np.zeros((32, 32, 2), np.float32),
                                 ab_std=np.ones((32, 32, 2), np.float32), mask=np.zeros((32, 32), bool))
    with pytest.warns(NoRegionsWarning, match="empty or constant"):
        table = find_star_forming_regions(flat)
    assert len(table) == 0
    assert table.colnames == [column.name for column in REGION_COLUMNS]


def test_galaxy_without_blue_knots_gives_empty_table() -> None:
    galaxy = knotty_galaxy()
    galaxy.ab[..., 1] = np.where(galaxy.lightness > 2, 8.0, 0.0)
    with pytest.warns(NoRegionsWarning):
        table = find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.5)
    assert len(table) == 0


def bulge_disk_galaxy(axis_ratio: float = 0.35) -> galcolor.Colorization:
    """A round red bulge (b* = +22) in an inclined bluer exponential disk (b* = +4); no knots."""
    y, x = np.mgrid[:SIZE, :SIZE].astype(np.float64)
    centre = (SIZE - 1) / 2
    disk = np.exp(-np.hypot(x - centre, (y - centre) / axis_ratio) / 10.0)
    bulge = 1.5 * np.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * 3.5 ** 2))
    total = disk + bulge
    lightness = 116.0 * np.cbrt(0.6 * total / total.max()) - 16.0
    inside = lightness > 2
    b = np.where(inside, (4.0 * disk + 22.0 * bulge) / total, 0.0)  # colors mix in proportion to light
    a = np.where(inside, (1.0 * disk + 8.0 * bulge) / total, 0.0)
    ab = np.stack([a, b], axis=-1).astype(np.float32)
    return galcolor.Colorization(lightness=np.clip(lightness, 0, 100).astype(np.float32), ab=ab,
                                 ab_std=np.full_like(ab, 1.0), mask=np.zeros((SIZE, SIZE), bool),
                                 source="bulge and disk test galaxy", meta={"model": "test", "weights_sha256": DEFAULT_WEIGHTS})


def test_a_round_bulge_in_an_inclined_disk_makes_no_regions() -> None:
    # Along the major axis the disk beside a round red bulge is bluer than the
    # median of its elliptical annulus (which the bulge reddens along the
    # minor axis): one profile for all angles calls it a pair of blue clumps.
    with pytest.warns(NoRegionsWarning):
        table = find_star_forming_regions(bulge_disk_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.0)
    assert len(table) == 0
    single = find_star_forming_regions(bulge_disk_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.0,
                                       profile_sectors=1)  # the all-angle profile alone
    assert len(single) >= 2
    assert np.all(np.abs(u.Quantity(single["y"]).value - (SIZE - 1) / 2) < 2.0)  # on the major axis


def test_knots_at_mirror_places_are_both_found() -> None:
    # Bulge and disk colors are modelled over the galaxy folded about its
    # axes: two blue knots mirrored on the major axis must not be each
    # other's background there.
    galaxy = bulge_disk_galaxy()
    centre = (SIZE - 1) / 2
    knots = ((centre - 14.0, centre), (centre + 14.0, centre))
    for x0, y0 in knots:
        knot = _blob(x0, y0, 1.5)
        galaxy.lightness[:] = np.clip(galaxy.lightness + 25.0 * knot, 0, 100)
        galaxy.ab[..., 1] -= 14.0 * knot
    table = find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.0)
    found = np.stack([u.Quantity(table["x"]).value, u.Quantity(table["y"]).value], axis=1)
    for knot in knots:
        assert np.hypot(*(found - knot).T).min() < 2.0
    # Without the knots kept out of the disk fit (none is brighter than
    # the light profile, so none is left out), the pair is its own disk.
    with pytest.warns(NoRegionsWarning):
        find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.0, knot_light_ratio=1e9)


def test_a_red_neighbour_touching_the_galaxy_is_split_off() -> None:
    galaxy = knotty_galaxy()
    x0, y0 = 68.0, 68.0  # a bright red star/galaxy on the outer disk
    star = _blob(x0, y0, 3.0)
    galaxy.lightness[:] = np.clip(galaxy.lightness + 60.0 * star, 0, 100)
    galaxy.ab[..., 1] += 30.0 * star
    table, maps = find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.5, return_maps=True)
    assert not maps.galaxy_mask[int(y0), int(x0)]
    assert maps.galaxy_mask[48, 48] and maps.galaxy_mask[50, 40]  # the disk and its knots stay
    assert len(table) == len(BLUE_KNOTS)
    unsplit = RegionParameters(min_score=0, psf_fwhm=3.5, split_neighbors=False, candidates="color")
    _, merged = find_star_forming_regions(galaxy, unsplit, calibration=FLAT, return_maps=True)
    assert merged.galaxy_mask[int(y0), int(x0)]


def test_a_bright_white_star_touching_a_faint_galaxy_is_split_off() -> None:
    # A star bluer than the galaxy is not split off for its color; it is
    # for its light: no star-forming clump has 40 % of its galaxy's light.
    y, x = np.mgrid[:SIZE, :SIZE]
    centre = (SIZE - 1) / 2
    disk = 30.0 * np.exp(-np.hypot(x - centre, y - centre) / 4.5)
    x0, y0 = centre + 11, centre + 3
    star = _blob(x0, y0, 1.5)
    lightness = np.clip(disk + 90.0 * star, 0, 100).astype(np.float32)
    inside = disk > 2
    ab = np.stack([np.where(inside, 3.0, 0.0) * (1 - star), np.where(inside, 12.0, 0.0) * (1 - star)],
                  axis=-1).astype(np.float32)
    galaxy = galcolor.Colorization(lightness=lightness, ab=ab, ab_std=np.full_like(ab, 1.0),
                                   mask=np.zeros((SIZE, SIZE), bool), source="faint galaxy and white star",
                                   meta={"model": "test", "weights_sha256": DEFAULT_WEIGHTS})
    with pytest.warns(NoRegionsWarning):
        table, maps = find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.5,
                                                return_maps=True)
    assert len(table) == 0
    assert maps.galaxy_mask[int(centre), int(centre)] and not maps.galaxy_mask[int(y0), int(x0)]
    table, merged = find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.5,
                                              neighbor_flux_ratio=np.inf,  # color alone decides
                                              return_maps=True)
    assert merged.galaxy_mask[int(y0), int(x0)]
    assert len(table) == 1 and abs(u.Quantity(table["x"][0]).value - x0) < 2.5  # the star as a "clump"


def _with_true_color(galaxy: galcolor.Colorization) -> Cutout:
    """The same L, a*, b* as a composite's true color (a Cutout with truth_rgb)."""
    lab = np.concatenate([galaxy.lightness[..., None], galaxy.ab], axis=-1).astype(np.float32)
    return Cutout(lightness=galaxy.lightness.copy(), mask=galaxy.mask.copy(), source=galaxy.source,
                  truth_rgb=lab_to_rgb_numpy(lab))


def test_only_a_measured_color_splits_a_red_neighbour_off() -> None:
    # The colorizer paints a compact source by its shape (a bright blue clump
    # like a bulge or a star), so its predicted color must not cut the
    # galaxy's footprint: bright clumps painted red were split off as red
    # neighbours. The true color does; the light alone uses no color at all.
    galaxy = knotty_galaxy()
    x0, y0 = 68.0, 68.0  # a bright red source on the outer disk
    star = _blob(x0, y0, 3.0)
    galaxy.lightness[:] = np.clip(galaxy.lightness + 60.0 * star, 0, 100)
    galaxy.ab[..., 1] += 30.0 * star
    masks = {}
    for name, data, options in (("true", _with_true_color(galaxy), {}), ("predicted", galaxy, {}),
                                ("lightness", galaxy, {"color_evidence": False})):
        _, maps = _find_star_forming_regions(data, min_score=0, calibration=RegionClassifier.uninformative(name),
                                            psf_fwhm=3.5, return_maps=True, **options)
        masks[name] = maps.galaxy_mask
        assert maps.galaxy_mask[48, 48] and maps.galaxy_mask[50, 40]  # the disk and its knots stay
    assert not masks["true"][int(y0), int(x0)]
    assert masks["predicted"][int(y0), int(x0)] and masks["lightness"][int(y0), int(x0)]
    # the light alone: the same footprint whatever the color planes hold
    galaxy.ab[..., 1] -= 60.0 * star  # now a blue source
    _, maps = _find_star_forming_regions(galaxy, min_score=0, psf_fwhm=3.5, return_maps=True, color_evidence=False,
                                        calibration=RegionClassifier.uninformative("lightness"))
    assert np.array_equal(maps.galaxy_mask, masks["lightness"])


def test_a_bright_star_is_split_off_a_grey_galaxy_by_its_light() -> None:
    # Without any color the light still splits a neighbour off: no clump holds 40 % of its galaxy's light.
    y, x = np.mgrid[:SIZE, :SIZE]
    centre = (SIZE - 1) / 2
    disk = 30.0 * np.exp(-np.hypot(x - centre, y - centre) / 4.5)
    x0, y0 = centre + 11, centre + 3
    lightness = np.clip(disk + 90.0 * _blob(x0, y0, 1.5), 0, 100).astype(np.float32)
    grey = Cutout(lightness=lightness, mask=np.zeros(lightness.shape, bool), source="grey galaxy and star")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoRegionsWarning)
        _, maps = _find_star_forming_regions(grey, min_score=0, psf_fwhm=3.5, return_maps=True,
                                            calibration=RegionClassifier.uninformative("lightness"))
    assert maps.galaxy_mask[int(centre), int(centre)] and not maps.galaxy_mask[int(y0), int(x0)]


def test_masked_pixels_never_make_regions_and_are_flagged() -> None:
    galaxy = knotty_galaxy()
    x0, y0 = BLUE_KNOTS[0]
    galaxy.mask[int(y0) - 1:int(y0) + 2, int(x0) + 3:int(x0) + 5] = True
    table = find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.5)
    nearest = np.argmin(np.hypot(u.Quantity(table["x"]).value - x0, u.Quantity(table["y"]).value - y0))
    assert table["flags"][nearest] & RegionFlag.MASKED


def test_input_is_not_modified() -> None:
    galaxy = knotty_galaxy()
    before = (galaxy.lightness.copy(), galaxy.ab.copy(), galaxy.ab_std.copy(), galaxy.mask.copy())
    find_star_forming_regions(galaxy, min_score=0, calibration=FLAT, psf_fwhm=3.5)
    for old, new in zip(before, (galaxy.lightness, galaxy.ab, galaxy.ab_std, galaxy.mask)):
        assert np.array_equal(old, new)


def test_cutout_without_color_is_refused_with_its_name() -> None:
    cutout = galcolor.load(np.full((32, 32), 100, np.uint8))
    with pytest.raises(galcolor.InputError, match="array input.*colorize it first"):
        find_star_forming_regions(cutout)


@pytest.mark.parametrize("option, value", [("galaxies", "some"), ("min_area", 0), ("min_score", 1.5)])
def test_bad_options_are_refused(option: str, value) -> None:
    with pytest.raises(galcolor.InputError, match=option):
        find_star_forming_regions(knotty_galaxy(), **{option: value})


def test_true_color_of_a_simulated_galaxy_runs_and_matches_truth() -> None:
    from galcolor.datasets import simulate

    # One clump with 11 % of the galaxy's g light, 1.8 PSF FWHM from the centre.
    galaxy = simulate(1, size=96, seed=8, max_clumps=4, star_rate=0.0)[0]
    table = find_star_forming_regions(galaxy.to_cutout("r"), min_score=0, calibration=FLAT)
    assert table.meta["color"] == "true"
    correct, truth_match, kinds = label_candidates(table, galaxy.truth)
    assert correct.shape == (len(table),) and truth_match.shape == (len(galaxy.truth),)
    assert set(kinds) <= {"", "clump", "star", "companion", "neighbour"}
    clump = np.flatnonzero(np.asarray(galaxy.truth["kind"]) == "clump")
    assert truth_match[clump[0]] >= 0 and correct.sum() == 1
    assert np.isfinite(u.Quantity(table["ra"]).value).all()


def test_simulation_harness_gives_each_true_object_its_distance_to_the_nearest_other_clump() -> None:
    from galcolor.evaluation import evaluate_on_simulation, resolve_blends
    from galcolor.datasets import simulate

    galaxy = simulate(1, size=96, seed=25)[0]  # clumps, a neighbour and stars
    candidates, truth = evaluate_on_simulation([galaxy], colors=("true",), progress=False, min_score=0,
                                               calibration=FLAT, candidates="color")
    psf = float(truth["psf_fwhm"].iloc[0])
    blends = resolve_blends(galaxy.truth, psf)
    x, y = u.Quantity(blends["x"]).value, u.Quantity(blends["y"]).value
    clumps = np.flatnonzero(np.asarray(blends["kind"]) == "clump")
    assert len(truth) == len(blends) and len(clumps) >= 3 and len(blends) > len(clumps)
    for row in range(len(blends)):
        others = [k for k in clumps if k != row]
        expected = np.hypot(x[others] - x[row], y[others] - y[row]).min() / psf
        assert truth["nearest_clump_psf"].iloc[row] == pytest.approx(expected)
    assert (truth["nearest_clump_psf"] >= 1.0).all()  # closer clumps are one blend (BLEND_LINK)


def test_psf_fwhm_from_header_and_defaults() -> None:
    wcs = tan_wcs()
    header = wcs.to_header()
    header["SEEING"] = 1.98
    assert psf_fwhm_pixels(header) == pytest.approx(5.0, rel=1e-3)
    assert psf_fwhm_pixels(None) == pytest.approx(1.4 / 0.396)


def test_matching_is_one_to_one_and_closest_first() -> None:
    detected, truth = match_regions([0.0, 0.4, 9.0], [0.0, 0.0, 0.0], [0.5, 8.0], [0.0, 0.0], radius=2.0)
    assert detected.tolist() == [-1, 0, 1]
    assert truth.tolist() == [1, 2]
    assert completeness_purity(0, 0, 0, 0)[0] != completeness_purity(0, 0, 0, 0)[0]  # NaN


def test_calibration_fit_is_monotonic_in_a_separating_feature_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, len(SCORE_FEATURES)))
    labels = features[:, 0] > 0
    model = fit_score_calibration(features, labels, color="true")
    probe = np.zeros((3, len(SCORE_FEATURES)))
    probe[:, 0] = [-2.0, 0.0, 2.0]
    scores = model(probe)
    assert scores[0] < 0.1 < scores[1] < 0.9 < scores[2]
    assert ScoreCalibration.from_dict(model.to_dict()) == model
    with pytest.raises(galcolor.InputError, match="both"):
        fit_score_calibration(features, np.ones(500, bool), color="true")


def test_shipped_calibrations_load_and_record_their_provenance() -> None:
    for color in ("predicted", "true"):
        calibration = load_score_calibration(color)
        assert calibration.color == color
        assert calibration.provenance["script"] == "pipelines/calibrate_regions.py"
        assert calibration.provenance["n_galaxies"] >= 100


def test_score_features_read_the_psf_from_the_catalog() -> None:
    table = find_star_forming_regions(knotty_galaxy(), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    assert score_features(table).shape == (len(table), len(SCORE_FEATURES))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(score_features(table)).all()


# ------------------------------------------------------------------ CLI and demo


def test_cli_regions_reads_color_products_and_records_failures(tmp_path, capsys) -> None:
    from galcolor.catalog import read
    from galcolor.cli import main

    product = knotty_galaxy(wcs=tan_wcs()).to_fits(tmp_path / "knotty_galcolor.fits")
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    target = tmp_path / "regions.parquet"
    status = main(["regions", str(product), str(broken), "-o", str(target), "--min-score", "0", "--quiet",
                   "--candidates", "color"])
    assert status == 1  # one input failed ...
    captured = capsys.readouterr()
    assert "broken.fits" in captured.err
    catalog = read(target)  # ... and the catalog of the others was still written
    assert len(catalog) == len(BLUE_KNOTS)
    assert set(catalog["source"]) == {"knotty test galaxy"}
    assert catalog["id"].tolist() == list(range(1, len(catalog) + 1))
    assert catalog.meta["failures"][0]["source"] == str(broken)
    assert catalog.meta["model"] == "test"
    # an existing catalog is not replaced without --overwrite
    assert main(["regions", str(product), "-o", str(target), "--quiet"]) == 1


def test_cli_regions_true_color_of_an_rgb_image(tmp_path) -> None:
    from PIL import Image

    from galcolor.catalog import read
    from galcolor.cli import main
    from galcolor.datasets import simulate

    galaxy = simulate(1, size=96, seed=5, max_clumps=4, star_rate=0.0)[0]
    path = tmp_path / "galaxy.png"
    Image.fromarray((np.clip(galaxy.rgb, 0, 1) * 255).round().astype(np.uint8)).save(path)
    target = tmp_path / "regions.ecsv"
    assert main(["regions", str(path), "-o", str(target), "--true-color", "--min-score", "0", "--quiet"]) == 0
    assert read(target).meta["color"] == "true"


def test_demo_writes_the_region_catalog_and_overlay(tmp_path) -> None:
    import json

    from galcolor.catalog import read
    from galcolor.demo import run_demo

    summary = run_demo(tmp_path, n=2, size=64, tta=False, progress=False)
    catalog = read(tmp_path / "regions.ecsv")
    assert summary["n_regions"] == len(catalog)
    assert (tmp_path / "regions.png").stat().st_size > 0
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert all("n_regions" in record and "n_true_clumps" in record for record in saved["galaxies"])
    # the same finder on the simulated true color, written beside it for comparison
    reference = read(tmp_path / "regions_true_color.ecsv")
    assert reference.meta["color"] == "true"
    assert summary["n_regions_true_color"] == len(reference) == \
        sum(record["n_regions_true_color"] for record in saved["galaxies"])


def test_calibrated_uncertainty_changes_the_errors_not_the_detections() -> None:
    """The calibrated part of ab_std is the error of the galaxy's overall color: it cancels in
    a blue excess, so detections and significances are those of the spread alone."""
    from galcolor.datasets import simulate

    # A galaxy whose predicted color has two candidate regions.
    cutout = simulate(1, size=96, seed=29, max_clumps=4, star_rate=0)[0].to_cutout("r")
    calibrated = find_star_forming_regions(galcolor.Colorizer(tta=True)(cutout), min_score=0)
    spread = find_star_forming_regions(galcolor.Colorizer(tta=True, uncertainty="spread")(cutout), min_score=0)
    assert len(calibrated) == len(spread) > 0
    # the quadrature round trip costs float32 rounding only
    assert np.allclose(np.asarray(calibrated["significance"]), np.asarray(spread["significance"]), rtol=1e-3)
    assert np.all(np.asarray(calibrated["b_err"]) > np.asarray(spread["b_err"]))


def gradient_galaxy(knots: tuple[tuple[float, float], ...] = (), centres: tuple[tuple[float, float], ...] = (),
                    shape: tuple[int, int] = (SIZE, SIZE)) -> galcolor.Colorization:
    """Red bulges on bluer exponential disks: b* falls from +20 to +4 within 3 PSF FWHM."""
    y, x = np.mgrid[:shape[0], :shape[1]]
    lightness = np.zeros(shape)
    b = np.zeros(shape)
    for cx, cy in centres or (((shape[1] - 1) / 2, (shape[0] - 1) / 2),):
        radius = np.hypot(x - cx, y - cy)
        disk = 70.0 * np.exp(-radius / 12.0) + 25.0 * np.exp(-radius / 2.0)
        b = np.where(disk > lightness, 4.0 + 16.0 * np.exp(-radius / 4.0), b)
        lightness = np.maximum(lightness, disk)
    b = np.where(lightness > 2, b, 0.0)
    for x0, y0 in knots:
        blob = _blob(x0, y0, 1.8, shape)
        lightness = lightness + 15.0 * blob
        b = b - 20.0 * blob
    ab = np.stack([np.zeros_like(b), b], axis=-1).astype(np.float32)
    return galcolor.Colorization(lightness=np.clip(lightness, 0, 100).astype(np.float32), ab=ab,
                                 ab_std=np.full_like(ab, 1.0), mask=np.zeros(shape, bool),
                                 source="gradient test galaxy", meta={"model": "test"})


def test_disk_with_a_red_bulge_is_not_bluer_than_itself() -> None:
    # A simulated Sbc galaxy (true color) with a red bulge on a compact
    # disk: a plain Gaussian disk model let the bulge redden the disk color
    # around it, and 93 % of the galaxy looked significantly bluer than its
    # disk (one region covering it); the elliptical color profile follows
    # the gradient and leaves the excess to the clumps.
    from galcolor.evaluation import resolve_blends
    from galcolor.datasets import simulate

    galaxy = simulate(2, size=128, seed=404)[1]
    table, maps = find_star_forming_regions(galaxy.to_cutout("r"), min_score=0, return_maps=True)
    inside = maps.significance[maps.galaxy_mask]
    assert np.mean(inside > 2.5) < 0.3
    correct, _, _ = label_candidates(table, resolve_blends(galaxy.truth, maps.psf_fwhm))
    assert correct.sum() >= 1


def test_knots_on_a_color_gradient_are_found_alone() -> None:
    knots = ((36.0, 47.5), (60.0, 60.0))
    table = find_star_forming_regions(gradient_galaxy(knots), min_score=0, calibration=FLAT, psf_fwhm=3.5)
    found = np.stack([u.Quantity(table["x"]).value, u.Quantity(table["y"]).value], axis=1)
    assert len(table) == len(knots)
    for knot in knots:
        assert np.hypot(*(found - np.asarray(knot)).T).min() < 1.5


def _two_knots_found(separation: float, psf: float = 3.5) -> QTable:
    """Regions of two knots ``separation`` PSF FWHM apart; asserts one region on each."""
    knots = ((58.0, 62.0), (58.0 + separation * psf, 62.0))
    table = find_star_forming_regions(gradient_galaxy(knots), min_score=0, calibration=FLAT, psf_fwhm=psf)
    found = np.stack([u.Quantity(table["x"]).value, u.Quantity(table["y"]).value], axis=1)
    assert len(table) == 2, found
    for knot in knots:
        assert np.hypot(*(found - np.asarray(knot)).T).min() < 1.5, found
    return table


def test_knots_one_and_a_half_psf_apart_are_two_regions() -> None:
    # Knots 1.5 PSF FWHM apart overlap into one blue segment; split on the
    # PSF-smoothed lightness contrast they stayed one region (between them),
    # split on the unsmoothed contrast they are two.
    _two_knots_found(1.5)


def test_knots_1_3_psf_apart_are_split_at_their_peaks() -> None:
    # 1.3 PSF FWHM apart the two knots dip by a few per cent between them:
    # deblending leaves one region, the peak split makes two, each on a knot.
    table = _two_knots_found(1.3)
    assert all(int(flags) & RegionFlag.DEBLENDED for flags in table["flags"])
    knots = ((58.0, 62.0), (58.0 + 1.3 * 3.5, 62.0))
    merged = find_star_forming_regions(gradient_galaxy(knots), min_score=0, calibration=FLAT, psf_fwhm=3.5,
                                       split_peaks=False)
    assert len(merged) == 1


def test_resolve_blends_merges_clumps_closer_than_the_psf() -> None:
    from astropy.table import QTable

    from galcolor.evaluation import resolve_blends

    truth = QTable({
        "id": [1, 2, 3, 4, 5],
        "kind": ["clump", "clump", "clump", "star", "clump"],
        "x": [10.0, 12.5, 15.0, 11.0, 40.0] * u.pix,
        "y": [20.0, 20.0, 20.0, 20.0, 20.0] * u.pix,
        "flux_g": [1.0, 3.0, 1.0, 9.0, 2.0] * u.nanomaggy,
        "flux_fraction_g": [0.01, 0.03, 0.01, 0.09, 0.02],
    })
    blended = resolve_blends(truth, psf_fwhm=3.0)
    # 10-12.5 and 12.5-15 are linked (a chain), 40 is alone, the star stays a star.
    assert list(blended["kind"]) == ["clump", "clump", "star"]
    assert list(blended["n_members"]) == [3, 1, 1]
    assert list(blended["id"]) == [2, 5, 4]  # the brightest member's id
    assert u.Quantity(blended["x"][0]).value == pytest.approx((10 * 1 + 12.5 * 3 + 15 * 1) / 5)
    assert blended["flux_fraction_g"][0] == pytest.approx(0.05)
    assert u.Quantity(blended["flux_g"][0]).value == pytest.approx(5.0)
    # link=0 leaves every clump on its own; the input is not modified
    assert len(resolve_blends(truth, psf_fwhm=3.0, link=0.0)) == len(truth)
    assert "n_members" not in truth.colnames


def test_every_galaxy_of_a_wide_frame_gets_its_own_color_profile() -> None:
    centres = ((40.0, 48.0), (130.0, 48.0))
    knots = ((28.0, 48.0), (142.0, 48.0), (130.0, 62.0))
    table = find_star_forming_regions(gradient_galaxy(knots, centres, shape=(96, 170)), galaxies="all",
                                      min_score=0, calibration=FLAT, psf_fwhm=3.5)
    found = np.stack([u.Quantity(table["x"]).value, u.Quantity(table["y"]).value], axis=1)
    assert len(table) == len(knots)
    for knot in knots:
        assert np.hypot(*(found - np.asarray(knot)).T).min() < 1.5
    # galaxy 1 is the one nearest the frame centre (x = 84.5): the left one, with one knot
    assert sorted(np.asarray(table["galaxy_id"]).tolist()) == [1, 2, 2]


def test_weights_without_a_calibration_score_0_5_and_say_so_instead_of_borrowing_one() -> None:
    from galcolor.regions import UncalibratedScoreWarning

    galaxy = knotty_galaxy()
    galaxy.meta["weights_sha256"] = "0" * 64  # a user's own training: no shipped bundle holds it
    with pytest.warns(UncalibratedScoreWarning, match="0000000000000000"):
        table = find_star_forming_regions(galaxy, min_score=0, psf_fwhm=3.5)
    assert len(table) == len(BLUE_KNOTS)
    assert np.all(np.asarray(table["score"]) == 0.5)
    assert table.meta["calibration"] == "none"
    shipped = find_star_forming_regions(knotty_galaxy(), min_score=0, psf_fwhm=3.5)
    assert shipped.meta["calibration"] == "default"


def test_a_catalog_is_made_again_from_its_own_metadata(tmp_path) -> None:
    galaxy = knotty_galaxy()
    params = RegionParameters(min_score=0.0, min_significance=2.0, profile_sectors=2)
    table = find_star_forming_regions(galaxy, params)
    path = tmp_path / "regions.ecsv"
    galcolor.catalog.write(table, path)
    written = galcolor.catalog.read(path)
    rebuilt = RegionParameters.from_meta(written.meta)
    assert rebuilt == params.replace(psf_fwhm=table.meta["parameters"]["psf_fwhm"])
    again = find_star_forming_regions(galaxy, rebuilt)
    assert len(again) == len(table) > 0
    for name in table.colnames:
        assert np.array_equal(np.asarray(again[name]), np.asarray(table[name]), equal_nan=name in ("ra", "dec")), name
