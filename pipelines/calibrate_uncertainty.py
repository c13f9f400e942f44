"""Fit the calibrated-uncertainty table of a colorizer on held-out SDSS training galaxies.

Colorizes every ``--every``-th image of the SDSS Galaxy Zoo training folder
(the validation folder stays untouched for the evaluation) with TTA, as
``galcolor.colorize`` does by default, and fits, per lightness bin, the
standard deviation of a*, b* whose 68 % region holds 68.27 % of the true
colors (:func:`galcolor.uncertainty.fit_residual_table`); the Colorizer adds
the model's own spread to it in quadrature. Writes the table into the
model's bundle (``galcolor/weights/<name>/uncertainty.json``) and refreshes
the bundle's manifest::

    python pipelines/calibrate_uncertainty.py --model default --n 400
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import galcolor
from galcolor._atomic import atomic_write
from galcolor.color import rgb_to_lab_numpy
from galcolor.models.pretrained import write_manifest
from galcolor.uncertainty import fit_residual_table

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--train", type=Path, default=SHARED / "sdss-gz" / "train")
    parser.add_argument("--n", type=int, default=400, help="images to fit on")
    parser.add_argument("--every", type=int, default=15, help="take every N-th training image")
    parser.add_argument("--offset", type=int, default=7, help="start at this image")
    parser.add_argument("--output", type=Path, default=None,
                        help="table file (default: the --model bundle's uncertainty.json, whose manifest is then "
                             "refreshed)")
    parser.add_argument("--save-pixels", type=Path, default=None, help="also keep the sampled pixels (.npz)")
    args = parser.parse_args(argv)

    files = sorted(args.train.glob("*.jp*g"))[args.offset::args.every][:args.n]
    if not files:
        raise SystemExit(f"no training images under {args.train}")
    start = time.perf_counter()
    colorizer = galcolor.Colorizer(args.model, tta=True, uncertainty="spread")
    samples = []
    rng = np.random.default_rng(0)
    for chunk in tqdm(range(0, len(files), 16), desc="colorizing", unit="batch"):
        cutouts = [galcolor.load(path) for path in files[chunk:chunk + 16]]
        for cutout, result in zip(cutouts, colorizer(cutouts)):
            truth = rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32))
            # every galaxy pixel (L > 15) and 5,000 of the sky pixels: the sky
            # bins need few pixels, and all of them would take ~10 GB
            valid = ~cutout.mask
            sky = np.flatnonzero(valid & (cutout.lightness <= 15))
            valid &= cutout.lightness > 15
            valid.flat[rng.choice(sky, size=min(5000, sky.size), replace=False)] = True
            samples.append((cutout.lightness[valid], result.ab[valid], truth[..., 1:][valid]))
    if args.save_pixels is not None:
        np.savez_compressed(args.save_pixels, *[np.concatenate([part.reshape(len(part), -1) for part in sample], axis=1)
                                                for sample in samples])
    table = fit_residual_table(samples, weights_sha256=colorizer.weights_sha256, provenance={
        "script": "pipelines/calibrate_uncertainty.py", "model": colorizer.model_name,
        "images": len(files), "folder": "sdss-gz/train", "every": args.every, "offset": args.offset,
        "tta": True, "detail_sha256": colorizer.detail_sha256, "galcolor_version": galcolor.__version__})
    path = args.output
    if path is None:
        if colorizer.bundle is None:
            raise SystemExit(f"{args.model} is not a shipped model: pass --output for its table")
        path = colorizer.bundle.path("weights").parent / "uncertainty.json"
    with atomic_write(path) as temporary:
        temporary.write_text(json.dumps(table.to_dict(), indent=1) + "\n")
    if args.output is None:
        write_manifest(path.parent, training_geometry=colorizer.bundle.training_geometry)
    sigma = np.asarray(table.sigma)
    print(f"wrote {path} ({len(files)} images, {time.perf_counter() - start:.0f} s); sigma a* "
          f"{sigma[:, 0].min():.2f}-{sigma[:, 0].max():.2f}, b* {sigma[:, 1].min():.2f}-{sigma[:, 1].max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
