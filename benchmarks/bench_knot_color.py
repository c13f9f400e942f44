"""Does the predicted color carry the color of compact knots? Predicted against true blue excess at known knots.

Issue 27's first number. Every object of ``--n-sim`` simulated galaxies
(seed 202, 128 px, the region benchmark's) and every knot and hard negative
injected into ``--n-injected`` SDSS Galaxy Zoo *val* frames (seed 12, the
frames of ``pipelines/region_candidates.py --sets injected_val``) is measured
in the true and in the predicted color of the default model
(:func:`galcolor.evaluation.knot_color.knot_color_excess`: the b* of the disk
beneath, known objects left out, minus the PSF-smoothed b* at the object;
positive is bluer). Records the least-squares slope of predicted on true,
the correlation, the medians and the fraction of bluer knots predicted bluer,
for the catalog clumps and all clumps of the simulation, the injected clumps
and the injected hard negatives; a scatter figure and a gallery of injected
knots in true and predicted color::

    python benchmarks/bench_knot_color.py [--n-sim 500] [--n-injected 400] [--weights FILE] [--detail FILE|none]
        [--name NAME]

Results: ``benchmarks/results/knots/knot_color.md``, ``.json``,
``knot_color.png``, ``knot_color_examples.png`` (with ``--name NAME``:
``knot_color_NAME.*``, for weights that are not the shipped model).
Target (issue 27): correlation >= 0.6 on simulated and on injected knots.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

import galcolor  # noqa: E402
from galcolor.datasets import simulate  # noqa: E402
from galcolor.evaluation.knot_color import (excess_agreement, injected_knot_colors,  # noqa: E402
                                            simulated_knot_colors)
from galcolor.evaluation.knots import inject_frame  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, resolve_weights, save_figure, write_json, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "knots"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss-gz"
GROUPS = {
    "simulated catalog clumps": lambda s, i: s[s["catalog"]],
    "simulated clumps (all)": lambda s, i: s[s["kind"] == "clump"],
    "injected clumps": lambda s, i: i[i["kind"] == "clump"],
    "injected hard negatives": lambda s, i: i[i["kind"] == "star"],
}


def gallery(paths: list[Path], colorizer: galcolor.Colorizer, header: dict, stem: str, n: int = 6) -> None:
    """Injected knots (the first ``n`` frames with a clump), true color above, predicted below."""
    rng = np.random.default_rng(12)
    shown = []
    for path in paths:
        frame = inject_frame(path, rng)
        if frame is None:
            continue
        clumps = [row for row in frame.truth if row["kind"] == "clump"]
        if clumps:
            shown.append((frame, clumps[0], colorizer(frame.cutout)))
        if len(shown) == n:
            break
    figure, axes = plt.subplots(2, len(shown), figsize=(2.1 * len(shown), 4.5))
    for column, (frame, knot, result) in enumerate(shown):
        x, y = float(knot["x"].value), float(knot["y"].value)
        half = int(round(6 * frame.fwhm))
        rows = slice(max(0, int(y) - half), int(y) + half)
        cols = slice(max(0, int(x) - half), int(x) + half)
        for row, (image, label) in enumerate(((frame.cutout.truth_rgb, "true"), (result.rgb, "predicted"))):
            axis = axes[row, column]
            axis.imshow(np.clip(image[rows, cols], 0, 1), origin="upper")
            axis.plot(x - cols.start, y - rows.start, marker="o", markersize=14, markerfacecolor="none",
                      markeredgecolor="white", linewidth=0)
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(label)
        axes[0, column].set_title(f"{frame.name}\n{float(knot['delta_gr']):+.2f} mag g-r", fontsize=7)
    figure.suptitle("knots injected into SDSS val galaxies (circled): true color above, predicted below",
                    fontsize=8)
    figure.tight_layout()
    save_figure(figure, RESULTS / f"{stem}_examples.png", header, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sim", type=int, default=500)
    parser.add_argument("--n-injected", type=int, default=400)
    parser.add_argument("--weights", default="default",
                        help="weights file of the colorizer, or a shipped model's name (default: default)")
    parser.add_argument("--detail", default="auto",
                        help="the full-resolution chroma path: 'auto' (the one shipped with the weights, if any), "
                             "'none', or a refiner's weights file (pipelines/train_detail.py)")
    parser.add_argument("--name", default=None, help="results go to knot_color_NAME.* (default knot_color.*)")
    arguments = parser.parse_args(argv)
    detail = {"auto": "auto", "none": None}.get(arguments.detail, arguments.detail)
    header = record_header(weights=[arguments.weights] + ([arguments.detail] if detail not in ("auto", None) else []))
    stem = "knot_color" if arguments.name is None else f"knot_color_{arguments.name}"
    path, _ = resolve_weights(arguments.weights)
    colorizer = galcolor.Colorizer(str(path) if arguments.weights != "default" else "default", detail=detail)
    simulated = simulated_knot_colors(simulate(arguments.n_sim, size=128, seed=202), colorizer)
    paths = sorted((SHARED / "val").glob("*.jp*g"))[:arguments.n_injected]
    if not paths:
        raise SystemExit(f"no SDSS Galaxy Zoo val images under {SHARED / 'val'}")
    injected = injected_knot_colors(paths, colorizer, seed=12)
    results = {"n_simulated_galaxies": arguments.n_sim, "n_injected_frames": len(paths), "groups": {}}
    for name, select in GROUPS.items():
        rows = select(simulated, injected)
        results["groups"][name] = {"b": excess_agreement(rows["b_excess_true"], rows["b_excess_predicted"]),
                                   "a": excess_agreement(rows["a_excess_true"], rows["a_excess_predicted"])}
    write_json(RESULTS / f"{stem}.json", results, header)

    lines = ["# Knot color: predicted against true excess at known knots", "",
             f"{arguments.n_sim} simulated galaxies (seed 202, 128 px) and {len(paths)} SDSS Galaxy Zoo val frames "
             f"with injected knots (seed 12, central 212 px), {arguments.weights} model with TTA, full-resolution "
             f"chroma path: {colorizer.detail_sha256[:12] + '…' if colorizer.detail is not None else 'none'}. "
             "Excess: the color of the disk "
             "beneath (known objects left out) minus the PSF-smoothed color at the object; b* positive is bluer. "
             "Slope: least squares of predicted on true (1: every knot's color right; 0: knots painted the color "
             "of their disk). 'bluer predicted bluer': of the objects truly bluer than their disk, the share "
             "predicted bluer; 'all predicted bluer': the share of all the objects predicted bluer. "
             "Target (issue 27): correlation >= 0.6, simulated and injected.", "",
             "| objects | n | b* slope | b* correlation | median true b* excess | median predicted | "
             "bluer predicted bluer | all predicted bluer | a* slope | a* correlation |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, entry in results["groups"].items():
        b, a = entry["b"], entry["a"]
        lines.append(f"| {name} | {b['n']} | {b['slope']:.2f} | {b['correlation']:.2f} | {b['median_true']:+.1f} | "
                     f"{b['median_predicted']:+.1f} | {b['bluer_too']:.2f} | {b['predicted_bluer']:.2f} | "
                     f"{a['slope']:.2f} | {a['correlation']:.2f} |")
    lines += ["", f"![scatter]({stem}.png)", "", f"![examples]({stem}_examples.png)", ""]
    write_markdown(RESULTS / f"{stem}.md", header, "\n".join(lines))
    print("\n".join(lines))

    frames = []
    for name, select in GROUPS.items():
        if name == "simulated clumps (all)":
            continue
        rows = select(simulated, injected)
        frames.append(pd.DataFrame({"true b* excess": rows["b_excess_true"],
                                    "predicted b* excess": rows["b_excess_predicted"], "objects": name}))
    data = pd.concat(frames, ignore_index=True)
    grid = sns.relplot(data=data, x="true b* excess", y="predicted b* excess", col="objects", s=10, alpha=0.5,
                       height=3.2, facet_kws={"sharex": False})
    for axis in grid.axes.flat:
        low, high = axis.get_xlim()
        axis.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=1)
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.axvline(0, color="grey", linewidth=0.5)
    grid.figure.suptitle("b* of the disk beneath minus that of the knot (positive: bluer); dotted: predicted = true",
                         fontsize=8, y=1.02)
    save_figure(grid.figure, RESULTS / f"{stem}.png", header, dpi=110, bbox_inches="tight")
    gallery(paths, colorizer, header, stem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
