"""galcolor.color: sRGB <-> CIELAB must agree with scikit-image on the whole gamut."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import color as skcolor

from galcolor import InputError
from galcolor.color import (
    LabToRgb,
    RgbToLab,
    delta_e2000_ab,
    gray_to_lightness,
    lab_to_rgb,
    lab_to_rgb_numpy,
    rgb_lightness,
    rgb_to_lab,
    rgb_to_lab_numpy,
)

# The tolerance: 1e-3 Lab units against skimage, 1e-4 for round trips.
LAB_TOLERANCE = 1e-3
ROUND_TRIP_TOLERANCE = 1e-4


def srgb_cube(steps: int = 33) -> np.ndarray:
    """Every color of a steps^3 grid over the sRGB cube, corners included, as (N, 1, 3)."""
    levels = np.linspace(0.0, 1.0, steps)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    return grid.reshape(-1, 1, 3)


def to_torch(image_hw3: np.ndarray, dtype=torch.float64) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(image_hw3, -1, 0))).to(dtype)[None]


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return np.moveaxis(tensor[0].double().numpy(), 0, -1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rgb_to_lab_matches_skimage_over_the_whole_srgb_cube(dtype):
    rgb = srgb_cube()
    expected = skcolor.rgb2lab(rgb)
    got = to_numpy(rgb_to_lab(to_torch(rgb, dtype)))
    assert np.abs(got - expected).max() <= LAB_TOLERANCE


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_lab_to_rgb_matches_skimage_inside_the_gamut(dtype):
    lab = skcolor.rgb2lab(srgb_cube())
    expected = skcolor.lab2rgb(lab)
    got = to_numpy(lab_to_rgb(to_torch(lab, dtype)))
    # 1e-4 in [0, 1] sRGB units is 0.026 of an 8-bit level.
    assert np.abs(got - expected).max() <= ROUND_TRIP_TOLERANCE


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_round_trip_rgb_lab_rgb_is_lossless_inside_the_gamut(dtype):
    rgb = to_torch(srgb_cube(), dtype)
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max().item() <= ROUND_TRIP_TOLERANCE


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3)),
              elements=st.floats(0.0, 1.0)))
def test_random_images_match_skimage(image):
    expected = skcolor.rgb2lab(image)
    assert np.abs(rgb_to_lab_numpy(image) - expected).max() <= LAB_TOLERANCE
    assert np.abs(lab_to_rgb_numpy(expected) - image).max() <= ROUND_TRIP_TOLERANCE


def test_known_colors():
    # Textbook D65 values (Lindbloom). The 6-digit sRGB matrix shared with
    # scikit-image maps white to a* = -0.002, b* = 0.005 rather than exactly 0
    # (its first row sums to 0.950456, not 0.95047), hence 1e-2.
    rgb = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T.reshape(1, 3, 3, 1)
    lab = rgb_to_lab(rgb)[0, :, :, 0].T
    expected = torch.tensor([[100.0, 0.0, 0.0], [53.2408, 80.0925, 67.2032], [32.2970, 79.1875, -107.8602]])
    assert torch.allclose(lab, expected, atol=1e-2)


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 4, 4), (2, 2, 3, 3, 3)])
def test_any_leading_dimensions_are_accepted(shape):
    rgb = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    flat = rgb.reshape(-1, 3, shape[-2], shape[-1])
    assert torch.equal(lab.reshape(flat.shape), rgb_to_lab(flat))


def test_cache_blocked_cpu_path_equals_single_pass():
    # Big enough (2 x 300 x 500 > 2^18 pixels per image) to go through blocks;
    # the autograd path converts in one pass. They must agree to float32 noise.
    rgb = torch.rand(2, 3, 300, 500, generator=torch.Generator().manual_seed(1))
    blocked = rgb_to_lab(rgb)
    single = rgb_to_lab(rgb.clone().requires_grad_(True)).detach()
    assert torch.allclose(blocked, single, atol=1e-5)
    assert torch.allclose(lab_to_rgb(blocked), lab_to_rgb(blocked.clone().requires_grad_(True)).detach(),
                          atol=1e-6)


def test_gradients_flow_through_both_directions():
    rgb = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    rgb.requires_grad_(True)
    lab_to_rgb(rgb_to_lab(rgb), clip=False).sum().backward()
    assert rgb.grad is not None and torch.isfinite(rgb.grad).all()
    # The round trip is the identity, so its Jacobian-vector product is ones.
    assert torch.allclose(rgb.grad, torch.ones_like(rgb), atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_output_dtype_and_device_follow_the_input(dtype):
    rgb = torch.rand(1, 3, 4, 4).to(dtype)
    lab = rgb_to_lab(rgb)
    assert lab.dtype == dtype and lab.device == rgb.device
    assert lab_to_rgb(lab).dtype == dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_cpu_result():
    rgb = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    on_gpu = rgb_to_lab(rgb.cuda())
    assert on_gpu.is_cuda
    assert torch.allclose(on_gpu.cpu(), rgb_to_lab(rgb), atol=1e-4)


@pytest.mark.parametrize("shape", [(3,), (4, 4), (1, 4, 4, 4), (2, 1, 4, 4)])
def test_wrong_shapes_raise_input_error_naming_the_shape(shape):
    with pytest.raises(InputError, match=r"\(\*, 3, H, W\).*" + str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")):
        rgb_to_lab(torch.zeros(shape))


def test_integer_tensors_are_refused():
    with pytest.raises(InputError, match="floating-point"):
        rgb_to_lab(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))


def test_numpy_wrappers_honour_channel_axis_and_dtype():
    rgb = np.random.default_rng(4).random((3, 5, 6)).astype(np.float32)
    lab = rgb_to_lab_numpy(rgb, channel_axis=0)
    assert lab.shape == rgb.shape and lab.dtype == np.float32
    expected = np.moveaxis(skcolor.rgb2lab(np.moveaxis(rgb, 0, -1)), -1, 0)
    assert np.abs(lab - expected).max() <= LAB_TOLERANCE
    assert np.abs(lab_to_rgb_numpy(lab, channel_axis=0) - rgb).max() <= ROUND_TRIP_TOLERANCE
    with pytest.raises(InputError, match="3 channels"):
        rgb_to_lab_numpy(np.zeros((4, 4)))
    with pytest.raises(InputError, match="floating point"):
        rgb_to_lab_numpy(np.zeros((4, 4, 3), dtype=np.uint8))


def test_numpy_wrappers_take_any_memory_layout_and_leave_the_input_alone():
    rgb = np.random.default_rng(5).random((6, 7, 3))
    expected = skcolor.rgb2lab(rgb)
    planar = np.moveaxis(np.ascontiguousarray(np.moveaxis(rgb, -1, 0)), 0, -1)  # (H, W, 3) view of planes
    read_only = rgb.copy()
    read_only.flags.writeable = False
    layouts = {"planar": (planar, expected), "flipped": (rgb[::-1, ::-1], expected[::-1, ::-1]),
               "strided": (rgb[::2, ::3], expected[::2, ::3]), "read-only": (read_only, expected),
               "pixel list": (rgb.reshape(-1, 3), expected.reshape(-1, 3)), "one pixel": (rgb[2, 3], expected[2, 3]),
               "batch": (np.stack([rgb, rgb[::-1]]), np.stack([expected, expected[::-1]]))}
    for name, (image, truth) in layouts.items():
        before = image.copy()
        lab = rgb_to_lab_numpy(image)
        assert lab.shape == image.shape, name
        assert np.abs(lab - truth).max() <= LAB_TOLERANCE, name
        assert np.abs(lab_to_rgb_numpy(lab) - image).max() <= ROUND_TRIP_TOLERANCE, name
        np.testing.assert_array_equal(image, before)
    assert rgb_to_lab_numpy(np.zeros((0, 3))).shape == (0, 3)


def test_rgb_lightness_is_the_l_of_the_full_conversion():
    cube = srgb_cube()
    expected = skcolor.rgb2lab(cube)[..., 0]
    for dtype in (np.float64, np.float32):
        got = rgb_lightness(cube.astype(dtype))
        assert got.dtype == dtype and got.shape == cube.shape[:-1]
        assert np.abs(got - expected).max() <= LAB_TOLERANCE
    levels = np.arange(256, dtype=np.uint8)  # every 8-bit level in each channel, through the table
    pixels = np.stack(np.meshgrid(levels, levels[::5], levels[::7], indexing="ij"), -1).reshape(-1, 1, 3)
    expected = skcolor.rgb2lab(pixels / 255.0)[..., 0]
    got = rgb_lightness(pixels)
    assert got.dtype == np.float32 and np.abs(got - expected).max() <= LAB_TOLERANCE
    with pytest.raises(InputError, match="3 channels"):
        rgb_lightness(np.zeros((4, 4)))
    with pytest.raises(InputError, match="uint8 or floating point"):
        rgb_lightness(np.zeros((4, 4, 3), dtype=np.int32))


def test_gray_to_lightness_is_the_lightness_of_grey_srgb():
    levels = np.linspace(0.0, 1.0, 1001)
    grey_rgb = np.repeat(levels[:, None, None], 3, axis=2)
    expected = skcolor.rgb2lab(grey_rgb)[:, 0, 0]
    assert np.abs(gray_to_lightness(levels) - expected).max() <= LAB_TOLERANCE


def test_module_wrappers_hold_no_logic_of_their_own():
    rgb = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(5))
    assert torch.equal(RgbToLab()(rgb), rgb_to_lab(rgb))
    lab = rgb_to_lab(rgb)
    assert torch.equal(LabToRgb(clip=False)(lab), lab_to_rgb(lab, clip=False))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_black_is_exactly_zero_and_survives_the_round_trip(dtype):
    # The sky of a galaxy image is mostly black: L must be 0, not 1e-6.
    black = torch.zeros(1, 3, 2, 2, dtype=dtype)
    assert torch.equal(rgb_to_lab(black), torch.zeros_like(black))
    # Back to sRGB, float32 rounding of 16/116 leaves ~1e-8: far below one
    # 16-bit level (1.5e-5).
    assert torch.allclose(lab_to_rgb(torch.zeros_like(black)), black, rtol=0.0, atol=1e-7)


# -- differentiable CIEDE2000 --------------------------------------------------

# Sharma, Wu & Dalal (2005), Table 1: the test pairs with equal lightness
# (L*, a*, b* of each color, then the published ΔE00).
SHARMA_EQUAL_L_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0011), 7.2195),
]


def test_delta_e2000_ab_reproduces_the_published_test_pairs():
    first = torch.tensor([pair[0][1:] for pair in SHARMA_EQUAL_L_PAIRS], dtype=torch.float64).T
    second = torch.tensor([pair[1][1:] for pair in SHARMA_EQUAL_L_PAIRS], dtype=torch.float64).T
    values = delta_e2000_ab(first[None, :, None], second[None, :, None], eps=0.0)[0, 0, 0]
    np.testing.assert_allclose(values.numpy(), [pair[2] for pair in SHARMA_EQUAL_L_PAIRS], atol=1e-4)


def test_delta_e2000_ab_equals_skimage_at_equal_lightness_and_has_finite_gradients():
    rng = np.random.default_rng(5)
    ab_1 = rng.normal(0.0, 15.0, (2, 2, 12, 12))
    ab_2 = ab_1 + rng.normal(0.0, 6.0, ab_1.shape)
    ab_1[0, :, 0, 0] = 0.0  # grey against a color, a color against itself
    ab_2[0, :, 0, 1] = ab_1[0, :, 0, 1]
    lightness = rng.uniform(5.0, 95.0, (2, 12, 12))
    lab_1 = np.stack([lightness, ab_1[:, 0], ab_1[:, 1]], axis=-1)
    lab_2 = np.stack([lightness, ab_2[:, 0], ab_2[:, 1]], axis=-1)
    expected = skcolor.deltaE_ciede2000(lab_1, lab_2, channel_axis=-1)
    exact = delta_e2000_ab(torch.from_numpy(ab_1), torch.from_numpy(ab_2), eps=0.0)[:, 0].numpy()
    np.testing.assert_allclose(exact, expected, atol=1e-9)
    # float32 with the default eps is within 0.01 (sqrt(eps) at a perfect match)
    predicted = torch.from_numpy(ab_2).float().requires_grad_()
    values = delta_e2000_ab(predicted, torch.from_numpy(ab_1).float())
    np.testing.assert_allclose(values[:, 0].detach().numpy(), expected, atol=0.011)
    values.sum().backward()
    assert torch.isfinite(predicted.grad).all()
    grey = torch.zeros(1, 2, 2, 2, requires_grad=True)
    delta_e2000_ab(grey, torch.zeros(1, 2, 2, 2)).sum().backward()
    assert torch.equal(grey.grad, torch.zeros_like(grey))


def test_delta_e2000_ab_checks_its_inputs():
    with pytest.raises(InputError, match="two \\(B, 2, H, W\\) tensors"):
        delta_e2000_ab(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))
    with pytest.raises(InputError, match="same shape"):
        delta_e2000_ab(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 3))
