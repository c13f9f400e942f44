"""How much the region classifiers' numbers move from one fit to the next: the same sets, other seeds.

One fit of a region classifier puts its trees on 70 % of the training
galaxies and its isotonic calibration on the other 30 %, drawn with a seed;
``pipelines/fit_region_classifiers.py`` ships the mean of five such fits
(seeds 0-4, ``fit_region_classifier(members=5)``). This fits that ensemble
with ``--seeds`` members for each kind of evidence on the same train sets,
scores the benchmark sets exactly as ``bench_knots.py`` does (duplicates
merged, score >= 0.5) and reports each member alone, their spread, and the
ensemble; writes ``benchmarks/results/knots/region_seeds.{json,md}``::

    python benchmarks/bench_region_seeds.py --sets ../cache/knots14
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from galcolor.evaluation.knots import candidate_features, merge_duplicates
from galcolor.regions import EVIDENCE_KINDS, fit_region_classifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))
from fit_region_classifiers import training_rows  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, write_json, write_markdown  # noqa: E402
from bench_knots import LABELS, markdown_table, rates  # noqa: E402

RESULTS = ALL_RESULTS / "knots"
SETS = (("sim_bench", "new"), ("injected_val", "injected"))
COLUMNS = ("completeness", "purity", "hard_negatives_hit", "ece")


def measure(folder: Path, kind: str, seeds: int) -> list[dict]:
    rows = training_rows(folder, kind)
    labels = rows["label"].to_numpy() == 1
    ensemble = fit_region_classifier(candidate_features(rows, kind), labels, rows["group"].to_numpy(), kind=kind,
                                     members=seeds)
    results = []
    for name, definition in SETS:
        candidates = pd.read_parquet(folder / f"{name}_candidates.parquet")
        truth = pd.read_parquet(folder / f"{name}_truth.parquet")
        candidates = candidates[(candidates["kind"] == kind) & (candidates["definition"] == definition)].copy()
        truth = truth[(truth["kind_of_evidence"] == kind) & (truth["definition"] == definition)]
        features = candidate_features(candidates, kind)
        fits = [(f"seed {seed}", member(features)) for seed, member in enumerate(ensemble.members)]
        for fit, score in fits + [("mean of the seeds' scores", ensemble(features))]:
            merged, merged_truth = merge_duplicates(candidates.assign(score=score), truth)
            measured = rates(merged, merged_truth, kind, definition)
            results.append({"set": name, "evidence": LABELS[kind], "fit": fit,
                            **{k: measured.get(k, float("nan")) for k in COLUMNS}})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, required=True, help="region_candidates.py's folder")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    header = record_header()
    table = pd.DataFrame([row for kind in EVIDENCE_KINDS for row in measure(args.sets, kind, args.seeds)])
    single = table[table["fit"].str.startswith("seed")]
    spread = single.groupby(["set", "evidence"], sort=False)[list(COLUMNS)].agg(["mean", "std", "min", "max"])
    spread.columns = [f"{column} {statistic}" for column, statistic in spread.columns]
    spread = spread.reset_index()
    write_json(RESULTS / "region_seeds.json", {"seeds": args.seeds, "fits": table.to_dict(orient="records")},
               header)
    lines = ["# The region classifiers, fitted again with other seeds", "",
             f"Each kind of evidence fitted {args.seeds} times on the same train sets (the seed draws the 30 % of "
             "galaxies that calibrate and the trees' subsamples), scored on the same benchmark sets as "
             "`bench_knots.py` (score >= 0.5). A difference between two single fits smaller than the spread here "
             "is noise; the shipped classifier is the mean of the five fits' scores (the last row of each "
             "block).", "",
             "## Each fit", "", markdown_table(table), "",
             "## Spread of the single fits", "", markdown_table(spread), ""]
    write_markdown(RESULTS / "region_seeds.md", header, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
