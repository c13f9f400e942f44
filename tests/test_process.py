"""galcolor.process: one sequence from input to regions, failures recorded, the others go on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import galcolor
from galcolor.datasets import simulate
from galcolor.process import is_color_product, process
from galcolor.regions import RegionClassifier, RegionParameters

#: Scores every candidate 0.5: with min_score 0 every candidate is kept.
FLAT = {kind: RegionClassifier.uninformative(kind) for kind in ("predicted", "true", "lightness")}


@pytest.fixture(scope="module")
def galaxies():
    return simulate(2, size=64, seed=5)


@pytest.fixture(scope="module")
def colorizer(tiny_unet_module):
    return galcolor.Colorizer(tiny_unet_module, tta=False)


@pytest.fixture(scope="module")
def tiny_unet_module():
    from galcolor.models import get_model

    return get_model("unet", width=4, depth=2).eval()


def test_good_inputs_are_done_and_bad_ones_recorded_by_name(galaxies, colorizer, tmp_path):
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"")  # an empty file
    cutouts = [galaxy.to_cutout("r") for galaxy in galaxies]
    done = process([cutouts[0], broken, cutouts[1]], colorizer=colorizer, params=RegionParameters(min_score=0),
                   calibration=FLAT)
    assert [entry.ok for entry in done] == [True, False, True]
    assert str(broken) in done[1].message
    for entry in (done[0], done[2]):
        assert isinstance(entry.colorization, galcolor.Colorization)
        assert entry.regions is not None and entry.true_regions is None
        assert entry.regions.meta["parameters"]["min_score"] == 0


def test_a_blank_cutout_is_refused_alone_and_the_others_stay_one_batch(galaxies, tiny_unet_module):
    # A blank cutout used to fail its batch, so that every cutout of it was
    # colorized again one at a time.
    class Counting(galcolor.Colorizer):
        calls: list[int] = []

        def colorize_cutouts(self, cutouts):
            self.calls.append(len(cutouts))
            return super().colorize_cutouts(cutouts)

    counting = Counting(tiny_unet_module, tta=False)
    cutouts = [galaxy.to_cutout("r") for galaxy in galaxies]
    blank = galcolor.load(np.zeros((64, 64), np.float32))
    done = process([cutouts[0], blank, cutouts[1]], colorizer=counting, colorize_only=True)
    assert [entry.ok for entry in done] == [True, False, True]
    assert "blank" in done[1].message and "array input" in done[1].message
    assert counting.calls == [2]


def test_a_color_product_is_read_not_colorized_again(galaxies, colorizer, tmp_path):
    result = colorizer(galaxies[0].to_cutout("r"))
    product = result.to_fits(tmp_path / "product.fits")
    assert is_color_product(product) and not is_color_product(tmp_path / "notes.txt")
    [entry] = process([product], colorizer=None, params=RegionParameters(min_score=0), calibration=FLAT)
    assert entry.ok and np.allclose(entry.colorization.ab, result.ab, equal_nan=True)
    [true_color] = process([product], color="true")
    assert not true_color.ok and "no true color" in true_color.message


def test_both_colors_give_the_same_regions_as_the_finder_called_by_hand(galaxies, colorizer):
    cutout = galaxies[1].to_cutout("r")
    params = RegionParameters(min_score=0)
    [entry] = process([cutout], colorizer=colorizer, params=params, calibration=FLAT, color="both")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", galcolor.NoRegionsWarning)  # process says it with an empty table
        by_hand_true = galcolor.find_star_forming_regions(cutout, params, calibration=FLAT)
        by_hand = galcolor.find_star_forming_regions(colorizer(cutout), params, calibration=FLAT)
    assert len(entry.true_regions) == len(by_hand_true) and len(entry.regions) == len(by_hand)
    assert np.array_equal(np.asarray(entry.true_regions["score"]), np.asarray(by_hand_true["score"]))
    assert np.array_equal(np.asarray(entry.regions["x"]), np.asarray(by_hand["x"]))


def test_unknown_color_is_refused():
    with pytest.raises(galcolor.InputError, match="color must be one of"):
        process([], color="blue")


def test_strict_raises_the_first_failure_instead_of_recording_it(tmp_path):
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"")
    with pytest.raises(galcolor.GalcolorError, match="broken.fits"):
        process([broken], strict=True)
