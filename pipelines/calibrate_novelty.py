"""Measure the training range of a model's input properties and fit how much novelty widens ab_std.

1. The properties of :func:`galcolor.novelty.input_features` (light,
   noise, sharpness, scale, at the network's scale) of ``--n`` SDSS Galaxy
   Zoo training images (every k-th; the validation folder stays untouched)
   give each property's 0.5-99.5 % range.
2. On the first half of each survey of ``../shared/data/multisurvey`` (files
   in name order, even positions; ``benchmarks/bench_novelty.py`` evaluates
   the odd ones), each image colorized in galcolor's convention (TTA on, the
   model's calibrated table) needs its ``ab_std`` multiplied by the factor
   ``f`` that makes its 68 % ellipse hold 68.27 % of its galaxy pixels;
   ``k`` in ``f = 1 + k * novelty`` is the least-squares fit over those
   images (``f`` floored at 1: novelty never narrows).

Writes ``galcolor/weights/<model>/novelty.json`` and refreshes the bundle's
manifest::

    python pipelines/calibrate_novelty.py --model default --n 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import galcolor
from galcolor._atomic import atomic_write
from galcolor.color import rgb_to_lab_numpy
from galcolor.geometry import galaxy_mask
from galcolor.models.pretrained import load_bundle, write_manifest
from galcolor.novelty import fit_novelty_reference, input_features
from galcolor.uncertainty import CHI2_2DOF, COVERAGE

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def features_of(colorizer: galcolor.Colorizer, cutout: galcolor.Cutout) -> dict[str, float]:
    plan = colorizer._plan(cutout)
    return input_features(plan["network_lightness"][0].numpy(), scale=plan["scale"])


def needed_factor(result: galcolor.Colorization, true_lab: np.ndarray, valid: np.ndarray) -> float | None:
    """The factor on ab_std that makes its 68 % ellipse hold 68.27 % of the galaxy pixels (None: none)."""
    mask = galaxy_mask(true_lab[..., 0], valid)
    if mask.sum() < 50:
        return None
    residual = (true_lab[..., 1:] - result.ab)[mask]
    std = np.maximum(result.ab_std[mask], 1e-3)
    radius = np.sum((residual / std) ** 2, axis=1)
    return float(np.sqrt(np.quantile(radius, COVERAGE) / CHI2_2DOF))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--model", default="default")
    parser.add_argument("--train", type=Path, default=SHARED / "sdss-gz" / "train")
    parser.add_argument("--surveys", type=Path, default=SHARED / "multisurvey")
    parser.add_argument("--n", type=int, default=1000, help="training images for the ranges")
    arguments = parser.parse_args(argv)
    bundle = load_bundle(arguments.model)
    colorizer = galcolor.Colorizer(arguments.model, tta=True, progress=False)
    colorizer.novelty = None  # measure the model as it is, without any widening

    paths = sorted(arguments.train.glob("*.jpg"))
    paths = paths[:: max(1, len(paths) // arguments.n)][: arguments.n]
    training = [features_of(colorizer, galcolor.load(path)) for path in tqdm(paths, desc="training images")]
    reference = fit_novelty_reference(training, weights_sha256=bundle.weights_sha256)

    manifest = pd.read_csv(arguments.surveys / "MANIFEST.csv")
    rows = []
    for survey, group in manifest.groupby("survey"):
        for name in tqdm(sorted(group["file"])[0::2], desc=survey):
            cutout = galcolor.load(arguments.surveys / name)
            result = colorizer(cutout)
            valid = ~cutout.truth_invalid
            factor = needed_factor(result, rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, np.float32)), valid)
            if factor is None:
                continue
            novelty, feature = reference.score(features_of(colorizer, cutout))  # the image loaded once
            rows.append(
                {"survey": survey, "file": name, "novelty": novelty, "feature": feature, "factor": factor}
            )
    table = pd.DataFrame(rows)
    novel = table["novelty"].to_numpy()
    excess = np.maximum(table["factor"].to_numpy(), 1.0) - 1.0
    widening = float(np.sum(novel * excess) / np.sum(novel**2)) if np.any(novel > 0) else 0.0
    reference = fit_novelty_reference(
        training,
        weights_sha256=bundle.weights_sha256,
        widening=widening,
        provenance={
            "script": "pipelines/calibrate_novelty.py",
            "command": " ".join(["python"] + sys.argv),
            "training_images": len(training),
            "training_folder": "../shared/data/sdss-gz/train (every k-th)",
            "widening_fitted_on": f"{len(table)} multisurvey images (even positions of each survey)",
            "novel_fraction_by_survey": table.assign(novel=table["novelty"] > 0)
            .groupby("survey")["novel"]
            .mean()
            .round(3)
            .to_dict(),
            "galcolor_version": galcolor.__version__,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    path = bundle.folder / "novelty.json"
    with atomic_write(path) as handle:
        handle.write_text(json.dumps(reference.to_dict(), indent=1) + "\n")
    write_manifest(bundle.folder, training_geometry=bundle.training_geometry)
    print(table.groupby("survey")[["novelty", "factor"]].median().round(2).to_string())
    print(f"k = {widening:.3f}; wrote {path} and refreshed {bundle.folder / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
