"""galcolor.color ab quantization (Zhang et al. 2016) against hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from galcolor import GalcolorError, InputError
from galcolor.color import (
    DEFAULT_AB_STEP,
    DEFAULT_TEMPERATURE,
    SOFT_SIGMA_PER_STEP,
    AbGrid,
    ab_std_from_logits,
    annealed_mean,
    rebalance_weights,
    soft_encode,
)
from galcolor.models import default_galaxy_grid

# Distances and weights below are exact in float64 and come out of float32
# arithmetic on numbers of order 10 with relative error ~1e-7; 1e-5 absolute
# leaves a wide margin while still catching any formula change.
TOLERANCE = 1e-5


def pixel(a: float, b: float) -> torch.Tensor:
    """One ab pixel as a (1, 2, 1, 1) tensor."""
    return torch.tensor([a, b], dtype=torch.float32).reshape(1, 2, 1, 1)


def logits_of(values) -> torch.Tensor:
    """Logits of one pixel over len(values) bins, (1, K, 1, 1)."""
    return torch.tensor(values, dtype=torch.float32).reshape(1, -1, 1, 1)


@pytest.fixture
def square_grid() -> AbGrid:
    """The 3 x 3 bins around grey, 4 Lab units apart, uniform prior."""
    centers = [[a, b] for a in (-4.0, 0.0, 4.0) for b in (-4.0, 0.0, 4.0)]
    return AbGrid(centers, 4.0)


# -- AbGrid -----------------------------------------------------------------


def test_grid_from_samples_keeps_occupied_cells_with_their_counts():
    samples = np.array([
        [0.4, -1.9],   # cell (0, 0)
        [-1.0, 1.0],   # cell (0, 0)
        [1.9, 0.0],    # cell (0, 0): 1.9 / 4 rounds to 0
        [2.1, 0.0],    # cell (1, 0): 2.1 / 4 rounds to 1
        [-9.0, 13.0],  # cell (-2, 3)
        [np.nan, 0.0],  # ignored
    ])
    grid = AbGrid.from_samples(samples, step=4.0)
    assert grid.centers.tolist() == [[-8.0, 12.0], [0.0, 0.0], [4.0, 0.0]]
    assert grid.counts.tolist() == [1.0, 3.0, 1.0]
    assert grid.prior.tolist() == pytest.approx([0.2, 0.6, 0.2])
    assert grid.step == 4.0 and grid.num_bins == len(grid) == 3


def test_grid_from_samples_drops_rare_cells_and_cells_outside_the_range():
    samples = [[0.0, 0.0], [0.5, 0.5], [8.0, 8.0], [200.0, 0.0], [200.0, 0.0]]
    grid = AbGrid.from_samples(samples, step=4.0, min_count=2)
    assert grid.centers.tolist() == [[0.0, 0.0]]
    wide = AbGrid.from_samples(samples, step=4.0, min_count=2, ab_range=(-250, 250))
    assert wide.centers.tolist() == [[0.0, 0.0], [200.0, 0.0]]


def test_grid_from_samples_default_step_is_four_lab_units():
    assert DEFAULT_AB_STEP == 4.0
    assert AbGrid.from_samples([[1.0, 1.0]]).step == 4.0


@pytest.mark.parametrize("samples", [np.zeros((5, 3)), np.zeros(4)])
def test_grid_from_samples_rejects_wrong_shape_naming_it(samples):
    with pytest.raises(InputError, match=str(samples.shape).replace("(", r"\(").replace(")", r"\)")):
        AbGrid.from_samples(samples)


def test_grid_from_samples_with_nothing_left_is_an_error():
    with pytest.raises(InputError, match="no ab cell"):
        AbGrid.from_samples([[0.0, 0.0]], min_count=2)


def test_grid_dict_round_trip_is_json_and_exact(square_grid):
    grid = AbGrid(square_grid.centers, 4.0, counts=list(range(1, 10)))
    text = json.dumps(grid.to_dict())
    assert AbGrid.from_dict(json.loads(text)) == grid


def test_grid_rejects_bad_centers_and_counts():
    with pytest.raises(InputError, match=r"\(3,\)"):
        AbGrid([1.0, 2.0, 3.0], 4.0)
    with pytest.raises(InputError, match="counts"):
        AbGrid([[0.0, 0.0]], 4.0, counts=[-1.0])
    with pytest.raises(InputError, match="step"):
        AbGrid([[0.0, 0.0]], 0.0)


def test_quantize_returns_the_nearest_bin(square_grid):
    ab = torch.tensor([[[1.9, 2.1, -30.0]], [[-1.9, 3.0, 30.0]]]).reshape(1, 2, 1, 3)
    # (1.9, -1.9) -> (0, 0) = index 4; (2.1, 3.0) -> (4, 4) = index 8;
    # far outside, (-30, 30) -> the corner (-4, 4) = index 2.
    assert square_grid.quantize(ab).tolist() == [[[4, 8, 2]]]


def test_quantize_checks_the_shape_at_the_door(square_grid):
    with pytest.raises(InputError, match=r"\(B, 2, H, W\), got \(1, 3, 4, 4\)"):
        square_grid.quantize(torch.zeros(1, 3, 4, 4))


# -- soft encoding -----------------------------------------------------------


def test_soft_encoding_of_a_bin_centre_with_one_neighbour_is_one_hot(square_grid):
    target = soft_encode(pixel(4.0, -4.0), square_grid, k=1)
    expected = torch.zeros(9)
    expected[6] = 1.0
    assert target.shape == (1, 9, 1, 1)
    assert torch.equal(target.flatten(), expected)


def test_soft_encoding_weights_are_normalised_gaussians_of_the_distance(square_grid):
    # (1, 0.5): squared distances 1.25 to (0, 0), 9.25 to (4, 0), 13.25 to
    # (0, 4); the next ones are 21.25 and are left out with k = 3.
    target = soft_encode(pixel(1.0, 0.5), square_grid, k=3, sigma=5.0).flatten()
    ratio_40 = math.exp(-(9.25 - 1.25) / 50.0)   # 0.852143789
    ratio_04 = math.exp(-(13.25 - 1.25) / 50.0)  # 0.786627861
    nearest = 1.0 / (1.0 + ratio_40 + ratio_04)
    assert target[4].item() == pytest.approx(nearest, abs=TOLERANCE)
    assert target[7].item() == pytest.approx(nearest * ratio_40, abs=TOLERANCE)
    assert target[5].item() == pytest.approx(nearest * ratio_04, abs=TOLERANCE)
    assert int((target > 0).sum()) == 3
    assert target.sum().item() == pytest.approx(1.0, abs=TOLERANCE)


def test_soft_encoding_default_sigma_is_five_lab_units_on_the_four_unit_grid(square_grid):
    assert SOFT_SIGMA_PER_STEP * 4.0 == 5.0
    default = soft_encode(pixel(1.0, 0.5), square_grid, k=3)
    explicit = soft_encode(pixel(1.0, 0.5), square_grid, k=3, sigma=5.0)
    assert torch.equal(default, explicit)


def test_soft_encoding_far_outside_the_grid_stays_a_distribution(square_grid):
    # exp(-d^2 / 50) underflows to 0 for d ~ 700; the encoding must not become 0 / 0.
    target = soft_encode(pixel(500.0, -500.0), square_grid, k=5)
    assert torch.isfinite(target).all()
    assert target.sum().item() == pytest.approx(1.0, abs=TOLERANCE)
    assert target.flatten().argmax().item() == 6  # the (4, -4) corner


def test_soft_encoding_weights_sum_to_one_for_every_pixel():
    grid = default_galaxy_grid()
    ab = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(0)) * 30.0
    target = soft_encode(ab, grid)
    assert target.shape == (2, grid.num_bins, 8, 8)
    assert torch.allclose(target.sum(1), torch.ones(2, 8, 8), atol=TOLERANCE)
    assert int((target > 0).sum(1).max()) == 5


def test_nearest_bins_from_the_lookup_table_match_a_full_ranking():
    """The lattice shortcut must give the same k nearest distances as ranking all bins."""
    grid = default_galaxy_grid()
    generator = torch.Generator().manual_seed(1)
    # Typical galaxy colors, wide ones, and far outside the grid.
    ab = torch.cat([torch.randn(1, 2, 16, 16, generator=generator) * scale for scale in (10.0, 40.0, 150.0)])
    encoded = soft_encode(ab, grid, k=5, sigma=5.0)
    points = ab.permute(0, 2, 3, 1).reshape(-1, 2).double()
    squared = torch.cdist(points, grid.centers.double()) ** 2
    nearest = squared.topk(5, dim=1, largest=False).values
    weights = torch.exp(-(nearest - nearest[:, :1]) / 50.0)
    expected = (weights / weights.sum(1, keepdim=True)).sort(1).values
    got = encoded.permute(0, 2, 3, 1).reshape(-1, grid.num_bins).topk(5, dim=1).values.double().sort(1).values
    assert torch.allclose(got, expected, atol=1e-4)  # float32 distances of |ab| ~ 500


def test_non_finite_ab_is_refused(square_grid):
    with pytest.raises(InputError, match="NaN or infinite"):
        soft_encode(pixel(float("nan"), 0.0), square_grid)


def test_soft_encoding_checks_its_arguments(square_grid):
    with pytest.raises(InputError, match=r"got \(2, 2, 4\)"):
        soft_encode(torch.zeros(2, 2, 4), square_grid)
    with pytest.raises(InputError, match="k must be"):
        soft_encode(torch.zeros(1, 2, 1, 1), square_grid, k=0)
    with pytest.raises(InputError, match="sigma"):
        soft_encode(torch.zeros(1, 2, 1, 1), square_grid, sigma=0.0)


# -- class rebalancing -------------------------------------------------------


def test_rebalance_weights_of_a_three_bin_prior_by_hand():
    grid = AbGrid([[0.0, 0.0], [4.0, 0.0], [8.0, 0.0]], 4.0, counts=[5, 3, 2])
    # p = (1/2, 3/10, 1/5), lam = 1/2, K = 3: 1 / (p / 2 + 1/6) = (12/5, 60/19, 15/4);
    # E_p = 6/5 + 18/19 + 3/4 = 1101/380, so w = (912, 1200, 1425) / 1101.
    weights = rebalance_weights(grid, lam=0.5, smoothing_sigma=0.0)
    assert weights.tolist() == pytest.approx([912 / 1101, 1200 / 1101, 1425 / 1101], abs=TOLERANCE)
    assert float((grid.prior * weights).sum()) == pytest.approx(1.0, abs=TOLERANCE)


def test_rebalance_with_lambda_one_is_uniform_and_with_zero_inverts_the_prior():
    grid = AbGrid([[0.0, 0.0], [4.0, 0.0], [8.0, 0.0]], 4.0, counts=[5, 3, 2])
    assert rebalance_weights(grid, lam=1.0, smoothing_sigma=0.0).tolist() == pytest.approx([1, 1, 1])
    # w = (1/p) / K: every bin contributes p * w = 1/3 to the expectation.
    inverse = rebalance_weights(grid, lam=0.0, smoothing_sigma=0.0)
    assert inverse.tolist() == pytest.approx([2 / 3, 10 / 9, 5 / 3], abs=TOLERANCE)


def test_rebalance_smooths_the_prior_with_a_gaussian_over_bin_positions():
    grid = AbGrid([[0.0, 0.0], [4.0, 0.0]], 4.0, counts=[3, 1])
    # Bins 4 apart, sigma 4: kernel exp(-16 / 32) = e^-1/2 between them.
    g = math.exp(-0.5)
    smooth = [0.75 + 0.25 * g, 0.25 + 0.75 * g]
    smooth = [value / sum(smooth) for value in smooth]  # (0.56123, 0.43877)
    raw = [1.0 / (0.5 * p + 0.25) for p in smooth]
    norm = sum(p * w for p, w in zip(smooth, raw))
    weights = rebalance_weights(grid, lam=0.5, smoothing_sigma=4.0)
    assert weights.tolist() == pytest.approx([w / norm for w in raw], abs=TOLERANCE)


def test_rebalance_default_smoothing_is_zhangs_five_units_on_the_default_grid():
    grid = default_galaxy_grid()
    assert torch.equal(rebalance_weights(grid), rebalance_weights(grid, smoothing_sigma=5.0))


def test_rebalance_weighs_rare_colors_up():
    grid = default_galaxy_grid()
    weights = rebalance_weights(grid)
    common, rare = grid.prior.argmax(), grid.prior.argmin()
    assert weights[rare] > 2.0 * weights[common]
    # lam = 0.5 caps a weight at 1 / (lam / K) = 2K times the normaliser.
    assert weights.max() < 2 * grid.num_bins


def test_rebalance_rejects_a_lambda_outside_zero_one():
    with pytest.raises(InputError, match="lam"):
        rebalance_weights(AbGrid([[0.0, 0.0]], 4.0), lam=1.5)


# -- decoding ---------------------------------------------------------------


def test_annealed_mean_of_a_one_hot_distribution_is_the_bin_centre(square_grid):
    logits = torch.full((1, 9, 1, 1), -1e4)
    logits[0, 7] = 0.0
    assert annealed_mean(logits, square_grid).flatten().tolist() == [4.0, 0.0]


def test_annealed_mean_at_temperature_one_is_the_expectation():
    grid = AbGrid([[0.0, 0.0], [4.0, 8.0]], 4.0)
    # softmax(0, ln 3) = (1/4, 3/4): mean = 3/4 * (4, 8) = (3, 6).
    logits = logits_of([0.0, math.log(3.0)])
    assert annealed_mean(logits, grid, temperature=1.0).flatten().tolist() == pytest.approx([3.0, 6.0])


def test_annealing_sharpens_towards_the_mode():
    grid = AbGrid([[0.0, 0.0], [4.0, 8.0]], 4.0)
    logits = logits_of([0.0, math.log(3.0)])
    # T = 1/2 squares the odds: (1, 9) / 10, mean = 0.9 * (4, 8).
    assert annealed_mean(logits, grid, temperature=0.5).flatten().tolist() == pytest.approx([3.6, 7.2])
    # T -> 0: the mode. At T = 0.01 the odds are 3^100: indistinguishable.
    assert annealed_mean(logits, grid, temperature=0.01).flatten().tolist() == pytest.approx([4.0, 8.0])
    assert annealed_mean(logits, grid, temperature=0.0).flatten().tolist() == [4.0, 8.0]


def test_annealed_mean_equals_zhangs_formula_on_random_logits(square_grid):
    logits = torch.randn(2, 9, 3, 3, generator=torch.Generator().manual_seed(2))
    annealed = torch.softmax(torch.log_softmax(logits, 1) / DEFAULT_TEMPERATURE, 1)
    expected = torch.einsum("bkhw,kc->bchw", annealed, square_grid.centers)
    assert torch.allclose(annealed_mean(logits, square_grid), expected, atol=TOLERANCE)
    assert DEFAULT_TEMPERATURE == 0.38


def test_std_of_a_fifty_fifty_two_bin_distribution_is_half_the_distance():
    grid = AbGrid([[0.0, 0.0], [4.0, 8.0]], 4.0)
    std = ab_std_from_logits(torch.zeros(1, 2, 1, 1), grid)
    assert std.flatten().tolist() == pytest.approx([2.0, 4.0], abs=TOLERANCE)


def test_std_of_a_quarter_three_quarter_distribution():
    grid = AbGrid([[0.0, 0.0], [4.0, 8.0]], 4.0)
    # Bernoulli(3/4) scaled by the distance: sqrt(3/16) * (4, 8).
    std = ab_std_from_logits(logits_of([0.0, math.log(3.0)]), grid)
    assert std.flatten().tolist() == pytest.approx([math.sqrt(3) / 4 * 4, math.sqrt(3) / 4 * 8], abs=1e-4)


def test_std_of_a_one_hot_distribution_is_zero(square_grid):
    logits = torch.full((1, 9, 1, 1), -1e4)
    logits[0, 0] = 0.0
    # float32 E[c^2] - E[c]^2 at |c| ~ 6: cancellation error ~1e-5, sqrt ~3e-3.
    assert ab_std_from_logits(logits, square_grid).abs().max() < 1e-2


def test_decoding_checks_the_number_of_bins(square_grid):
    with pytest.raises(InputError, match=r"K = 9 bins .* got \(1, 4, 2, 2\)"):
        annealed_mean(torch.zeros(1, 4, 2, 2), square_grid)
    with pytest.raises(InputError, match=r"got \(1, 4, 2, 2\)"):
        ab_std_from_logits(torch.zeros(1, 4, 2, 2), square_grid)
    with pytest.raises(InputError, match="temperature"):
        annealed_mean(torch.zeros(1, 9, 2, 2), square_grid, temperature=-1.0)


def test_errors_are_galcolor_errors_and_value_errors(square_grid):
    with pytest.raises(GalcolorError):
        square_grid.quantize(torch.zeros(3, 4))
    with pytest.raises(ValueError):
        square_grid.quantize(torch.zeros(3, 4))


# -- the shipped galaxy grid ---------------------------------------------------


def test_default_galaxy_grid_reproduces_the_sdss_color_statistics():
    """DESIGN.md: galaxy chroma median ~12, 90th percentile ~29, ~17% with b* < 0."""
    grid = default_galaxy_grid()
    assert grid.num_bins == 614 and grid.step == 4.0
    prior = grid.prior.double()
    assert prior.sum().item() == pytest.approx(1.0, abs=1e-6)
    chroma = grid.centers.double().norm(dim=1)
    order = chroma.argsort()
    cumulative = prior[order].cumsum(0)

    def percentile(q):
        return chroma[order][int((cumulative >= q).nonzero()[0])].item()

    # Bin centres move chroma by up to half a diagonal (2.8 units).
    assert 9.0 <= percentile(0.5) <= 15.0
    assert 26.0 <= percentile(0.9) <= 32.0
    assert 0.14 <= prior[grid.centers[:, 1] < 0].sum().item() <= 0.20
    assert [0.0, 0.0] in grid.centers.tolist()


def test_chunked_decoding_equals_the_dense_formula(monkeypatch):
    import galcolor.color.quantize as color_module

    grid = default_galaxy_grid()
    torch.manual_seed(0)
    logits = torch.randn(2, grid.num_bins, 5, 7) * 3
    centers = grid.centers.float()

    def dense(temperature):
        probabilities = torch.softmax(logits / temperature, dim=1)
        mean = torch.einsum("bkhw,kc->bchw", probabilities, centers)
        second = torch.einsum("bkhw,kc->bchw", probabilities, centers * centers)
        return mean, (second - mean * mean).clamp_min(0).sqrt()

    # chunks of 4 pixels: 70 pixels, the last chunk partial; NCHW and channels_last inputs alike
    monkeypatch.setattr(color_module, "_DECODE_PIXELS", 4)
    for layout in (torch.contiguous_format, torch.channels_last):
        given = logits.contiguous(memory_format=layout)
        torch.testing.assert_close(annealed_mean(given, grid, 0.38), dense(0.38)[0], atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(ab_std_from_logits(given, grid), dense(1.0)[1], atol=1e-3, rtol=1e-4)
