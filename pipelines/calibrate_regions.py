"""Fit the calibrated ``score`` of star-forming regions on simulated galaxies.

Simulates galaxies whose clumps are known (calibration seeds only: the
benchmark uses others), finds every candidate region in their predicted
color (the default model colorizing the r band) and in their true color,
labels each candidate by whether it matches a simulated clump (or a blend of
clumps less than 1 PSF FWHM apart, which no finder can split) within 1.5 PSF
FWHM, and fits one logistic model per color. The predicted-color model goes
into the colorizer's bundle (``galcolor/weights/<name>/region_score.json``,
manifest refreshed), the true-color one to
``galcolor/data/region_score_true.json``::

    python pipelines/calibrate_regions.py --n 600 --seed 101

It also writes the labelled candidates (``--candidates``, Parquet) so the fit
can be inspected or redone without simulating again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import galcolor
from galcolor._atomic import atomic_write
from galcolor.evaluation import BLEND_LINK, MATCH_RADIUS, evaluate_on_simulation
from galcolor.models.pretrained import write_manifest
from galcolor.regions import SCORE_FEATURES, ScoreCalibration, fit_score_calibration
from galcolor.regions.score import TRUE_COLOR_CALIBRATION_FILE
from galcolor.datasets import simulate

#: Scores every candidate 0.5: the calibration pass keeps all candidates.
UNCALIBRATED = ScoreCalibration.uninformative("none")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=600, help="simulated galaxies")
    parser.add_argument("--seed", type=int, default=101, help="simulator seed (calibration seeds only)")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--model", default="default", help="colorizer model for the predicted color")
    parser.add_argument("--no-tta", action="store_true", help="colorize without test-time augmentation")
    parser.add_argument("--output", type=Path, default=None,
                        help="predicted-color calibration file (default: the --model bundle's region_score.json, "
                             "whose manifest is then refreshed)")
    parser.add_argument("--output-true", type=Path, default=Path("galcolor/data") / TRUE_COLOR_CALIBRATION_FILE,
                        help="true-color calibration file (the region finder's own, for every model)")
    parser.add_argument("--candidates", type=Path, default=None, help="also write the labelled candidates")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    galaxies = simulate(args.n, size=args.size, seed=args.seed)
    colorizer = galcolor.Colorizer(args.model, tta=not args.no_tta)
    candidates, _ = evaluate_on_simulation(galaxies, colorizer=colorizer, min_score=0.0,
                                           calibration=UNCALIBRATED)
    result = {}
    for color in ("predicted", "true"):
        rows = candidates[candidates["color"] == color]
        provenance = {
            "script": "pipelines/calibrate_regions.py", "simulate_seed": args.seed, "n_galaxies": args.n,
            "size": args.size, "n_candidates": int(len(rows)), "n_correct": int(rows["correct"].sum()),
            "match_radius_psf_fwhm": MATCH_RADIUS, "blend_link_psf_fwhm": BLEND_LINK,
            "galcolor_version": galcolor.__version__,
        }
        if color == "predicted":
            provenance.update(model=colorizer.model_name, weights_sha256=colorizer.weights_sha256,
                              tta=not args.no_tta)
        model = fit_score_calibration(rows[list(SCORE_FEATURES)].to_numpy(), rows["correct"].to_numpy(),
                                      color=color, provenance=provenance)
        result[color] = {color: model.to_dict()}
        print(f"{color}: {len(rows)} candidates, {int(rows['correct'].sum())} clumps; "
              f"coefficients {dict(zip(SCORE_FEATURES, np.round(model.coef, 3)))}")
    bundle = colorizer.bundle
    output = args.output
    if output is None:
        if bundle is None:
            raise SystemExit(f"{args.model} is not a shipped model: pass --output for its calibration")
        output = bundle.path("weights").parent / "region_score.json"
    for path, data in ((output, result["predicted"]), (args.output_true, result["true"])):
        with atomic_write(path) as temporary:
            temporary.write_text(json.dumps(data, indent=2) + "\n")
    if args.output is None:
        write_manifest(output.parent, training_geometry=bundle.training_geometry)
    if args.candidates is not None:
        with atomic_write(args.candidates) as temporary:
            candidates.to_parquet(temporary)
    print(f"wrote {output} and {args.output_true} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
