"""Does color find star formation? Candidates from light and color, scored per kind of evidence.

Reads the benchmark sets of ``pipelines/region_candidates.py`` (simulated
galaxies, seed 202; SDSS Galaxy Zoo *val* frames with injected knots) and
scores every candidate with the shipped classifiers: light + predicted
color, light + true color, light alone. Same galaxies, same candidates, same
threshold (0.5). Records completeness, purity, hard negatives, expected
calibration error, reliability and the regions per galaxy::

    python pipelines/region_candidates.py --out ../cache/knots --sets sim_bench injected_val
    python pipelines/region_candidates.py --out ../cache/knots-0.1 --sets sim_bench injected_val \
        --kinds color-excess
    python benchmarks/bench_knots.py --sets ../cache/knots --baseline ../cache/knots-0.1 --plain 500

``--baseline`` adds galcolor 0.1's method (candidates only where the
predicted color shows an excess, ``candidates="color"``) on the same
galaxies. ``--plain`` searches that many plain SDSS Galaxy Zoo *val* frames
(central 212 px, no injection) with each kind of evidence and measures how
many of the true-color regions the predicted-color ones recover, and how
many regions each kind finds per galaxy (a nuisance rate: nobody knows
their truth). A figure shows found and missed injected knots on real
galaxies.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

import galcolor  # noqa: E402
from galcolor.evaluation import MATCH_RADIUS, match_catalog  # noqa: E402
from galcolor.evaluation.knots import (COLOR_EXCESS, INJECTION_CROP, inject_frame,  # noqa: E402
                                       merge_duplicates, score_candidates)
from galcolor.regions import NoRegionsWarning, find_star_forming_regions, lightness_psf_fwhm  # noqa: E402
from PIL import Image  # noqa: E402
from galcolor.regions import EVIDENCE_KINDS, RegionParameters, load_region_classifier  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import header_markdown, record_header, save_figure, write_json, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "knots"
THRESHOLD = 0.5
LABELS = {"lightness": "light alone", "predicted": "light + predicted color", "true": "light + true color",
          COLOR_EXCESS: "galcolor 0.1: predicted color excess only"}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss-gz"


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


#: Distances from the galaxy's centre, in PSF FWHM, of the simulated clumps' completeness by zone.
RADIAL_ZONES = (1.0, 1.5, 2.0, 3.0, np.inf)


def rates(candidates: pd.DataFrame, truth: pd.DataFrame, kind: str, definition: str) -> dict:
    cand = candidates[(candidates["kind"] == kind) & (candidates["definition"] == definition)]
    tru = truth[(truth["kind_of_evidence"] == kind) & (truth["definition"] == definition)]
    score_of = dict(zip(zip(cand["image"], cand["id"]), cand["score"]))
    detected = np.asarray([score_of.get((image, det), np.nan) if det >= 0 else np.nan
                           for image, det in zip(tru["image"], tru["detection"])])
    found = np.nan_to_num(detected, nan=-1.0) >= THRESHOLD
    has_candidate = np.asarray(tru["detection"]) >= 0
    catalog = tru["catalog"].to_numpy(bool)
    negatives = (tru["kind"] != "clump").to_numpy()
    kept = cand[cand["score"] >= THRESHOLD]
    labelled = cand[cand["label"] >= 0]
    result = {
        "completeness": float(found[catalog].mean()) if catalog.any() else float("nan"),
        "n_catalog_clumps": int(catalog.sum()),
        "candidates_found": float(has_candidate[catalog].mean()) if catalog.any() else np.nan,
        "hard_negatives_hit": float(found[negatives].mean()) if negatives.any() else float("nan"),
        "n_hard_negatives": int(negatives.sum()),
        "regions_per_galaxy": float(len(kept) / max(cand["image"].nunique(), 1)),
        "ece": expected_calibration_error(labelled["score"].to_numpy(), (labelled["label"] == 1).to_numpy()),
        "reliability": reliability(labelled["score"].to_numpy(), (labelled["label"] == 1).to_numpy()),
    }
    if "r_centre_psf" in tru and catalog.any():  # simulation: where the misses are, by distance from the centre
        radius = tru["r_centre_psf"].to_numpy(dtype=np.float64)
        result["completeness_by_radius"] = {
            f"{low:g}-{high:g}": {"completeness": float(found[inside].mean()) if inside.any() else float("nan"),
                                  "candidates_found": float(has_candidate[inside].mean()) if inside.any()
                                  else float("nan"),
                                  "n_catalog_clumps": int(inside.sum())}
            for low, high in zip(RADIAL_ZONES[:-1], RADIAL_ZONES[1:])
            for inside in [catalog & (radius >= low) & (radius < high)]}
    if definition != "injected":  # every simulated object is known: purity is defined
        result["purity"] = float((kept["matched_kind"] == "clump").mean()) if len(kept) else float("nan")
        result["n_regions"] = int(len(kept))
    else:  # real galaxies have knots of their own: report the unlabelled ones per galaxy
        other = kept[kept["label"] < 0]
        result["unlabelled_regions_per_galaxy"] = float(len(other) / max(cand["image"].nunique(), 1))
    return result


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table, floats to 3 decimals, NaN as blank."""
    def cell(value) -> str:
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.3f}"
        return str(value)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def plain(n: int, colorizer: galcolor.Colorizer) -> dict:
    """Regions on plain Galaxy Zoo val frames: predicted against true color, and regions per galaxy."""
    from tqdm import tqdm

    paths = sorted((SHARED / "val").glob("*.jp*g"))[:n]
    counts = {"true": 0, "predicted": 0, "recovered": 0, "correct": 0}
    per_kind = {kind: 0 for kind in EVIDENCE_KINDS}
    for path in tqdm(paths, desc="plain val", unit="galaxy"):
        full = np.asarray(Image.open(path).convert("RGB"))
        top, left = (full.shape[0] - INJECTION_CROP) // 2, (full.shape[1] - INJECTION_CROP) // 2
        cutout = galcolor.load(full[top:top + INJECTION_CROP, left:left + INJECTION_CROP])
        cutout.source = path.name
        measured, _ = lightness_psf_fwhm(galcolor.load(full).lightness)  # as for the injected frames
        psf = measured if measured is not None and measured >= 1.0 else None
        colorization = colorizer(cutout)
        catalogs = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoRegionsWarning)
            catalogs["true"] = find_star_forming_regions(cutout, psf_fwhm=psf)
            catalogs["predicted"] = find_star_forming_regions(colorization, psf_fwhm=psf)
            catalogs["lightness"] = find_star_forming_regions(colorization, color_evidence=False, psf_fwhm=psf)
        for kind, catalog in catalogs.items():
            per_kind[kind] += len(catalog)
        true, predicted = catalogs["true"], catalogs["predicted"]
        psf = float(true.meta["parameters"]["psf_fwhm"])
        detected, truth_match = match_catalog(
            predicted, np.asarray(true["x"].value if len(true) else []),
            np.asarray(true["y"].value if len(true) else []), MATCH_RADIUS * psf)
        counts["true"] += len(true)
        counts["predicted"] += len(predicted)
        counts["recovered"] += int((truth_match >= 0).sum())
        counts["correct"] += int((detected >= 0).sum())
    return {"n_galaxies": len(paths), "crop": INJECTION_CROP, **counts,
            "completeness": counts["recovered"] / counts["true"] if counts["true"] else float("nan"),
            "purity": counts["correct"] / counts["predicted"] if counts["predicted"] else float("nan"),
            "regions_per_galaxy": {LABELS[kind]: value / max(len(paths), 1) for kind, value in per_kind.items()}}


def knots_figure(n_frames: int, colorizer: galcolor.Colorizer, header: dict) -> None:
    """Found and missed injected knots on real galaxies, from predicted and from true color."""
    from galcolor.color import lab_to_rgb_numpy

    paths = sorted((SHARED / "val").glob("*.jp*g"))
    rng = np.random.default_rng(12)  # injected_val's seed: the same injections as the benchmark set
    frames = []
    for path in paths:
        frame = inject_frame(path, rng)
        if frame is not None:
            frames.append(frame)
        if len(frames) == n_frames:
            break
    fig, axes = plt.subplots(2, len(frames), figsize=(2.6 * len(frames), 5.6), squeeze=False)
    for column, frame in enumerate(frames):
        colorization = colorizer(frame.cutout)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoRegionsWarning)
            found = {"true": find_star_forming_regions(frame.cutout, psf_fwhm=frame.finder_psf),
                     "predicted": find_star_forming_regions(colorization, psf_fwhm=frame.finder_psf)}
        images = {"true": frame.cutout.truth_rgb,
                  "predicted": lab_to_rgb_numpy(np.dstack([colorization.lightness, colorization.ab]))}
        x, y = frame.truth["x"].value, frame.truth["y"].value
        kinds = np.asarray(frame.truth["kind"])
        for row, kind in enumerate(("true", "predicted")):
            ax = axes[row, column]
            ax.imshow(np.clip(images[kind], 0, 1), origin="upper")
            catalog = found[kind]
            detected, truth_match = match_catalog(catalog, x, y, MATCH_RADIUS * frame.fwhm)
            for index in range(len(x)):
                hit = truth_match[index] >= 0
                color = ("lime" if hit else "red") if kinds[index] == "clump" else ("orange" if hit else "white")
                ax.add_patch(plt.Circle((x[index], y[index]), 1.5 * frame.fwhm, fill=False, color=color, lw=1.2,
                                        ls="-" if kinds[index] == "clump" else ":"))
            extra = [i for i in range(len(catalog)) if detected[i] < 0]
            if extra:
                ax.plot(catalog["x"].value[extra], catalog["y"].value[extra], "+", color="cyan", ms=7, mew=1.2)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(frame.name, fontsize=8)
            if column == 0:
                ax.set_ylabel(f"light + {kind} color", fontsize=8)
    fig.suptitle("Injected knots in real SDSS galaxies (score >= 0.5). Circles: injected clumps found (green) / "
                 "missed (red); hard negatives scored (orange) / rejected (white, dotted); +: other regions",
                 fontsize=8)
    fig.tight_layout()
    save_figure(fig, RESULTS / "knots_injected_examples.png", header, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, required=True, help="region_candidates.py's folder")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="the same sets searched with --kinds color-excess (galcolor 0.1's method)")
    parser.add_argument("--plain", type=int, default=0, help="plain SDSS val frames to compare colors on")
    parser.add_argument("--figure-frames", type=int, default=6)
    args = parser.parse_args(argv)
    header = record_header()
    classifiers = {kind: load_region_classifier(kind) for kind in EVIDENCE_KINDS}
    kinds = list(EVIDENCE_KINDS) + ([COLOR_EXCESS] if args.baseline else [])
    results: dict = {"threshold": THRESHOLD, "merge_radius_fwhm": RegionParameters.merge_radius,
                     "classifiers": {k: c.source for k, c in classifiers.items()},
                     "classifier_provenance": {k: c.provenance for k, c in classifiers.items()}}
    rows = []
    curves = []
    radial = []
    for name, definitions in (("sim_bench", ("new", "old")), ("injected_val", ("injected",))):
        folders = [args.sets] + ([args.baseline] if args.baseline else [])
        candidates = pd.concat([pd.read_parquet(f / f"{name}_candidates.parquet") for f in folders],
                               ignore_index=True)
        truth = pd.concat([pd.read_parquet(f / f"{name}_truth.parquet") for f in folders], ignore_index=True)
        candidates["score"] = score_candidates(candidates, classifiers)
        # the finder keeps one candidate of those closer than merge_radius: so does the benchmark
        merge = candidates["kind"].isin(EVIDENCE_KINDS).to_numpy()
        merge_truth = truth["kind_of_evidence"].isin(EVIDENCE_KINDS).to_numpy()
        merged, merged_truth = merge_duplicates(candidates[merge], truth[merge_truth])
        candidates = pd.concat([merged, candidates[~merge]], ignore_index=True)
        truth = pd.concat([merged_truth, truth[~merge_truth]], ignore_index=True)
        for definition in definitions:
            for kind in kinds:
                measured = rates(candidates, truth, kind, definition)
                results.setdefault(name, {}).setdefault(definition, {})[kind] = measured
                rows.append({"set": name, "definition": definition, "evidence": LABELS[kind],
                             **{k: v for k, v in measured.items()
                                if k not in ("reliability", "completeness_by_radius")}})
                for zone, entry in measured.get("completeness_by_radius", {}).items():
                    radial.append({"definition": definition, "evidence": LABELS[kind],
                                   "r_centre (PSF FWHM)": zone, **entry})
                for entry in measured["reliability"]:
                    curves.append({"set": f"{name} ({definition})", "evidence": LABELS[kind], **entry})
    colorizer = galcolor.Colorizer()
    if args.plain:
        results["plain_val"] = plain(args.plain, colorizer)
    if args.figure_frames:
        knots_figure(args.figure_frames, colorizer, header)
    table = pd.DataFrame(rows)
    write_json(RESULTS / "knots.json", results, header)
    columns = ["set", "definition", "evidence", "completeness", "purity", "hard_negatives_hit", "ece",
               "regions_per_galaxy", "unlabelled_regions_per_galaxy", "n_catalog_clumps", "candidates_found"]
    text = ("# Does color find star formation?\n\nSame galaxies, same threshold: candidates from the light and "
            "the color (`candidates=\"light+color\"`) scored by the shipped classifier of each kind of evidence "
            f"(of candidates closer than {RegionParameters.merge_radius} PSF FWHM, the highest-scoring one), "
            "and galcolor 0.1's method (candidates only where the predicted color shows an excess). A region "
            f"counts at score >= {THRESHOLD}. Simulation: seed 202, `new` = blends within 1.5 PSF FWHM and catalog "
            "clumps 0.1 mag bluer in g-r than the disk beneath, `old` = blends within 1 FWHM, any color (both: at "
            "least 8 % of the galaxy's g light, 1 FWHM or more from the centre). Injected: SDSS Galaxy Zoo val "
            "frames with 1-3 injected clumps (2-12 % of the r light, 0.3-0.8 mag bluer in g-r) and hard negatives "
            "(neutral to red); purity is not defined there (real galaxies have knots nobody labelled): "
            "`unlabelled_regions_per_galaxy` counts the regions on no injected object. `candidates_found`: share "
            "of the clumps with any candidate within 1.5 FWHM (the ceiling of completeness). `ece`: expected "
            "calibration error of the score over labelled candidates (10 bins).\n\n"
            + markdown_table(table[[c for c in columns if c in table]]) + "\n")
    if "plain_val" in results:
        plain_val = results["plain_val"]
        text += (f"\n## Plain SDSS val galaxies\n\n{plain_val['n_galaxies']} Galaxy Zoo val frames (central "
                 f"{plain_val['crop']} px): the predicted-color regions recover {plain_val['completeness']:.3f} of "
                 f"the {plain_val['true']} true-color regions, at purity {plain_val['purity']:.3f} "
                 f"({plain_val['predicted']} predicted-color regions). Regions per galaxy (a nuisance rate, not a "
                 "truth): " + ", ".join(f"{k} {v:.2f}" for k, v in plain_val["regions_per_galaxy"].items()) + ".\n")
    if radial:
        zones = pd.DataFrame(radial)
        zones = zones[zones["definition"] == "new"].drop(columns="definition")
        text += ("\n## Where the simulated clumps are missed\n\nCompleteness (score >= "
                 f"{THRESHOLD}) and `candidates_found` of the seed-202 catalog clumps (new definition) by their "
                 "distance from the galaxy's centre, in PSF FWHM. Within 1.5-2 FWHM a clump blends with the "
                 "nucleus at the PSF: there the galaxy's own asymmetry and a clump's light are of one size, and a "
                 "clump holding a tenth of the galaxy's light 1 FWHM from the nucleus is barely resolved from it."
                 "\n\n" + markdown_table(zones) + "\n")
    text += ("\n![reliability](knots_reliability.png)\n\n![injected knots in real galaxies]"
             "(knots_injected_examples.png)\n")
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
    if "plain_val" in results:
        print(json.dumps(results["plain_val"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
