"""Colour quality of colorizers on real SDSS galaxies, side by side.

Evaluates, on the SDSS Galaxy Zoo validation images of ``../shared/data``
(central 208 px of the 424 px frame resized to 128 px, DESIGN.md's reference
protocol), in one run:

* ``grey``: a* = b* = 0;
* ``lookup``: the mean ab per lightness bin of the training set
  (:class:`galcolor.baselines.LightnessLookup`, fitted on all 6,704 training
  images with the same crop and size; cached in ``benchmarks/results``);
* every weights file given with ``--weights`` (:func:`galcolor.models.load_weights`).

For each: ab MAE and CIEDE2000 on galaxy pixels (L > 15) and on whole images,
and the ratio of the galaxy ΔE00 to the lookup table's. Writes
``benchmarks/results/colorizer_quality.md`` (and ``.json``).

Run from the repository root::

    python benchmarks/bench_colorizer.py [--n-val 500] [--weights galcolor/weights/default.pt ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

import galcolor
from galcolor.baselines import GreyColorizer, LightnessLookup
from galcolor.datasets import ImageFolder
from galcolor.metrics import ab_mae, delta_e2000

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
SIZE, CROP = 128, 208


def fitted_lookup(n_train: int | None, workers: int) -> LightnessLookup:
    """The lookup table of the training set (cached as an .npz)."""
    cache = RESULTS / f"lookup_table_{SIZE}px_crop{CROP}.npz"
    lookup = LightnessLookup()
    if cache.exists() and n_train is None:
        stored = np.load(cache)
        lookup.counts, lookup.sums, lookup.squares = stored["counts"], stored["sums"], stored["squares"]
        return lookup
    train = ImageFolder(SHARED / "sdss-gz" / "train", size=SIZE, crop=CROP)
    indices = range(len(train)) if n_train is None else range(min(n_train, len(train)))
    loader = DataLoader(torch.utils.data.Subset(train, list(indices)), batch_size=32, num_workers=workers)
    lookup.fit(tqdm(loader, desc="fitting the lookup table"))
    if n_train is None:
        np.savez(cache, counts=lookup.counts, sums=lookup.sums, squares=lookup.squares)
    return lookup


def evaluate(colorizer, batches: list[dict]) -> dict[str, float]:
    """ab MAE and ΔE00 on galaxy pixels and whole images, pooled over all pixels."""
    predicted, truth, galaxy = [], [], []
    with torch.no_grad():
        for batch in batches:
            ab, _ = colorizer.predict(batch["lightness"])
            lightness = batch["lightness"].numpy().transpose(0, 2, 3, 1)
            predicted.append(np.concatenate([lightness, ab.numpy().transpose(0, 2, 3, 1)], axis=-1))
            truth.append(np.concatenate([lightness, batch["ab"].numpy().transpose(0, 2, 3, 1)], axis=-1))
            galaxy.append(batch["galaxy_mask"].numpy()[:, 0])
    predicted, truth, galaxy = np.concatenate(predicted), np.concatenate(truth), np.concatenate(galaxy)
    return {
        "ab_mae_galaxy": ab_mae(predicted[..., 1:], truth[..., 1:], galaxy),
        "de00_galaxy": delta_e2000(predicted, truth, galaxy),
        "ab_mae_whole": ab_mae(predicted[..., 1:], truth[..., 1:]),
        "de00_whole": delta_e2000(predicted, truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-val", type=int, default=500)
    parser.add_argument("--n-train", type=int, default=None, help="fit the lookup table on fewer images")
    parser.add_argument("--weights", nargs="*", default=[], help="weights files of trained models")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", default="colorizer_quality")
    arguments = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the real data in {SHARED}")

    val = ImageFolder(SHARED / "sdss-gz" / "val", size=SIZE, crop=CROP)
    subset = torch.utils.data.Subset(val, list(range(min(arguments.n_val, len(val)))))
    batches = list(tqdm(DataLoader(subset, batch_size=25, num_workers=arguments.workers), desc="validation"))
    colorizers = {"grey": GreyColorizer(), "lookup": fitted_lookup(arguments.n_train, arguments.workers)}
    for path in arguments.weights:
        from galcolor.models import load_weights

        model = load_weights(path).eval()
        colorizers[f"{model.name}/{model.head} ({Path(path).name})"] = model
    results = {name: evaluate(colorizer, batches) for name, colorizer in colorizers.items()}
    reference = results["lookup"]["de00_galaxy"]

    lines = [
        "Colour quality on real SDSS Galaxy Zoo validation galaxies",
        "==========================================================",
        "",
        f"Command:  python benchmarks/bench_colorizer.py --n-val {arguments.n_val}"
        + (f" --weights {' '.join(arguments.weights)}" if arguments.weights else ""),
        f"Date:     {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, galcolor {galcolor.__version__}",
        f"Data:     {len(subset)} val images, central {CROP} px -> {SIZE} px; galaxy = L > 15; "
        "metrics pooled over pixels",
        "",
        f"{'colorizer':40s} {'ab MAE gal':>10s} {'dE00 gal':>9s} {'vs lookup':>9s} {'ab MAE all':>10s} {'dE00 all':>9s}",
    ]
    for name, row in results.items():
        lines.append(f"{name:40s} {row['ab_mae_galaxy']:10.2f} {row['de00_galaxy']:9.2f} "
                     f"{row['de00_galaxy'] / reference:8.2f}x {row['ab_mae_whole']:10.2f} {row['de00_whole']:9.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{arguments.output}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"{arguments.output}.json").write_text(json.dumps(results, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
