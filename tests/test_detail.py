"""The full-resolution chroma path: galcolor.models.detail, its training and the Colorizer's ``detail`` option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import galcolor
from galcolor.exceptions import InputError
from galcolor.io import example_hdulist
from galcolor.models import WeightsError, get_model, load_weights, save_weights
from galcolor.models.detail import DetailRefiner, refine_in_bands
from galcolor.training.detail import DetailExamples, train_refiner


def _trained_looking(refiner: DetailRefiner, seed: int = 0) -> DetailRefiner:
    """Give the zero-initialised output layer weights, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        refiner.output.weight.copy_(torch.randn(refiner.output.weight.shape, generator=generator) * 0.2)
        refiner.output.bias.copy_(torch.randn(2, generator=generator) * 0.1)
    return refiner.eval().requires_grad_(False)


def test_an_untrained_refiner_returns_the_coarse_ab_and_a_trained_one_stays_in_range():
    lightness = torch.rand(2, 1, 24, 40) * 100
    coarse = torch.randn(2, 2, 24, 40) * 20
    assert torch.equal(DetailRefiner(width=4).eval()(lightness, coarse), coarse)
    refined = _trained_looking(DetailRefiner(width=4))(lightness, coarse * 10)
    assert refined.shape == coarse.shape and float(refined.abs().max()) <= 110.0
    assert not torch.equal(refined, coarse * 10)


@pytest.mark.parametrize("options", [{}, {"width": 4, "dilations": [1, 3], "contrast_scales": [2, 4]}])
def test_bands_give_the_whole_image_result_with_and_without_contrast_planes(options):
    refiner = _trained_looking(DetailRefiner(**options))
    lightness, ab = torch.rand(1, 101, 37) * 100, torch.randn(2, 101, 37) * 10
    whole = refiner(lightness[None], ab[None])[0]
    for rows in (7, 32, 200):
        assert torch.allclose(refine_in_bands(refiner, lightness, ab, rows=rows), whole, atol=1e-4)


def test_the_refiner_sees_only_its_receptive_field():
    refiner = _trained_looking(DetailRefiner(width=4, dilations=(2,)), seed=3)
    lightness, ab = torch.full((1, 1, 40, 40), 30.0), torch.zeros(1, 2, 40, 40)
    base = refiner(lightness, ab)
    changed = lightness.clone()
    changed[..., 20, 20] = 90.0
    difference = (refiner(changed, ab) - base).abs().sum(1)[0]
    rows, cols = np.nonzero(difference.numpy() > 0)
    reach = refiner.halo
    assert rows.size and abs(rows - 20).max() <= reach and abs(cols - 20).max() <= reach


def test_bad_refiner_options_and_inputs_are_refused():
    with pytest.raises(InputError, match="width"):
        DetailRefiner(width=0)
    with pytest.raises(InputError, match="contrast_scales"):
        DetailRefiner(contrast_scales=(3,))
    with pytest.raises(InputError, match="coarse_ab"):
        DetailRefiner()(torch.zeros(1, 1, 8, 8), torch.zeros(1, 2, 8, 9))
    with pytest.raises(InputError, match="lightness"):
        DetailRefiner()(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8))


def test_a_refiner_saves_and_loads_as_galcolor_weights(tmp_path):
    refiner = _trained_looking(DetailRefiner(width=4, dilations=(1, 2)))
    checksum = save_weights(refiner, tmp_path / "detail.pt", extra={"epochs": 1})
    loaded = load_weights(tmp_path / "detail.pt", sha256=checksum)
    assert isinstance(loaded, DetailRefiner) and loaded.config() == refiner.config()
    lightness, ab = torch.rand(1, 1, 16, 16) * 100, torch.randn(1, 2, 16, 16)
    assert torch.equal(loaded(lightness, ab), refiner(lightness, ab))
    with pytest.raises(WeightsError, match="tampered"):
        load_weights(tmp_path / "detail.pt", sha256="0" * 64)


def test_the_colorizer_adds_the_refiner_at_the_cutouts_own_pixels(tmp_path):
    network = get_model("unet", width=4, depth=2)
    refiner = _trained_looking(DetailRefiner(width=4))
    save_weights(refiner, tmp_path / "detail.pt")
    image = example_hdulist(seed=3)
    plain = galcolor.Colorizer(network, tta=False, detail=None)(image)
    refined = galcolor.Colorizer(network, tta=False, detail=str(tmp_path / "detail.pt"))(image)
    assert plain.meta["detail"] is None and len(refined.meta["detail"]) == 64
    expected = refiner(torch.from_numpy(plain.lightness)[None, None].float(),
                       torch.from_numpy(plain.ab).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert np.allclose(refined.ab, expected, atol=1e-3)
    in_memory = galcolor.Colorizer(network, tta=False, detail=refiner)(image)
    assert in_memory.meta["detail"] == "in memory" and np.allclose(in_memory.ab, refined.ab, atol=1e-5)


def test_bad_detail_options_get_clear_errors(tmp_path):
    network = get_model("unet", width=4, depth=2)
    with pytest.raises(InputError, match="existing weights file"):
        galcolor.Colorizer(network, detail=str(tmp_path / "missing.pt"))
    save_weights(network, tmp_path / "net.pt")
    with pytest.raises(InputError, match="not a DetailRefiner"):
        galcolor.Colorizer(network, detail=str(tmp_path / "net.pt"))
    with pytest.raises(InputError, match="detail must be"):
        galcolor.Colorizer(network, detail=3)


def _examples(path, n=6, size=48, seed=0):
    """Items with a blue knot the coarse ab does not have (the coarse path's blind spot)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    lightness = np.empty((n, size, size), np.float16)
    ab = np.zeros((n, 2, size, size), np.float16)
    knots = np.zeros((n, size, size), bool)
    for item in range(n):
        cy, cx = rng.integers(12, size - 12, 2)
        knot = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5 ** 2))
        lightness[item] = 35 + 3 * rng.standard_normal((size, size)) * 0.1 + 30 * knot
        ab[item, 1] = 10 - 40 * knot  # b* 10 on the disk, -30 at the knot
        knots[item] = np.hypot(x - cx, y - cy) <= 4
    coarse = ab.copy()
    coarse[:, 1] = 10
    np.savez(path, real_lightness=lightness, real_ab=ab, real_coarse=coarse, real_knots=knots,
             real_valid=np.ones_like(knots), recipe=np.array(repr({"frames": n})))
    return path


def test_examples_are_read_by_group_and_bad_files_refused(tmp_path):
    data = DetailExamples(_examples(tmp_path / "examples.npz"))
    assert data.recipe == {"real": {"frames": 6}} and len(data.items()) == 6
    window = data.window("real", 0, 32, np.random.default_rng(0), knot_share=1.0)
    assert window["lightness"].shape == (1, 32, 32) and window["ab"].shape == (2, 32, 32)
    assert bool(window["knots"].any())  # centred on the knot
    np.savez(tmp_path / "bad.npz", real_lightness=np.zeros((2, 8, 8)))
    with pytest.raises(InputError, match="has no"):
        DetailExamples(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="not a readable examples file"):
        DetailExamples(tmp_path / "junk.npz")


def test_training_learns_the_knot_color_the_coarse_ab_misses_and_resumes(tmp_path, monkeypatch):
    import galcolor.training.detail as detail_training

    examples = _examples(tmp_path / "examples.npz", n=12)
    out = tmp_path / "run"
    evaluate, calls = detail_training._evaluate, []

    def interrupted(*args, **kwargs):  # the session ends during epoch 4, after 3 checkpoints
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(detail_training, "_evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_refiner(examples, out, epochs=40, window=48, batch_size=4, lr=5e-3, val_share=0.25, progress=False)
    monkeypatch.setattr(detail_training, "_evaluate", evaluate)
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 4 and not (out / "detail.pt").exists()
    with pytest.raises(InputError, match="resumed with 12 epochs"):  # another schedule would not fit
        train_refiner(examples, out, epochs=12, window=48, batch_size=4, lr=5e-3, val_share=0.25, progress=False)
    refiner = train_refiner(examples, out, epochs=40, window=48, batch_size=4, lr=5e-3, val_share=0.25,
                            progress=False)  # resumes at epoch 4
    rows = [dict(zip(history[0].split(","), line.split(","))) for line in (out / "history.csv").read_text().splitlines()[1:]]
    assert [int(row["epoch"]) for row in rows] == list(range(1, 41))
    last = rows[-1]
    assert float(last["knots_refined"]) < 0.6 * float(last["knots_coarse"])
    assert float(last["galaxy_refined"]) < float(last["galaxy_coarse"]) + 1.0
    loaded = load_weights(out / "detail.pt")
    assert loaded.weights_info["extra"]["training"]["epochs"] == 40 and refiner.config() == loaded.config()
