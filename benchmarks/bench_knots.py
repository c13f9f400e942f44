"""Does color find star formation? Candidates from light and color, scored per kind of evidence.

Reads the benchmark sets of ``pipelines/region_candidates.py`` (simulated
galaxies, seed 202; SDSS Galaxy Zoo *val* frames with injected knots) and
scores every candidate with the shipped classifiers: light + predicted
color, light + true color, light alone. Same galaxies, same candidates, same
threshold (0.5). Records completeness, purity, hard negatives, expected
calibration error, reliability and the regions per galaxy::

    python pipelines/region_candidates.py --out ../cache/knots --sets sim_bench injected_val
    python benchmarks/bench_knots.py --sets ../cache/knots
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from galcolor.evaluation.knots import score_candidates  # noqa: E402
from galcolor.regions import EVIDENCE_KINDS, load_region_classifier  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import header_markdown, record_header, save_figure, write_json, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "knots"
THRESHOLD = 0.5
LABELS = {"predicted": "light + predicted color", "true": "light + true color", "lightness": "light alone"}


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Mean |fraction positive - mean score| over equal-width score bins, weighted by their counts."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.sum() * abs(labels[inside].mean() - scores[inside].mean())
    return float(total / max(len(scores), 1))


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges) - 1, 0, bins - 1)
    return [{"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int((index == b).sum()),
             "mean_score": float(scores[index == b].mean()), "fraction_real": float(labels[index == b].mean())}
            for b in range(bins) if (index == b).any()]


def rates(candidates: pd.DataFrame, truth: pd.DataFrame, kind: str, definition: str) -> dict:
    cand = candidates[(candidates["kind"] == kind) & (candidates["definition"] == definition)]
    tru = truth[(truth["kind_of_evidence"] == kind) & (truth["definition"] == definition)]
    score_of = dict(zip(zip(cand["image"], cand["id"]), cand["score"]))
    detected = np.asarray([score_of.get((image, det), np.nan) if det >= 0 else np.nan
                           for image, det in zip(tru["image"], tru["detection"])])
    found = np.nan_to_num(detected, nan=-1.0) >= THRESHOLD
    catalog = tru["catalog"].to_numpy(bool)
    negatives = (tru["kind"] != "clump").to_numpy()
    kept = cand[cand["score"] >= THRESHOLD]
    labelled = cand[cand["label"] >= 0]
    result = {
        "completeness": float(found[catalog].mean()) if catalog.any() else float("nan"),
        "n_catalog_clumps": int(catalog.sum()),
        "candidates_found": float((np.asarray(tru["detection"]) >= 0)[catalog].mean()) if catalog.any() else np.nan,
        "hard_negatives_hit": float(found[negatives].mean()) if negatives.any() else float("nan"),
        "n_hard_negatives": int(negatives.sum()),
        "regions_per_galaxy": float(len(kept) / max(cand["image"].nunique(), 1)),
        "ece": expected_calibration_error(labelled["score"].to_numpy(), (labelled["label"] == 1).to_numpy()),
        "reliability": reliability(labelled["score"].to_numpy(), (labelled["label"] == 1).to_numpy()),
    }
    if definition != "injected":  # every simulated object is known: purity is defined
        result["purity"] = float((kept["matched_kind"] == "clump").mean()) if len(kept) else float("nan")
        result["n_regions"] = int(len(kept))
    else:  # real galaxies have knots of their own: report the unlabelled ones per galaxy
        other = kept[kept["label"] < 0]
        result["unlabelled_regions_per_galaxy"] = float(len(other) / max(cand["image"].nunique(), 1))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, required=True)
    args = parser.parse_args(argv)
    header = record_header()
    classifiers = {kind: load_region_classifier(kind) for kind in EVIDENCE_KINDS}
    results: dict = {"threshold": THRESHOLD, "classifiers": {k: c.source for k, c in classifiers.items()}}
    rows = []
    curves = []
    for name, definitions in (("sim_bench", ("new", "old")), ("injected_val", ("injected",))):
        candidates = pd.read_parquet(args.sets / f"{name}_candidates.parquet")
        truth = pd.read_parquet(args.sets / f"{name}_truth.parquet")
        candidates["score"] = score_candidates(candidates, classifiers)
        for definition in definitions:
            for kind in EVIDENCE_KINDS:
                measured = rates(candidates, truth, kind, definition)
                results.setdefault(name, {}).setdefault(definition, {})[kind] = measured
                rows.append({"set": name, "definition": definition, "evidence": LABELS[kind],
                             **{k: v for k, v in measured.items() if k != "reliability"}})
                for entry in measured["reliability"]:
                    curves.append({"set": f"{name} ({definition})", "evidence": LABELS[kind], **entry})
    table = pd.DataFrame(rows)
    write_json(RESULTS / "knots.json", results, header)
    columns = ["set", "definition", "evidence", "completeness", "purity", "hard_negatives_hit", "ece",
               "regions_per_galaxy", "unlabelled_regions_per_galaxy", "n_catalog_clumps", "candidates_found"]
    text = ("# Does color find star formation?\n\nCandidates from the light and the color "
            "(`candidates=\"light+color\"`), scored by the shipped classifier of each kind of evidence; "
            f"a region counts at score >= {THRESHOLD}. `candidates_found`: share of the catalog clumps with "
            "any candidate within 1.5 FWHM (the ceiling of completeness).\n\n"
            + table[[c for c in columns if c in table]].to_markdown(index=False, floatfmt=".3f")
            + "\n\n![reliability](knots_reliability.png)\n")
    write_markdown(RESULTS / "knots.md", header, text)
    frame = pd.DataFrame(curves)
    grid = sns.relplot(data=frame, x="mean_score", y="fraction_real", hue="evidence", col="set", kind="line",
                       marker="o", height=3.2, facet_kws={"xlim": (0, 1), "ylim": (0, 1)})
    for ax in grid.axes.flat:
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    save_figure(grid.figure, RESULTS / "knots_reliability.png", header, dpi=110)
    plt.close("all")
    print(header_markdown(header))
    print(json.dumps({r["set"] + "/" + r["definition"] + "/" + r["evidence"]:
                      {k: round(v, 3) for k, v in r.items() if isinstance(v, float)} for r in rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
