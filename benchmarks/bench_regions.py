"""Star-forming regions: completeness, purity and calibration, on simulated and real galaxies.

``--simulated`` (default): 500 simulated galaxies from a seed never used for
calibration (``pipelines/calibrate_regions.py`` uses 101; this uses 202).
Regions are found in the **predicted** color (the default model colorizing
the simulated r band) and in the **true** gri color, and matched one to one
to the simulator's truth within 1.5 PSF FWHM.

* Truth: simulated clumps less than 1 PSF FWHM apart are one blend
  (:func:`galcolor.evaluation.resolve_blends`): they make one knot in the
  image and no finder can split them. The simulator scatters clumps from
  0.25 to 1.6 disk radii, so on small, distant galaxies more than half of
  the clumps have a neighbour within 1.5 PSF FWHM.
* Completeness: the fraction of *catalog clumps* found with a score at or
  above the threshold. Catalog clumps follow the Galaxy Zoo: Clump Scout
  definition (Adams et al. 2022): at least 8 % of the galaxy's light (here in
  g, the bluest simulated band), and off the galaxy's centre (at least
  1 PSF FWHM from it: Clump Scout volunteers were told not to mark the
  bulge, and a clump on the nucleus cannot be told from a blue nucleus).
  Completeness including the clumps on the nucleus, and for all simulated
  clumps down to 1 %, is reported too.
* Purity: the fraction of regions at or above the threshold that match a
  clump or blend (of any brightness, anywhere). Foreground stars, red companions and
  neighbours are in the truth as hard negatives: a region on one is wrong,
  and their contamination rate is reported separately.

Figures: precision-recall curves (thresholds on ``score``), reliability
diagram of ``score``, completeness against clump brightness, and the first
galaxies whose catalog clumps the true color missed.

``--real``: the 500 SDSS validation galaxies (``../shared/data/sdss-gz/val``):
regions from the predicted color (the L of the JPEG colorized) and from the
JPEG's true color, and how well the first catalog recovers the second,
with an overlay montage.

Run from the repository root::

    python benchmarks/bench_regions.py --simulated [--n 500]
    python benchmarks/bench_regions.py --real [--n 500]

Results, in ``benchmarks/results/regions/``: ``regions.md`` (and ``.json``)
and the figures ``regions_pr.png``, ``regions_reliability.png``,
``regions_completeness.png``, ``regions_missed.png``,
``regions_real_overlay.png``. A run of one part (``--real``) keeps the other
part's results, each with the header of the run that measured it.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from astropy import units as u  # noqa: E402
from tqdm import tqdm  # noqa: E402

import galcolor  # noqa: E402
from galcolor.evaluation import (  # noqa: E402
    BLEND_LINK,
    MATCH_RADIUS,
    evaluate_on_simulation,
    match_regions,
    resolve_blends,
)
from galcolor.regions import NoRegionsWarning, find_star_forming_regions  # noqa: E402
from galcolor.datasets import simulate  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import header_markdown, record_header, save_figure, write_json, write_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ALL_RESULTS / "regions"
SHARED = ROOT.parent / "shared" / "data"
#: Clump Scout's clump: at least 8 % of the galaxy's (u-band) light ...
CATALOG_CLUMP_FRACTION = 0.08
#: ... and off the bulge: at least this many PSF FWHMs from the galaxy centre.
CATALOG_CLUMP_MIN_RADIUS = 1.0
THRESHOLD = 0.5
#: A catalog clump with another clump (or blend) nearer than this many PSF FWHMs is
#: "crowded": the PSF-convolved image barely separates the two, and the detector must.
CROWDED_SEPARATION = 2.0


def catalog_clumps(truth: pd.DataFrame, min_fraction: float = CATALOG_CLUMP_FRACTION,
                   min_radius: float = CATALOG_CLUMP_MIN_RADIUS) -> pd.DataFrame:
    """The true clumps (blends) a clump catalog should hold: bright enough and off the centre."""
    return truth[(truth["kind"] == "clump") & (truth["flux_fraction_g"] >= min_fraction)
                 & (truth["r_centre_psf"] >= min_radius)]


def rates(candidates: pd.DataFrame, truth: pd.DataFrame, threshold: float,
          min_fraction: float = CATALOG_CLUMP_FRACTION) -> dict[str, float]:
    """Completeness, purity and hard-negative contamination at one score threshold."""
    kept = candidates[candidates["score"] >= threshold]
    bright = catalog_clumps(truth, min_fraction, min_radius=-np.inf)
    clumps = catalog_clumps(truth, min_fraction)
    all_clumps = truth[truth["kind"] == "clump"]
    negatives = truth[truth["kind"] != "clump"]
    found = lambda rows: float((rows["score"] >= threshold).mean()) if len(rows) else float("nan")  # noqa: E731
    crowded = clumps["nearest_clump_psf"] < CROWDED_SEPARATION
    return {
        "threshold": threshold,
        "completeness": found(clumps),
        "completeness_isolated": found(clumps[~crowded]),
        "completeness_crowded": found(clumps[crowded]),
        "n_crowded": int(crowded.sum()),
        "completeness_with_nuclear": found(bright),
        "completeness_all_clumps": found(all_clumps),
        "purity": float(kept["correct"].mean()) if len(kept) else float("nan"),
        "n_regions": int(len(kept)),
        "n_catalog_clumps": int(len(clumps)),
        "n_blends": int((all_clumps["n_members"] > 1).sum()),
        "n_simulated_clumps": int(all_clumps["n_members"].sum()),
        "hard_negatives_hit": found(negatives),
        "n_hard_negatives": int(len(negatives)),
    }


def simulated(n: int, seed: int, header: dict) -> dict:
    start = time.perf_counter()
    galaxies = simulate(n, size=128, seed=seed)
    colorizer = galcolor.Colorizer()
    candidates, truth = evaluate_on_simulation(galaxies, colorizer=colorizer, min_score=0.0)
    elapsed = time.perf_counter() - start
    results = {"n_galaxies": n, "seed": seed, "seconds": round(elapsed, 1),
               "model": colorizer.model_name, "weights_sha256": colorizer.weights_sha256}
    curves = []
    for color in ("predicted", "true"):
        rows, objects = candidates[candidates["color"] == color], truth[truth["color"] == color]
        results[color] = rates(rows, objects, THRESHOLD)
        for threshold in np.linspace(0.0, 0.98, 50):
            curves.append({"color": color, **rates(rows, objects, float(threshold))})
        bins = np.linspace(0, 1, 11)
        index = np.clip(np.digitize(rows["score"], bins) - 1, 0, 9)
        results[color]["reliability"] = [
            {"bin": f"{bins[k]:.1f}-{bins[k + 1]:.1f}", "n": int((index == k).sum()),
             "mean_score": float(rows["score"][index == k].mean()) if (index == k).any() else None,
             "fraction_correct": float(rows["correct"][index == k].mean()) if (index == k).any() else None}
            for k in range(10)]
    curves = pd.DataFrame(curves)
    _figures(candidates, truth, curves, header)
    _missed_clumps_figure(galaxies, truth[truth["color"] == "true"], header)
    return results


def _figures(candidates: pd.DataFrame, truth: pd.DataFrame, curves: pd.DataFrame, header: dict) -> None:
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.lineplot(data=curves, x="completeness", y="purity", hue="color", marker="o", markersize=3, ax=ax,
                 sort=False)
    for color, rows in curves.groupby("color"):
        point = rows.iloc[(rows["threshold"] - THRESHOLD).abs().argmin()]
        ax.plot(point["completeness"], point["purity"], "k*", ms=12)
    ax.axvline(0.85, color="grey", ls=":")
    ax.axhline(0.85, color="grey", ls=":")
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel=f"completeness (off-nucleus clumps >= {CATALOG_CLUMP_FRACTION:.0%} of g light)",
           ylabel="purity", title="Simulated galaxies: precision-recall over score (* = 0.5)")
    fig.tight_layout()
    save_figure(fig, RESULTS / "regions_pr.png", header, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4.5))
    bins = np.linspace(0, 1, 11)
    for color, rows in candidates.groupby("color"):
        index = np.clip(np.digitize(rows["score"], bins) - 1, 0, 9)
        table = pd.DataFrame({"bin": index, "score": rows["score"], "correct": rows["correct"].astype(float)})
        summary = table.groupby("bin").agg(score=("score", "mean"), correct=("correct", "mean"),
                                           n=("score", "size"))
        ax.plot(summary["score"], summary["correct"], "o-", label=f"{color} color")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(xlabel="mean score in bin", ylabel="fraction that are clumps", xlim=(0, 1), ylim=(0, 1),
           title="Reliability of score (simulated, held-out seed)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, RESULTS / "regions_reliability.png", header, dpi=120)
    plt.close(fig)

    clumps = catalog_clumps(truth, min_fraction=0.0).copy()  # every off-nucleus clump, by brightness
    clumps["found"] = (clumps["score"] >= THRESHOLD).astype(float)
    clumps["fraction bin"] = pd.cut(clumps["flux_fraction_g"], [0.01, 0.02, 0.04, 0.08, 0.12, 0.2, 1.0])
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.pointplot(data=clumps, x="fraction bin", y="found", hue="color", ax=ax, errorbar=("ci", 95))
    ax.set(xlabel="clump (blend) fraction of the galaxy's g light", title="Off-nucleus clumps",
           ylabel=f"completeness (score >= {THRESHOLD})",
           ylim=(0, 1.02))
    fig.tight_layout()
    save_figure(fig, RESULTS / "regions_completeness.png", header, dpi=120)
    plt.close(fig)


def _missed_clumps_figure(galaxies: list, truth: pd.DataFrame, header: dict, n: int = 6) -> None:
    """True color and significance of the first galaxies whose catalog clumps the true color missed.

    Crosses: catalog clumps (cyan), fainter clumps (white), hard negatives
    (red), after :func:`resolve_blends`; circles: regions found (lime at or
    above the threshold, yellow below).
    """
    catalog = catalog_clumps(truth)
    missed = catalog[~(catalog["score"] >= THRESHOLD)]
    numbers = list(dict.fromkeys(missed["galaxy"]))[:n]
    if not numbers:
        return
    fig, axes = plt.subplots(2, len(numbers), figsize=(2.4 * len(numbers), 5.0), squeeze=False)
    for column, number in enumerate(numbers):
        cutout = galaxies[number].to_cutout("r")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoRegionsWarning)
            regions, maps = find_star_forming_regions(cutout, min_score=0.0, return_maps=True)
        blends = resolve_blends(galaxies[number].truth, maps.psf_fwhm, link=BLEND_LINK)
        rows = truth[truth["galaxy"] == number]
        crowded = rows["nearest_clump_psf"].to_numpy() < CROWDED_SEPARATION
        kinds, fractions = np.asarray(blends["kind"], dtype=str), np.asarray(blends["flux_fraction_g"])
        marker_colors = np.where(kinds != "clump", "red",
                                  np.where(fractions >= CATALOG_CLUMP_FRACTION, "cyan", "white"))
        true_x, true_y = u.Quantity(blends["x"]).value, u.Quantity(blends["y"]).value
        height, width = maps.significance.shape
        # framed on the galaxy's clumps, with 3 PSF FWHM to spare
        reach = np.max(np.abs(np.stack([true_x - width / 2, true_y - height / 2])[:, kinds == "clump"]))
        half = min(max(12.0, float(reach) + 3 * maps.psf_fwhm), width / 2)
        for row, (image, title) in enumerate(((cutout.truth_rgb, "true color"),
                                              (maps.significance, "significance of blue excess"))):
            ax = axes[row, column]
            if row == 0:
                ax.imshow(image, origin="lower")
            else:
                ax.imshow(image, origin="lower", cmap="RdBu_r", vmin=-6, vmax=6)
            ax.scatter(true_x, true_y, marker="+", s=60, c=marker_colors, linewidths=1.2)
            if len(regions):
                scores = np.asarray(regions["score"], dtype=float)
                ax.scatter(u.Quantity(regions["x"]).value, u.Quantity(regions["y"]).value, s=110,
                           facecolors="none", edgecolors=np.where(scores >= THRESHOLD, "lime", "yellow"))
            ax.set(xlim=(width / 2 - half, width / 2 + half), ylim=(height / 2 - half, height / 2 + half),
                   xticks=[], yticks=[])
            if row == 0:
                ax.set_title(f"galaxy {number}: {int(crowded.sum())} crowded", fontsize=8)
            else:
                ax.set_title(title, fontsize=8)
    fig.suptitle("Catalog clumps missed in true color (cyan +; regions found: circles)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, RESULTS / "regions_missed.png", header, dpi=100)
    plt.close(fig)


def real(n: int, header: dict) -> dict:
    files = sorted((SHARED / "sdss-gz" / "val").glob("*.jp*g"))[:n]
    if not files:
        raise SystemExit(f"no SDSS validation images under {SHARED / 'sdss-gz' / 'val'}")
    colorizer = galcolor.Colorizer()
    thresholds = (0.0, THRESHOLD)
    counts = {t: {"true": 0, "predicted": 0, "recovered": 0, "correct": 0} for t in thresholds}
    scores = {"true": [], "predicted": []}
    examples = []
    start = time.perf_counter()
    for path in tqdm(files, desc="SDSS val", unit="galaxy"):
        cutout = galcolor.load(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoRegionsWarning)
            true_regions = find_star_forming_regions(cutout, min_score=0.0)
            colorized = colorizer(cutout)
            predicted_regions = find_star_forming_regions(colorized, min_score=0.0)
        scores["true"] += list(np.asarray(true_regions["score"], dtype=float))
        scores["predicted"] += list(np.asarray(predicted_regions["score"], dtype=float))
        psf = float(true_regions.meta["parameters"]["psf_fwhm"])
        for threshold in thresholds:
            kept_true = true_regions[np.asarray(true_regions["score"]) >= threshold]
            kept_predicted = predicted_regions[np.asarray(predicted_regions["score"]) >= threshold]
            detected, truth_match = match_regions(
                u.Quantity(kept_predicted["x"]).value, u.Quantity(kept_predicted["y"]).value,
                u.Quantity(kept_true["x"]).value, u.Quantity(kept_true["y"]).value, MATCH_RADIUS * psf)
            tally = counts[threshold]
            tally["true"] += len(kept_true)
            tally["predicted"] += len(kept_predicted)
            tally["recovered"] += int((truth_match >= 0).sum())
            tally["correct"] += int((detected >= 0).sum())
        if len(examples) < 8 and len(true_regions) >= 2:
            examples.append((path.name, cutout, colorized, true_regions, predicted_regions))
    elapsed = time.perf_counter() - start
    _overlay(examples, header)
    result = {"n_galaxies": len(files), "seconds": round(elapsed, 1), "model": colorizer.model_name,
              "weights_sha256": colorizer.weights_sha256,
              "score_quantiles": {color: [float(q) for q in np.quantile(values, [0.5, 0.9, 0.99])]
                                  if values else [] for color, values in scores.items()}}
    for threshold, tally in counts.items():
        result[f"score>={threshold}"] = {
            "true_color_regions": tally["true"], "predicted_color_regions": tally["predicted"],
            "completeness": tally["recovered"] / tally["true"] if tally["true"] else float("nan"),
            "purity": tally["correct"] / tally["predicted"] if tally["predicted"] else float("nan")}
    return result


def _overlay(examples: list, header: dict) -> None:
    if not examples:
        return
    fig, axes = plt.subplots(2, len(examples), figsize=(2.3 * len(examples), 5), squeeze=False)
    for column, (name, cutout, colorized, true_regions, predicted_regions) in enumerate(examples):
        for row, (image, regions, label) in enumerate(((cutout.truth_rgb, true_regions, "true color"),
                                                       (colorized.rgb, predicted_regions, "galcolor"))):
            ax = axes[row, column]
            ax.imshow(image)
            good = np.asarray(regions["score"]) >= THRESHOLD
            for selection, color, width in ((~good, "yellow", 0.6), (good, "cyan", 1.4)):
                ax.scatter(u.Quantity(regions["x"]).value[selection], u.Quantity(regions["y"]).value[selection],
                           s=60, facecolors="none", edgecolors=color, linewidths=width)
            ax.set_xlim(212 - 110, 212 + 110)
            ax.set_ylim(212 + 110, 212 - 110)
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(label)
            if row == 0:
                ax.set_title(name, fontsize=7)
    fig.suptitle("SDSS validation galaxies: candidate regions (yellow) and regions with score >= 0.5 (cyan), "
                 "from true and predicted color", fontsize=9)
    fig.tight_layout()
    save_figure(fig, RESULTS / "regions_real_overlay.png", header, dpi=110)
    plt.close(fig)


def _measured_by(part: dict, header: dict) -> list[str]:
    """The header of the run that measured ``part``, when another run wrote the file (empty otherwise)."""
    if "header" not in part:
        return ["Measured by an earlier run, which recorded no header.", ""]
    if part["header"] == header:
        return []
    return ["Measured by an earlier run:", "", header_markdown(part["header"]).rstrip("\n"), ""]


def _markdown(results: dict) -> str:
    header = results["header"]
    lines = ["# Star-forming regions", ""]
    if "simulated" in results:
        sim = results["simulated"]
        lines += [f"## Simulated galaxies ({sim['n_galaxies']}, seed {sim['seed']}, never used for calibration)",
                  "", *_measured_by(sim, header),
                  f"Score threshold {THRESHOLD}; matching radius {MATCH_RADIUS} PSF FWHM. Clumps less than "
                  "1 PSF FWHM apart are one blend. Catalog clumps (Clump Scout) have "
                  f">= {CATALOG_CLUMP_FRACTION:.0%} of the galaxy's g light and lie >= "
                  f"{CATALOG_CLUMP_MIN_RADIUS:g} PSF FWHM from its centre "
                  f"({sim['true']['n_catalog_clumps']} of them; "
                  f"{sim['true']['n_simulated_clumps']} simulated clumps made "
                  f"{sim['true']['n_blends']} blends). {sim['true']['n_crowded']} of the catalog clumps are "
                  f"crowded: another clump (or blend) lies within {CROWDED_SEPARATION:g} PSF FWHM.", "",
                  "| color | completeness | purity | completeness, isolated / crowded "
                  "| completeness with nuclear | completeness, all clumps | hard negatives hit | regions |",
                  "|---|---|---|---|---|---|---|---|"]
        for color in ("predicted", "true"):
            r = sim[color]
            lines.append(f"| {color} | {r['completeness']:.3f} | {r['purity']:.3f} | "
                         f"{r['completeness_isolated']:.3f} / {r['completeness_crowded']:.3f} | "
                         f"{r['completeness_with_nuclear']:.3f} | "
                         f"{r['completeness_all_clumps']:.3f} | {r['hard_negatives_hit']:.3f} "
                         f"(of {r['n_hard_negatives']}) | {r['n_regions']} |")
        lines += ["", "Goal: predicted color >= 0.85 / 0.85, true color >= 0.95 / 0.90.", "",
                  "![precision-recall](regions_pr.png)", "", "![reliability](regions_reliability.png)", "",
                  "![completeness by clump brightness](regions_completeness.png)", "",
                  "![catalog clumps missed in true color](regions_missed.png)", ""]
    if "real" in results:
        r = results["real"]
        lines += [f"## SDSS validation galaxies ({r['n_galaxies']})", "", *_measured_by(r, header),
                  "How well the regions found in the predicted color recover those found in the true color "
                  f"(same method, same L, matching within {MATCH_RADIUS} PSF FWHM), for every candidate (score >= 0) and "
                  f"at the default threshold (score >= {THRESHOLD}):", "",
                  "| score | true-color regions | predicted-color regions | completeness | purity |",
                  "|---|---|---|---|---|"]
        for threshold in (0.0, THRESHOLD):
            t = r[f"score>={threshold}"]
            lines.append(f"| >= {threshold} | {t['true_color_regions']} | {t['predicted_color_regions']} | "
                         f"{t['completeness']:.3f} | {t['purity']:.3f} |")
        quantiles = r["score_quantiles"]
        lines += ["", "Median / 90th / 99th percentile of the candidates' scores: true color "
                  + " / ".join(f"{q:.3f}" for q in quantiles["true"]) + ", predicted color "
                  + " / ".join(f"{q:.3f}" for q in quantiles["predicted"]) + ".", "",
                  "![overlay](regions_real_overlay.png)", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulated", action="store_true")
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=202)
    args = parser.parse_args()
    if not (args.simulated or args.real):
        args.simulated = True
    header = record_header()  # the predicted color is the shipped default model's
    path = RESULTS / "regions.json"
    # a run of one part keeps the other part's results (each part keeps the header of its run)
    previous = json.loads(path.read_text()) if path.exists() else {}
    results = {part: previous[part] for part in ("simulated", "real") if part in previous}
    if args.simulated:
        results["simulated"] = {"header": header, **simulated(args.n, args.seed, header)}
    if args.real:
        results["real"] = {"header": header, **real(args.n, header)}
    write_json(path, results, header)
    write_markdown(RESULTS / "regions.md", header, _markdown({"header": header, **results}))
    print(_markdown({"header": header, **results}))


if __name__ == "__main__":
    main()
