"""galcolor.training: augmentation, galaxy-weighted loss, Trainer checkpoints and exact resume.

Everything runs on the CPU with 16-24 px images and a tiny stand-in colorizer
defined here (the model interface of galcolor.models), so these tests pin the
trainer down independently of the real architectures. The two-process (DDP)
test spawns two CPU processes with the Gloo backend (~15 s).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from galcolor import FileFormatError, InputError
from galcolor.color import gray_to_lightness, lab_to_rgb_numpy, rgb_to_lab
from galcolor.datasets import ImageFolder
from galcolor.training import (
    CHECKPOINT_FORMAT,
    HISTORY_COLUMNS,
    Augment,
    InMemoryPairs,
    SimulatedPairs,
    Trainer,
    dihedral,
    dihedral_inverse,
    load_checkpoint,
    loss_weight,
    stretch_lightness,
    zoom,
)

# Columns that measure wall-clock time: the only ones allowed to differ between runs.
TIMING_COLUMNS = ("images_per_s", "epoch_time_s")

# float32 Lab conversions agree with the float64 reference to ~1e-4 (the color
# core matches scikit-image to 1e-3, tests/test_color.py); 1e-3 Lab units is
# far below anything visible (a just-noticeable difference is ~1).
LAB_TOLERANCE = 1e-3


class TinyColorizer(nn.Module):
    """A stand-in with the galcolor model interface: conv-BN-ReLU-dropout-conv, weighted L1.

    Batch norm and dropout are there on purpose: resuming must restore running
    statistics and the global torch RNG that dropout draws from.
    """

    name, head, stride = "tiny", "regression", 1

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.width = width
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Dropout2d(0.2), nn.Conv2d(width, 2, 3, padding=1),
        )

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return 30.0 * self.body(lightness / 50.0 - 1.0)

    def loss(self, output: torch.Tensor, ab: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return ((output - ab).abs() * weight).sum() / (2.0 * weight.sum()).clamp_min(1e-6)

    def predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ab = self(lightness)
        return ab, torch.zeros_like(ab)

    def config(self) -> dict:
        return {"name": self.name, "width": self.width}


def make_model(seed: int = 0) -> TinyColorizer:
    torch.manual_seed(seed)
    return TinyColorizer()


def galaxy_png(shape=(24, 24), seed=0) -> np.ndarray:
    """A colored blob (warm or blue) on dark noisy sky, uint8 RGB."""
    rng = np.random.default_rng(seed)
    height, width = shape
    y, x = np.mgrid[0:height, 0:width]
    centre = rng.uniform(8, 16, 2)
    blob = np.exp(-np.hypot(x - centre[0], y - centre[1]) / rng.uniform(2.5, 4.0))
    color = np.array([250.0, 200.0, 140.0]) if seed % 2 else np.array([150.0, 190.0, 255.0])
    rgb = blob[..., None] * color + rng.uniform(0, 25, shape + (3,))
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    for index in range(6):
        Image.fromarray(galaxy_png(seed=index)).save(root / f"galaxy{index}.png")
    return root


@pytest.fixture
def data(folder):
    """(train, val): 6 and 3 tiny galaxies, 16 px, read from PNGs by ImageFolder."""
    images = ImageFolder(folder, size=16)
    cached = InMemoryPairs.from_dataset(images)  # decode once: the tests train several times
    val = InMemoryPairs(cached.lightness[:3], cached.ab[:3], cached.galaxy_mask[:3], cached.valid_mask[:3])
    return cached, val


def trainer_for(data, checkpoint_dir, **options) -> Trainer:
    train, val = data
    model = options.pop("model", None) or make_model()
    settings = dict(epochs=2, batch_size=2, lr=3e-3, checkpoint_dir=checkpoint_dir, progress=False, seed=5)
    settings.update(options)
    return Trainer(model, train, val, **settings)


def asymmetric_item(size: int = 6) -> dict:
    """An item whose four tensors carry the same marker pixel, on an image with no symmetry."""
    base = torch.arange(size * size, dtype=torch.float32).reshape(1, size, size)
    lightness = base.clone()
    ab = torch.stack([base[0] * 2, -base[0]])
    galaxy = torch.zeros(1, size, size, dtype=torch.bool)
    valid = torch.ones(1, size, size, dtype=torch.bool)
    lightness[0, 1, 4] = 1000.0  # the marker
    ab[:, 1, 4] = -1000.0
    galaxy[0, 1, 4] = True
    valid[0, 1, 4] = False
    return {"lightness": lightness, "ab": ab, "galaxy_mask": galaxy, "valid_mask": valid, "index": 0}


# ---------------------------------------------------------------------------- augmentation


def test_each_dihedral_element_moves_l_ab_and_masks_together():
    item = asymmetric_item()
    outputs = []
    for k in range(8):
        moved = {key: dihedral(item[key], k) for key in ("lightness", "ab", "galaxy_mask", "valid_mask")}
        marker = (moved["lightness"][0] == 1000.0).nonzero().tolist()
        assert len(marker) == 1
        assert (moved["ab"][:, marker[0][0], marker[0][1]] == -1000.0).all()
        assert moved["galaxy_mask"][0].nonzero().tolist() == marker
        assert (~moved["valid_mask"][0]).nonzero().tolist() == marker
        # A bijection: the same values, moved, and undone exactly by the inverse element.
        assert torch.equal(moved["lightness"].flatten().sort().values,
                           item["lightness"].flatten().sort().values)
        assert torch.equal(dihedral(moved["ab"], dihedral_inverse(k)), item["ab"])
        outputs.append(moved["lightness"])
    # An image without symmetry has 8 distinct images under D4.
    assert len({tuple(out.flatten().tolist()) for out in outputs}) == 8


def test_augment_applies_the_drawn_element_to_each_image_of_a_batch():
    single = asymmetric_item()
    batch = {key: torch.stack([single[key]] * 8) for key in ("lightness", "ab", "galaxy_mask", "valid_mask")}
    augment = Augment(scale=None, gamma=None, band_probability=0.0)
    params = augment.sample(8)
    params["element"] = torch.arange(8)
    out = augment.apply(batch, params)
    for k in range(8):
        for key in ("lightness", "ab", "galaxy_mask", "valid_mask"):
            assert torch.equal(out[key][k], dihedral(single[key], k)), (key, k)


def test_augment_is_deterministic_under_the_same_seed():
    torch.manual_seed(0)
    batch = {"lightness": torch.rand(4, 1, 12, 12) * 100, "ab": torch.randn(4, 2, 12, 12) * 10,
             "galaxy_mask": torch.rand(4, 1, 12, 12) > 0.5,
             "valid_mask": torch.ones(4, 1, 12, 12, dtype=torch.bool)}
    augment = Augment(band_probability=0.5)
    first = augment(batch, generator=torch.Generator().manual_seed(3))
    again = augment(batch, generator=torch.Generator().manual_seed(3))
    other = augment(batch, generator=torch.Generator().manual_seed(4))
    for key in ("lightness", "ab", "galaxy_mask", "valid_mask"):
        assert torch.equal(first[key], again[key])
    assert not torch.equal(first["lightness"], other["lightness"])

    # Single items are seeded by (seed, epoch, index): independent of call order and worker.
    item = {key: value[0] for key, value in batch.items()} | {"index": 7}
    seeded = Augment(seed=1)
    a = seeded(item)
    seeded(dict(item, index=2))  # another item in between changes nothing
    assert torch.equal(seeded(item)["lightness"], a["lightness"])
    assert torch.equal(Augment(seed=1)(item)["ab"], a["ab"])
    seeded.set_epoch(1)
    assert not torch.equal(seeded(item)["lightness"], a["lightness"])


def test_band_as_lightness_gives_the_grey_lightness_of_the_g_channel():
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0.0, 1.0, (3, 10, 10, 3)).astype(np.float32)
    lab = rgb_to_lab(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    batch = {"lightness": lab[:, :1], "ab": lab[:, 1:],
             "galaxy_mask": lab[:, :1] > 15, "valid_mask": torch.ones(3, 1, 10, 10, dtype=torch.bool)}
    out = Augment(dihedral=False, scale=None, gamma=None, band_probability=1.0)(batch)

    composite = lab_to_rgb_numpy(lab.permute(0, 2, 3, 1).numpy())  # the image rebuilt from (L, ab)
    expected = gray_to_lightness(composite[..., 1])
    np.testing.assert_allclose(out["lightness"][:, 0].numpy(), expected, atol=LAB_TOLERANCE)
    # Only the input changes: the target and the masks stay.
    assert torch.equal(out["ab"], batch["ab"])
    assert torch.equal(out["galaxy_mask"], batch["galaxy_mask"])


def test_zoom_and_stretch_never_make_invalid_pixels_valid():
    batch = {"lightness": torch.full((2, 1, 16, 16), 50.0), "ab": torch.full((2, 2, 16, 16), 5.0),
             "galaxy_mask": torch.ones(2, 1, 16, 16, dtype=torch.bool),
             "valid_mask": torch.ones(2, 1, 16, 16, dtype=torch.bool)}
    batch["valid_mask"][:, :, 6:9, 6:9] = False
    augment = Augment(dihedral=False, band_probability=0.0)
    params = augment.sample(2)
    params["scale"] = torch.tensor([0.9, 1.1])
    out = augment.apply(batch, params)
    # Zooming out shrinks the 3 x 3 hole, zooming in grows it; it never vanishes, and
    # reflected borders keep the frame valid (no artificial black edge).
    holes = (~out["valid_mask"]).sum(dim=(1, 2, 3)).tolist()
    assert 1 <= holes[0] <= 9 <= holes[1]
    assert out["valid_mask"][:, :, 0].all() and out["valid_mask"][:, :, -1].all()
    assert not (out["galaxy_mask"] & ~out["valid_mask"]).any()
    # A constant image stays constant: zoom interpolates, it does not invent color.
    torch.testing.assert_close(out["ab"], batch["ab"])
    assert stretch_lightness(torch.tensor([0.0, 100.0]), 0.8).tolist() == [0.0, 100.0]
    assert zoom(torch.ones(1, 1, 4, 4), 0.9).allclose(torch.ones(1, 1, 4, 4))


def test_window_cuts_each_item_at_its_drawn_offset_after_the_other_transforms():
    torch.manual_seed(2)
    batch = {"lightness": torch.rand(3, 1, 12, 12) * 100, "ab": torch.randn(3, 2, 12, 12) * 10,
             "galaxy_mask": torch.rand(3, 1, 12, 12) > 0.5,
             "valid_mask": torch.rand(3, 1, 12, 12) > 0.2}
    augment = Augment(scale=None, gamma=None, band_probability=0.0, window=8)
    params = augment.sample(3, torch.Generator().manual_seed(0))
    params["element"] = torch.tensor([0, 1, 5])
    params["offset"] = torch.tensor([[0.0, 0.0], [1.0, 0.5], [0.25, 1.0]])
    out = augment.apply(batch, params)
    for k, (top, left) in enumerate([(0, 0), (4, 2), (1, 4)]):
        for key in ("lightness", "ab", "galaxy_mask", "valid_mask"):
            rotated = dihedral(batch[key][k], int(params["element"][k]))
            assert torch.equal(out[key][k], rotated[:, top:top + 8, left:left + 8]), (key, k)
    # drawn offsets differ between items; without a window nothing else changes
    drawn = augment(batch, generator=torch.Generator().manual_seed(1))
    assert drawn["lightness"].shape == (3, 1, 8, 8)
    plain = Augment(scale=None, gamma=None, band_probability=0.0)
    assert torch.equal(plain.sample(3, torch.Generator().manual_seed(0))["element"],
                       augment.sample(3, torch.Generator().manual_seed(0))["element"])
    assert "window=8" in repr(augment) and "window" not in repr(plain)
    with pytest.raises(InputError, match="window of 16 px does not fit in 12 x 12"):
        Augment(window=16)(batch)
    with pytest.raises(InputError, match="window must be a positive number"):
        Augment(window=0)


# ---------------------------------------------------------------------------- loss


def test_galaxy_weighted_loss_ignores_invalid_pixels(data, tmp_path):
    valid = torch.ones(1, 1, 4, 4, dtype=torch.bool)
    valid[..., 0] = False
    galaxy = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    galaxy[..., 1:3, 1:3] = True
    weight = loss_weight(valid, galaxy, sky_weight=0.25)
    assert weight[..., 0].eq(0).all()  # invalid
    assert weight[..., 1:3, 1:3].eq(1).all()  # galaxy
    assert weight[..., 0, 3].item() == 0.25  # sky

    # Garbage targets on invalid pixels change neither the loss nor training.
    train, val = data
    poisoned = InMemoryPairs(train.lightness, train.ab.clone(), train.galaxy_mask, train.valid_mask.clone())
    poisoned.valid_mask[..., :3] = False
    clean = InMemoryPairs(train.lightness, train.ab, train.galaxy_mask, poisoned.valid_mask)
    poisoned.ab[..., :3] = 1e4
    weights = []
    for dataset in (clean, poisoned):
        trainer = Trainer(make_model(), dataset, None, epochs=1, batch_size=2, augment=False, progress=False)
        trainer.fit()
        weights.append(trainer.model.state_dict())
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


# ---------------------------------------------------------------------------- trainer


def test_one_epoch_writes_checkpoints_history_and_figure(data, tmp_path):
    trainer = trainer_for(data, tmp_path / "run", epochs=1)
    history = trainer.fit()
    assert [row["epoch"] for row in history] == [1]
    row = history[0]
    assert set(HISTORY_COLUMNS) <= set(row)
    assert all(np.isfinite(row[column]) for column in HISTORY_COLUMNS)
    assert row["val_ab_mae_galaxy"] > 0 and row["val_ab_mae_whole"] > 0

    run = tmp_path / "run"
    for name in ("last.pt", "best.pt", "history.csv", "history.json", "history.png"):
        assert (run / name).stat().st_size > 0, name
    state = torch.load(run / "last.pt", weights_only=True)  # no pickled objects inside
    assert state["format"] == CHECKPOINT_FORMAT and state["epoch"] == 1 and state["best_epoch"] == 1
    assert state["model_config"] == {"name": "tiny", "width": 4}
    assert set(state["rng"][0]) >= {"torch", "cuda", "numpy", "python", "generators"}
    assert list(pd.read_csv(run / "history.csv").columns[:len(HISTORY_COLUMNS)]) == list(HISTORY_COLUMNS)
    assert json.loads((run / "history.json").read_text())[0]["epoch"] == 1
    assert Image.open(run / "history.png").size[0] > 100


def test_validation_mae_is_the_mean_absolute_ab_on_galaxy_and_whole_images(data):
    train, val = data
    model = make_model()
    nn.init.zeros_(model.body[-1].weight)
    nn.init.zeros_(model.body[-1].bias)  # predicts grey: the error is |ab| itself
    metrics = Trainer(model, train, val, epochs=1, batch_size=2, progress=False).evaluate()
    ab = val.ab.abs()
    galaxy = val.galaxy_mask.expand_as(ab)
    valid = val.valid_mask.expand_as(ab)
    # float64 sums of float32 values: agreement to ~1e-6 relative.
    assert metrics["val_ab_mae_galaxy"] == pytest.approx(ab[galaxy].double().mean().item(), rel=1e-6)
    assert metrics["val_ab_mae_whole"] == pytest.approx(ab[valid].double().mean().item(), rel=1e-6)


def test_resume_after_epoch_one_equals_an_uninterrupted_run(data, tmp_path):
    whole = trainer_for(data, tmp_path / "whole", max_batches_per_epoch=2)
    whole.fit()

    first_half = trainer_for(data, tmp_path / "split", max_batches_per_epoch=2)
    first_half.fit(stop_after=1)
    assert first_half.epoch == 1
    # A fresh process would start from other weights and RNG states: resume overrides them.
    torch.manual_seed(123)
    second_half = trainer_for(data, tmp_path / "split", model=make_model(seed=99), max_batches_per_epoch=2)
    second_half.resume(tmp_path / "split" / "last.pt").fit()

    a = load_checkpoint(tmp_path / "whole" / "last.pt")
    b = load_checkpoint(tmp_path / "split" / "last.pt")
    assert a["epoch"] == b["epoch"] == 2
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    drop = list(TIMING_COLUMNS)
    pd.testing.assert_frame_equal(pd.DataFrame(a["history"]).drop(columns=drop),
                                  pd.DataFrame(b["history"]).drop(columns=drop), check_exact=True)
    assert torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])


def test_resume_refuses_a_run_with_other_settings(data, tmp_path):
    trainer_for(data, tmp_path / "run", epochs=1).fit()
    with pytest.raises(InputError, match=r"last\.pt: cannot resume.*epochs: checkpoint 1, trainer 3"):
        trainer_for(data, None, epochs=3).resume(tmp_path / "run" / "last.pt")


def test_resume_refuses_other_augmentation_and_from_checkpoint_restores_the_runs(data, tmp_path):
    trainer_for(data, tmp_path / "run", epochs=2, augment=Augment(window=6, seed=2)).fit(stop_after=1)
    last = tmp_path / "run" / "last.pt"
    with pytest.raises(InputError, match=r"cannot resume.*augment: checkpoint 'Augment\(.*window=6"):
        trainer_for(data, None, epochs=2, augment=Augment(seed=2)).resume(last)
    train, val = data
    resumed = Trainer.from_checkpoint(last, train, val, model=make_model(), augment=Augment(seed=5),
                                      progress=False)
    assert isinstance(resumed.augment, Augment)
    assert resumed.augment.options() == Augment(window=6, seed=2).options()


def test_corrupted_checkpoints_are_refused_with_the_file_name(data, tmp_path):
    trainer_for(data, tmp_path / "run", epochs=1).fit()
    last = tmp_path / "run" / "last.pt"
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.ones(2)}, foreign)  # loads, but is no training checkpoint
    for path in (truncated, garbage):
        with pytest.raises(FileFormatError,
                           match=rf"{path.name}: not a readable galcolor training checkpoint"):
            trainer_for(data, None).resume(path)
    with pytest.raises(FileFormatError, match=r"foreign\.pt: not a galcolor training checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(OSError, match="missing.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_early_stopping_and_restore_best_use_the_galaxy_metric(data, tmp_path, monkeypatch):
    trainer = trainer_for(data, tmp_path / "run", epochs=6, early_stopping_patience=2)
    # Galaxy MAE best at epoch 2, whole-image MAE best later: the galaxy metric decides.
    galaxy_mae = iter([5.0, 4.0, 4.5, 4.2, 3.0, 3.0])
    whole_mae = iter([3.0, 2.9, 2.0, 1.0, 1.0, 1.0])
    monkeypatch.setattr(trainer, "evaluate", lambda: {"val_loss": 1.0, "val_ab_mae_galaxy": next(galaxy_mae),
                                                       "val_ab_mae_whole": next(whole_mae)})
    history = trainer.fit()
    assert trainer.stopped_early and len(history) == 4  # epochs 3 and 4 did not beat epoch 2
    assert trainer.best_epoch == 2 and trainer.best_metric == 4.0
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["epoch"] == 2
    model = trainer.restore_best()
    for key, value in best["model"].items():
        assert torch.equal(model.state_dict()[key], value), key
    assert trainer.fit() == history  # a stopped run stays stopped


def test_simulated_galaxies_mix_with_folders(data):
    train, _ = data
    simulated = SimulatedPairs(2, size=32, seed=2)
    item = simulated[1]
    assert item["lightness"].shape == (1, 32, 32) and item["ab"].dtype == torch.float32
    assert item["valid_mask"].all() and item["galaxy_mask"].any()
    cached = InMemoryPairs.from_dataset(simulated)
    assert torch.equal(cached[1]["ab"], item["ab"])



def test_simulated_galaxies_zoomed_like_the_auto_scale():
    from galcolor.color import rgb_to_lab_numpy
    from galcolor.geometry import galaxy_radius

    plain = SimulatedPairs(3, size=64, seed=4)
    zoomed = SimulatedPairs(3, size=64, seed=4, galaxy_radius=15.0)
    assert zoomed.rgb.shape == plain.rgb.shape and "galaxy_radius=15.0" in repr(zoomed)
    for small, large in zip(plain.rgb, zoomed.rgb):
        before = galaxy_radius(rgb_to_lab_numpy(small / 255.0)[..., 0])
        after = galaxy_radius(rgb_to_lab_numpy(large / 255.0)[..., 0])
        zoom = min(max(15.0 / before, 1.0), 2.0)  # enlarged towards 15 px, by at most 2
        assert after == pytest.approx(before * zoom, rel=0.2)
    huge = SimulatedPairs(1, size=64, seed=4, galaxy_radius=1.0)  # already larger: left alone
    assert np.array_equal(huge.rgb, plain.rgb[:1])
    with pytest.raises(InputError, match="galaxy_radius"):
        SimulatedPairs(1, size=64, galaxy_radius=0.0)


def test_simulated_galaxies_with_a_band_as_lightness():
    from galcolor.datasets import simulate

    galaxy = simulate(1, size=48, seed=6)[0]
    item = SimulatedPairs(1, size=48, seed=6, band="r")[0]
    composite = SimulatedPairs(1, size=48, seed=6)[0]
    expected = torch.from_numpy(galaxy.to_cutout("r").lightness.astype(np.float32)).clamp(0, 100)
    assert torch.equal(item["lightness"][0], expected)  # the r band as galcolor.load stretches it
    assert torch.equal(item["ab"], composite["ab"])  # ... with the composite's color
    assert not torch.equal(item["lightness"], composite["lightness"])
    assert torch.equal(item["galaxy_mask"], item["lightness"] > 15)
    zoomed = SimulatedPairs(1, size=48, seed=6, band="r", galaxy_radius=14.0)[0]
    assert zoomed["lightness"].shape == (1, 48, 48) and zoomed["galaxy_mask"].sum() > item["galaxy_mask"].sum()

# ---------------------------------------------------------------------------- with the model registry


def test_trainer_with_a_registered_unet(data, tmp_path):
    from galcolor import models

    train, val = data
    torch.manual_seed(0)
    model = models.get_model("unet", width=8, depth=2)
    trainer = Trainer(model, train, val, epochs=1, batch_size=2, checkpoint_dir=tmp_path / "run",
                      progress=False)
    trainer.fit()
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    rebuilt = Trainer.from_checkpoint(tmp_path / "run" / "last.pt", train, val, progress=False)
    for key, value in state["model"].items():
        assert torch.equal(rebuilt.model.state_dict()[key], value)


def test_train_command_exports_weights(folder, tmp_path):
    from galcolor.training import add_train_arguments, train_command

    options = add_train_arguments(argparse.ArgumentParser()).parse_args([
        "--train", str(folder), "--val", "none", "--size", "16", "--crop", "none", "--model", "unet",
        "--width", "8", "--depth", "2", "--epochs", "1", "--batch-size", "2", "--quiet",
        "--checkpoint-dir", str(tmp_path / "run"), "--export", str(tmp_path / "weights.pt"),
    ])
    assert train_command(options) == 0
    assert (tmp_path / "weights.pt").stat().st_size > 0
    from galcolor.models import load_weights

    # the training geometry travels with the weights: Colorizer's auto scale reads it
    training = load_weights(tmp_path / "weights.pt").weights_info["extra"]["training"]
    assert training["data"] == {"size": 16, "crop": None}


def test_train_command_exports_the_last_epoch_and_records_its_sources(folder, tmp_path):
    from galcolor.models import load_weights
    from galcolor.training import add_train_arguments, train_command

    # validated on the folder, trained on the folder and two simulated galaxies
    options = add_train_arguments(argparse.ArgumentParser()).parse_args([
        "--train", str(folder), "--val", str(folder), "--simulated", "2", "--simulated-seed", "5",
        "--simulated-band", "r", "--size", "32", "--crop", "none", "--model", "unet", "--width", "4",
        "--depth", "2", "--epochs", "2", "--batch-size", "4", "--quiet", "--export-epoch", "last",
        "--checkpoint-dir", str(tmp_path / "run"), "--export", str(tmp_path / "last.pt"),
    ])
    assert train_command(options) == 0
    model = load_weights(tmp_path / "last.pt")
    last = load_checkpoint(tmp_path / "run" / "last.pt")["model"]
    assert all(torch.equal(model.state_dict()[key], value) for key, value in last.items())
    training = model.weights_info["extra"]["training"]
    assert training["exported_epoch"] == 2
    assert training["exported"]["epoch"] == 2
    assert training["best_epoch"] in (1, 2)
    assert training["sources"] == {"train": str(folder), "limit": None, "val_fraction": None,
                                   "simulated": {"n": 2, "seed": 5, "zoom": "auto", "band": "r"},
                                   "injected_knots": None}
    # the default stays the best epoch, and says so
    options.export_epoch, options.epochs = "best", 1
    options.checkpoint_dir, options.export = str(tmp_path / "run1"), str(tmp_path / "best.pt")
    assert train_command(options) == 0
    training = load_weights(tmp_path / "best.pt").weights_info["extra"]["training"]
    assert training["exported_epoch"] == training["best_epoch"] == 1


def test_train_command_with_windows_and_the_de2000_loss_records_both(folder, tmp_path, capsys):
    from galcolor.models import load_weights
    from galcolor.training import add_train_arguments, train_command

    options = add_train_arguments(argparse.ArgumentParser()).parse_args([
        "--train", str(folder), "--val", "none", "--size", "24", "--crop", "none", "--window", "16",
        "--model", "unet", "--width", "4", "--depth", "2", "--loss", "de2000", "--epochs", "1",
        "--batch-size", "2", "--quiet", "--checkpoint-dir", str(tmp_path / "run"),
    ])
    assert train_command(options) == 0
    model = load_weights(tmp_path / "run" / "unet-regression.pt")
    assert model.config()["loss"] == "de2000"
    training = model.weights_info["extra"]["training"]
    assert training["data"] == {"size": 24, "crop": None, "window": 16}
    assert "window=16" in training["trainer"]["augment"]
    refused = add_train_arguments(argparse.ArgumentParser()).parse_args([
        "--train", str(folder), "--val", "none", "--size", "24", "--window", "16", "--no-augment"])
    assert train_command(refused) == 1
    assert "--window is an augmentation" in capsys.readouterr().err


def test_train_command_resume_continues_in_the_checkpoint_folder_with_its_autocast(folder, tmp_path):
    from galcolor.training import add_train_arguments, train_command

    common = ["--train", str(folder), "--val", "none", "--size", "16", "--crop", "none", "--quiet"]
    first = add_train_arguments(argparse.ArgumentParser()).parse_args(common + [
        "--model", "unet", "--width", "4", "--depth", "2", "--epochs", "2", "--batch-size", "2",
        "--stop-after", "1", "--checkpoint-dir", str(tmp_path / "run"), "--amp", "on",
        "--window", "12", "--band-probability", "0.5", "--seed", "3",
    ])
    assert train_command(first) == 0
    assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 1
    assert load_checkpoint(tmp_path / "run" / "last.pt")["trainer"]["amp"] is True
    augment = load_checkpoint(tmp_path / "run" / "last.pt")["trainer"]["augment"]
    assert "window=12" in augment and "band_probability=0.5" in augment and "seed=3" in augment
    # no --checkpoint-dir: the run goes on where its checkpoint is, not in a new folder
    second = add_train_arguments(argparse.ArgumentParser()).parse_args(
        common + ["--resume", str(tmp_path / "run" / "last.pt")])
    assert second.checkpoint_dir is None
    assert train_command(second) == 0
    assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 2
    # no --amp: the resumed run keeps its own autocast setting (on), not the CPU's 'auto' (off);
    # no --window, --band-probability or --seed: it keeps its own augmentation too
    assert load_checkpoint(tmp_path / "run" / "last.pt")["trainer"]["amp"] is True
    assert load_checkpoint(tmp_path / "run" / "last.pt")["trainer"]["augment"] == augment
    assert (tmp_path / "run" / "unet-regression.pt").exists()


def test_train_command_fine_tunes_from_saved_weights(folder, tmp_path):
    from galcolor.models import get_model, load_weights, save_weights
    from galcolor.training import add_train_arguments, train_command

    torch.manual_seed(3)
    start = get_model("unet", width=4, depth=2, head="regression")
    checksum = save_weights(start, tmp_path / "start.pt", extra={"training": {"best_epoch": 9}})
    options = add_train_arguments(argparse.ArgumentParser()).parse_args([
        "--train", str(folder), "--val", "none", "--size", "16", "--crop", "none",
        "--init", str(tmp_path / "start.pt"), "--depth", "5",  # --depth is ignored with --init
        "--epochs", "1", "--batch-size", "2", "--quiet",
        "--checkpoint-dir", str(tmp_path / "run"), "--export", str(tmp_path / "tuned.pt"),
    ])
    assert train_command(options) == 0
    tuned = load_weights(tmp_path / "tuned.pt")
    assert tuned.config() == start.config()
    # it trained: the weights moved away from the starting point
    assert any(not torch.equal(a, b) for a, b in zip(tuned.state_dict().values(),
                                                      start.state_dict().values()))
    init = tuned.weights_info["extra"]["training"]["init"]
    assert init["sha256"] == checksum and init["training"] == {"best_epoch": 9}


def test_train_command_widens_the_init_weights_when_given_a_larger_width(folder, tmp_path, capsys):
    from galcolor.models import get_model, load_weights, save_weights
    from galcolor.training import add_train_arguments, train_command

    torch.manual_seed(5)
    start = get_model("unet", width=4, depth=2, head="regression")
    checksum = save_weights(start, tmp_path / "start.pt")
    common = ["--train", str(folder), "--val", "none", "--size", "16", "--crop", "none", "--epochs", "1",
              "--batch-size", "2", "--quiet", "--checkpoint-dir", str(tmp_path / "run")]
    options = add_train_arguments(argparse.ArgumentParser()).parse_args(common + [
        "--init", str(tmp_path / "start.pt"), "--width", "6", "--export", str(tmp_path / "wide.pt")])
    assert train_command(options) == 0
    wide = load_weights(tmp_path / "wide.pt")
    assert wide.config() == {**start.config(), "width": 6}
    init = wide.weights_info["extra"]["training"]["init"]
    assert init["sha256"] == checksum and init["width"] == 4 and init["widened_to"] == 6
    # only the U-Net knows how to widen; the others say so instead of ignoring --width
    save_weights(get_model("baseline", width=4), tmp_path / "baseline.pt")
    refused = add_train_arguments(argparse.ArgumentParser()).parse_args(common + [
        "--init", str(tmp_path / "baseline.pt"), "--width", "6"])
    assert train_command(refused) == 1
    assert "cannot be widened" in capsys.readouterr().err


def test_train_command_resumed_fine_tune_still_records_where_it_started(folder, tmp_path):
    from galcolor.models import get_model, load_weights, save_weights
    from galcolor.training import add_train_arguments, train_command

    torch.manual_seed(4)
    start = get_model("unet", width=4, depth=2, head="regression")
    checksum = save_weights(start, tmp_path / "start.pt", extra={"training": {"best_epoch": 5}})
    common = ["--train", str(folder), "--val", "none", "--size", "16", "--crop", "none", "--quiet"]
    first = add_train_arguments(argparse.ArgumentParser()).parse_args(common + [
        "--init", str(tmp_path / "start.pt"), "--epochs", "2", "--batch-size", "2", "--stop-after", "1",
        "--checkpoint-dir", str(tmp_path / "run"),
    ])
    assert train_command(first) == 0
    assert load_checkpoint(tmp_path / "run" / "last.pt")["metadata"]["init"]["sha256"] == checksum
    second = add_train_arguments(argparse.ArgumentParser()).parse_args(
        common + ["--resume", str(tmp_path / "run" / "last.pt"), "--export", str(tmp_path / "tuned.pt")])
    assert train_command(second) == 0
    init = load_weights(tmp_path / "tuned.pt").weights_info["extra"]["training"]["init"]
    assert init["sha256"] == checksum and init["training"] == {"best_epoch": 5}


# ---------------------------------------------------------------------------- torchrun / DDP


def _ddp_worker(rank: int, port: int, data, checkpoint_dir: str) -> None:
    """One torchrun-like process: the environment torchrun would set, then a plain Trainer."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2",
                      RANK=str(rank), LOCAL_RANK=str(rank))
    trainer = trainer_for(data, checkpoint_dir, epochs=1, device="cpu")
    try:
        trainer.fit()
    finally:
        trainer.close()


def test_two_processes_share_the_work_and_rank_zero_writes(data, tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:  # a free port for the process group
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # spawn, as torchrun starts fresh processes (fork after OpenMP work can deadlock).
    mp.spawn(_ddp_worker, args=(port, data, str(tmp_path / "run")), nprocs=2, join=True)

    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["trainer"]["world_size"] == 2 and len(state["rng"]) == 2  # every rank's RNG
    # 6 images: 3 per process, in one batch of 2 (the incomplete batch is dropped).
    assert state["trainer"]["steps_per_epoch"] == 1
    # Sharded validation, summed over ranks, equals validating the saved model in one process
    # (float32 convolutions in other batch shapes: agreement to ~1e-6 relative).
    model = make_model()
    model.load_state_dict(state["model"])
    train, val = data
    alone = Trainer(model, train, val, batch_size=3, progress=False).evaluate()
    for key in ("val_loss", "val_ab_mae_galaxy", "val_ab_mae_whole"):
        assert state["history"][0][key] == pytest.approx(alone[key], rel=1e-5), key


# ---------------------------------------------------------------------------- knots injected into training items


def disk_item(size: int = 64, index: int = 0) -> dict:
    """A reddish exponential disk as a training item, its left column invalid."""
    from galcolor.color import rgb_to_lab_numpy
    from galcolor.io.lupton import display_from_linear

    y, x = np.mgrid[:size, :size]
    disk = np.exp(-np.hypot(x - size / 2, y - size / 2) / (size / 6))
    lab = rgb_to_lab_numpy(display_from_linear(np.stack([disk * 1.3, disk, disk * 0.6], -1)).astype(np.float32))
    lab = torch.from_numpy(lab).permute(2, 0, 1).contiguous()
    valid = torch.ones(1, size, size, dtype=torch.bool)
    valid[..., 0] = False
    return {"lightness": lab[:1].clone(), "ab": lab[1:].clone(), "galaxy_mask": (lab[:1] > 15) & valid,
            "valid_mask": valid, "index": index}


def test_knot_injection_adds_blue_clumps_and_marks_them_reproducibly():
    from galcolor.training import KnotInjection

    item = disk_item()
    before = {key: value.clone() for key, value in item.items() if torch.is_tensor(value)}
    injection = KnotInjection(probability=1.0, fwhm=(3.0, 3.0), negatives=(0, 0), seed=3)
    out = injection(item)
    assert all(torch.equal(item[key], value) for key, value in before.items())  # the input is not modified
    knots = out["knot_mask"]
    assert knots.any() and knots.dtype == torch.bool and not knots[..., 0].any()  # only valid pixels
    # clumps only: the knot pixels are bluer (lower b*) than they were, the rest unchanged far away
    assert float((out["ab"][1] - item["ab"][1])[knots[0]].mean()) < -1.0
    assert torch.equal(out["ab"][..., 0], item["ab"][..., 0])  # invalid pixels keep their values
    assert torch.equal(injection(item)["lightness"], out["lightness"])  # same (seed, epoch, index): same knots
    injection.set_epoch(1)
    assert not torch.equal(injection(item)["lightness"], out["lightness"])  # a new epoch: new knots
    # an item left alone still gets its (empty) mask, so that batches stack
    untouched = KnotInjection(probability=0.0)(item)
    assert not untouched["knot_mask"].any() and torch.equal(untouched["ab"], item["ab"])
    with pytest.raises(InputError, match="fwhm"):
        KnotInjection(fwhm=(0.0, 2.0))


def test_augment_moves_the_knot_mask_with_the_image():
    item = asymmetric_item()
    item["knot_mask"] = item["galaxy_mask"].clone()
    for seed in range(6):
        out = Augment(scale=None, gamma=None, band_probability=0.0, seed=seed)(item)
        assert torch.equal(out["knot_mask"], out["galaxy_mask"])
        assert torch.equal(out["knot_mask"], out["lightness"] == 1000.0)


def test_knot_weight_weighs_the_injected_knots_in_the_loss(data, tmp_path):
    from galcolor.training import KnotInjection, WithTransform

    train, val = data
    seen_epochs = []

    class Counting(KnotInjection):
        def set_epoch(self, epoch: int) -> None:
            seen_epochs.append(epoch)
            super().set_epoch(epoch)

    injected = WithTransform(train, Counting(probability=1.0, fwhm=(2.0, 2.0), seed=1))
    runs = {}
    for weight in (0.0, 20.0):
        trainer = Trainer(make_model(), injected, val, epochs=2, batch_size=2, augment=False, progress=False,
                          knot_weight=weight, seed=2)
        trainer.fit()
        runs[weight] = trainer.model.state_dict()
        assert trainer.settings()["knot_weight"] == weight
    assert seen_epochs == [0, 1, 0, 1]
    assert any(not torch.equal(runs[0.0][key], runs[20.0][key]) for key in runs[0.0])
    with pytest.raises(InputError, match="knot_weight"):
        Trainer(make_model(), injected, val, knot_weight=-1.0)


def test_train_command_injects_knots_and_records_the_recipe(folder, tmp_path):
    from galcolor.models import load_weights
    from galcolor.training import add_train_arguments, train_command

    options = add_train_arguments(argparse.ArgumentParser()).parse_args([
        "--train", str(folder), "--val", str(folder), "--size", "32", "--crop", "none", "--model", "unet",
        "--width", "4", "--depth", "2", "--epochs", "1", "--batch-size", "4", "--quiet", "--cache",
        "--inject-knots", "1.0", "--knot-fwhm", "2", "3", "--knot-weight", "5",
        "--checkpoint-dir", str(tmp_path / "run"), "--export", str(tmp_path / "knots.pt"),
    ])
    assert train_command(options) == 0
    training = load_weights(tmp_path / "knots.pt").weights_info["extra"]["training"]
    assert training["sources"]["injected_knots"] == {"probability": 1.0, "fwhm": [2.0, 3.0], "knot_weight": 5.0,
                                                     "recipe": "galcolor.datasets.injection"}
    assert training["trainer"]["knot_weight"] == 5.0
    assert "KnotInjection" in training["trainer"]["train_transform"]

