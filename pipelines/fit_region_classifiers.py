"""Fit the region classifiers (one per kind of evidence) on labelled candidate sets.

Reads the train sets of ``pipelines/region_candidates.py`` (simulated
galaxies, calibration seed, and SDSS Galaxy Zoo *train* frames with injected
knots), keeps the candidates whose label is known (``label >= 0``; in
simulation under the new benchmark definition), leaves out the positives
that lie nearer their galaxy's centre than the clump they match (nuclei
blended with a clump, :func:`galcolor.evaluation.knots.nucleus_matches`)
and fits, for each kind of
evidence, boosted trees plus an isotonic calibration on held-out galaxies, five
times with other draws of galaxies, averaged (``--members``)
(:func:`galcolor.regions.fit_region_classifier`). The predicted-color
classifier belongs to the colorizer's weights and goes into its bundle
(``galcolor/weights/<model>/region_classifier.json``, manifest refreshed);
the true-color and lightness classifiers go to
``galcolor/data/region_classifier.json``::

    python pipelines/fit_region_classifiers.py --sets ../cache/knots
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from galcolor._atomic import atomic_write
from galcolor.models import load_bundle
from galcolor.models.pretrained import write_manifest
from galcolor.evaluation.knots import candidate_features, nucleus_matches
from galcolor.regions import EVIDENCE_KINDS, fit_region_classifier
from galcolor.regions.classifier import CLASSIFIER_FILE

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SETS = ("sim_train", "injected_train")


def training_rows(folder: Path, kind: str) -> pd.DataFrame:
    """The labelled candidates of the train sets; a positive nearer its galaxy's centre than its clump is left out."""
    frames = []
    for name in TRAIN_SETS:
        table = pd.read_parquet(folder / f"{name}_candidates.parquet")
        table = table[(table["kind"] == kind) & (table["label"] >= 0)]
        if "definition" in table:
            table = table[table["definition"].isin(["new", "injected"])]
        truth = pd.read_parquet(folder / f"{name}_truth.parquet")
        nucleus = nucleus_matches(table, truth) & (table["label"] == 1).to_numpy()
        frames.append(table[~nucleus].assign(group=name + ":" + table["image"].astype(str)))
    return pd.concat(frames, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, required=True, help="folder of region_candidates.py's tables")
    parser.add_argument("--model", default="default", help="the colorizer bundle whose predicted color was used")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--members", type=int, default=5,
                        help="fits averaged, seeds --seed, --seed + 1, ... (benchmarks/bench_region_seeds.py)")
    args = parser.parse_args(argv)
    fitted = {}
    for kind in EVIDENCE_KINDS:
        rows = training_rows(args.sets, kind)
        features = candidate_features(rows, kind)
        provenance = {"sets": list(TRAIN_SETS),
                      "definition": "new (blends within 1.5 FWHM; clumps 0.1 mag bluer in g-r than the disk beneath)",
                      "left_out": "positives nearer their galaxy's centre than the clump they match "
                                  "(galcolor.evaluation.knots.nucleus_matches)",
                      "n_per_set": rows["group"].str.split(":").str[0].value_counts().to_dict(),
                      "command": "python pipelines/fit_region_classifiers.py"}
        fitted[kind] = fit_region_classifier(features, rows["label"].to_numpy() == 1, rows["group"].to_numpy(),
                                             kind=kind, seed=args.seed, members=args.members,
                                             provenance=provenance)
        print(kind, len(rows), int((rows["label"] == 1).sum()), flush=True)
    bundle = load_bundle(args.model)
    for kind in ("predicted",):
        fitted[kind].provenance["weights_sha256"] = bundle.weights_sha256
        detail = bundle.manifest["files"].get("detail")
        fitted[kind].provenance["detail_sha256"] = None if detail is None else detail["sha256"]
    bundle_file = bundle.folder / CLASSIFIER_FILE
    with atomic_write(bundle_file) as temporary:
        temporary.write_text(json.dumps({"predicted": fitted["predicted"].to_dict()}))
    write_manifest(bundle.folder, training_geometry=bundle.training_geometry)
    data_file = ROOT / "galcolor" / "data" / CLASSIFIER_FILE
    with atomic_write(data_file) as temporary:
        temporary.write_text(json.dumps({kind: fitted[kind].to_dict() for kind in ("true", "lightness")}))
    print(f"wrote {bundle_file} and {data_file}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
