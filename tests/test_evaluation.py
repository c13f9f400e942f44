"""galcolor evaluate: the harness that puts colorizers side by side."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galcolor.color import rgb_to_lab_numpy
from galcolor.evaluation import evaluate_folder, reference_prediction, uncertainty_coverage, write_report
from galcolor.exceptions import InputError
from galcolor.models import get_model, save_weights


def _galaxy_image(seed: int, size: int = 48) -> np.ndarray:
    """A yellowish disk with a blue knot on black sky, as 8-bit RGB."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size]
    disk = np.exp(-np.hypot(x - size / 2, y - size / 2) / 6.0)
    knot = np.exp(-((x - size / 2 - 5) ** 2 + (y - size / 2) ** 2) / 4.0)
    rgb = np.stack([0.9 * disk, 0.8 * disk + 0.2 * knot, 0.5 * disk + 0.6 * knot], axis=-1)
    rgb += rng.normal(0, 0.01, rgb.shape)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    for k in range(3):
        Image.fromarray(_galaxy_image(k)).save(folder / f"galaxy{k}.png")
    Image.fromarray(_galaxy_image(9)[..., 0]).save(folder / "grey.png")  # no color: a failure
    pd.DataFrame({"file": ["galaxy0.png", "galaxy1.png", "galaxy2.png"],
                  "survey": ["sdss", "sdss", "decals"]}).to_csv(folder / "manifest.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_weights(get_model("unet", width=4, depth=2), path)
    return path


def test_every_colorizer_region_and_image_gets_a_row_and_grey_input_is_a_failure(folder, tiny_weights):
    per_image, failures = evaluate_folder(folder, models=[str(tiny_weights)], manifest=folder / "manifest.csv",
                                          progress=False)
    assert set(per_image["model"]) == {"grey", "mean", "lookup", "tiny"}
    assert set(per_image["region"]) == {"galaxy", "whole"}
    assert len(per_image) == 3 * 4 * 2
    assert failures["file"].tolist() == ["grey.png"]
    assert "no true color" in failures["error"][0]
    assert set(per_image["survey"]) == {"sdss", "decals"}
    # coverage is measured for networks only (they report ab_std)
    network = per_image[(per_image["model"] == "tiny") & (per_image["region"] == "galaxy")]
    assert network["coverage_pixels"].gt(0).all()
    assert per_image[per_image["model"] == "grey"]["coverage_pixels"].isna().all()


def test_grey_scores_exactly_the_true_chroma(folder):
    per_image, _ = evaluate_folder(folder, models=(), baselines=("grey",), progress=False)
    row = per_image[(per_image["file"] == "galaxy0.png") & (per_image["region"] == "whole")].iloc[0]
    lab = rgb_to_lab_numpy(np.asarray(Image.open(folder / "galaxy0.png"), dtype=np.float32) / 255.0)
    # grey predicts ab = 0, so its ab MAE is the mean |a*|,|b*| of the truth
    assert row["ab_mae"] == pytest.approx(np.abs(lab[..., 1:]).mean(), rel=1e-4)


def test_lookup_and_mean_come_from_the_shipped_sdss_table():
    lightness = np.array([[20.0, 60.0]])
    mean = reference_prediction("mean", lightness)
    assert np.allclose(mean[0, 0], mean[0, 1])  # one color for every pixel
    lookup = reference_prediction("lookup", lightness)
    assert not np.allclose(lookup[0, 0], lookup[0, 1])  # depends on L
    # SDSS galaxies are yellowish: positive mean b*
    assert mean[0, 0, 1] > 0
    with pytest.raises(InputError, match="unknown reference"):
        reference_prediction("sepia", lightness)


def test_uncertainty_coverage_of_a_calibrated_gaussian_is_68_percent():
    rng = np.random.default_rng(1)
    truth = rng.normal(0, 2.0, (200, 200, 2))
    inside, total = uncertainty_coverage(np.zeros_like(truth), np.full_like(truth, 2.0), truth,
                                         np.ones((200, 200), bool))
    # 40,000 pixels: the binomial standard error of 0.68 is 0.0023
    assert inside / total == pytest.approx(0.6827, abs=0.01)
    inside, _ = uncertainty_coverage(np.zeros_like(truth), np.zeros_like(truth), truth, np.ones((200, 200), bool))
    assert inside == 0


def test_report_writes_tables_figures_and_record(folder, tiny_weights, tmp_path):
    per_image, failures = evaluate_folder(folder, models=[str(tiny_weights)], manifest=folder / "manifest.csv",
                                          progress=False)
    written = write_report(per_image, failures, tmp_path)
    for name in ("per_image.csv", "summary.csv", "summary.md", "failures.csv", "montage.png", "errors.png",
                 "ab_scatter.png", "record.json"):
        assert (tmp_path / name).stat().st_size > 0, name
        assert name in written
    summary = pd.read_csv(tmp_path / "summary.csv")
    row = summary[(summary["model"] == "grey") & (summary["region"] == "galaxy")].iloc[0]
    assert row["delta_e2000_low"] <= row["delta_e2000"] <= row["delta_e2000_high"]
    text = (tmp_path / "summary.md").read_text()
    assert "Survey: decals" in text and "Survey: sdss" in text
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["n_images"] == 3 and record["n_failures"] == 1
    assert record["models"]["tiny"]["weights_sha256"]


def test_cli_evaluate(folder, tiny_weights, tmp_path, capsys):
    from galcolor.cli import main

    assert main(["evaluate", "--data", str(folder), "--models", str(tiny_weights), "-o", str(tmp_path),
                 "--quiet"]) == 0
    assert "| lookup | galaxy |" in capsys.readouterr().out
    assert main(["evaluate", "--data", str(tmp_path / "missing"), "-o", str(tmp_path), "--quiet"]) == 1


def test_classification_heads_get_bin_accuracy_and_cross_entropy(folder, tiny_weights, tmp_path):
    import torch

    torch.manual_seed(0)
    path = tmp_path / "bins.pt"
    save_weights(get_model("unet", width=4, depth=2, head="classification"), path)
    per_image, failures = evaluate_folder(folder, models=[str(tiny_weights), str(path)], progress=False)
    bins = per_image[per_image["model"] == "bins"]
    assert len(bins) == 3 * 2
    # an untrained head over K bins: accuracy in [0, 1], cross-entropy near log K
    k = get_model("unet", width=4, depth=2, head="classification").grid.centers.shape[0]
    assert bins["accuracy"].between(0, 1).all()
    assert bins["cross_entropy"].between(0.5 * np.log(k), 2.0 * np.log(k)).all()
    # regression heads and reference colorizers have no bins
    assert per_image[per_image["model"].isin(["tiny", "grey"])]["accuracy"].isna().all()
    write_report(per_image, failures, tmp_path / "report")
    text = (tmp_path / "report" / "summary.md").read_text()
    assert "bin accuracy" in text and "cross-entropy (nats)" in text
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    row = summary[(summary["model"] == "bins") & (summary["region"] == "galaxy")].iloc[0]
    assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]


def test_weights_files_with_the_same_name_keep_separate_rows(folder, tiny_weights, tmp_path):
    import shutil

    other = tmp_path / "other" / "tiny.pt"
    other.parent.mkdir()
    shutil.copy(tiny_weights, other)
    per_image, _ = evaluate_folder(folder, models=[str(tiny_weights), str(other)], baselines=(), progress=False)
    labels = sorted(per_image["model"].unique())
    assert len(labels) == 2 and "other/tiny" in labels
    assert per_image.groupby("model").size().tolist() == [6, 6]
