"""How much of a knot's color excess can the lightness tell at all? A cross-validated ceiling for issue 27.

``bench_knot_color.py`` asks whether the predicted b* excess at known knots
follows the true one (target: correlation >= 0.6). A colorizer sees only
the lightness, so it can follow the true excess only as far as the
lightness carries it. This benchmark measures that from the truth alone:
the same objects (``--n-sim`` simulated galaxies, seed 202; knots and hard
negatives injected into ``--n-injected`` SDSS Galaxy Zoo *val* frames, seed
12), measured on L the way the finder measures them
(:func:`galcolor.evaluation.knot_color.knot_light_excess`: L at the object,
of the disk beneath, their difference, the distance from the centre in PSF
FWHMs, the PSF FWHM), and a gradient-boosted regression
(scikit-learn ``HistGradientBoostingRegressor``, absolute-error loss) of the
true b* excess on those numbers, cross-validated by galaxy
(``GroupKFold``, ``--folds``). Its correlation with the truth, on objects it
never saw, is what a predictor of these light measurements reaches; a
network that sees the whole image may do somewhat better, so read it as a
guide to where the information is, not as a hard bound.

Three predictors:

* **light, every object**: fitted on every object of the source (simulated
  clumps, stars and companions; injected clumps and hard negatives
  together), as a colorizer meets them;
* **light, told it is a clump**: fitted on the clumps alone (an observer who
  knows which objects are clumps);
* **light + the injected color offset**: clumps alone, given also the
  clump's drawn g-r offset from its disk (``delta_gr``, which nothing in the
  image shows): how much of the excess is that draw.

::

    python benchmarks/bench_knot_color_ceiling.py [--n-sim 500] [--n-injected 400] [--folds 5]
        [--compare benchmarks/results/knots/knot_color.json ...]

Results: ``benchmarks/results/knots/knot_color_ceiling.md`` and ``.json``;
``--compare`` adds the measured correlations of ``bench_knot_color.py``
result files as rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from galcolor.datasets import simulate
from galcolor.evaluation.knot_color import excess_agreement, injected_knot_colors, simulated_knot_colors

from bench_knot_color import GROUPS  # the groups of objects, as that benchmark reports them

from _record import RESULTS as ALL_RESULTS
from _record import record_header, write_json, write_markdown

RESULTS = ALL_RESULTS / "knots"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss-gz"
#: what the lightness shows of an object (galcolor.evaluation.knot_color.knot_light_excess, and the PSF)
LIGHT = ["l_object", "l_disk", "l_excess", "centre_distance_psf", "psf_fwhm"]
#: predictor -> the column of its out-of-fold predictions
PREDICTORS = {"light, every object": "every", "light, told it is a clump": "clump",
              "light + the injected color offset": "offset"}


class TrueColor:
    """A stand-in colorizer that returns each cutout itself: every "prediction" is measured in true color."""

    def __call__(self, cutout):
        return cutout

    def colorize_cutouts(self, cutouts):
        return list(cutouts)


def cross_validated(frame: pd.DataFrame, features: list[str], folds: int) -> np.ndarray:
    """Out-of-fold predictions of ``b_excess_true`` from ``features``, folds grouped by galaxy."""
    predicted = np.full(len(frame), np.nan)
    target = frame["b_excess_true"].to_numpy()
    for train, test in GroupKFold(folds).split(frame, groups=frame["image"]):
        model = HistGradientBoostingRegressor(loss="absolute_error", max_iter=200, learning_rate=0.05,
                                              min_samples_leaf=20, random_state=0)
        model.fit(frame[features].iloc[train], target[train])
        predicted[test] = model.predict(frame[features].iloc[test])
    return predicted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sim", type=int, default=500)
    parser.add_argument("--n-injected", type=int, default=400)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--compare", nargs="*", default=[], help="bench_knot_color.py result files (.json)")
    arguments = parser.parse_args(argv)
    header = record_header(weights=[])
    paths = sorted((SHARED / "val").glob("*.jp*g"))[:arguments.n_injected]
    if not paths:
        raise SystemExit(f"no SDSS Galaxy Zoo val images under {SHARED / 'val'}")
    sources = {"simulated": simulated_knot_colors(simulate(arguments.n_sim, size=128, seed=202), TrueColor()),
               "injected": injected_knot_colors(paths, TrueColor(), seed=12)}
    sources = {name: frame[np.isfinite(frame["b_excess_true"])].reset_index(drop=True)
               for name, frame in sources.items()}

    for frame in sources.values():
        frame["every"] = cross_validated(frame, LIGHT, arguments.folds)
        clumps = (frame["kind"] == "clump").to_numpy()
        for column, extra in (("clump", []), ("offset", ["delta_gr"])):
            frame[column] = np.nan
            frame.loc[clumps, column] = cross_validated(frame[clumps].reset_index(drop=True), LIGHT + extra,
                                                        arguments.folds)
    rows: dict[str, dict[str, float]] = {}
    for label, column in PREDICTORS.items():
        rows[label] = {}
        for group, select in GROUPS.items():
            objects = select(sources["simulated"], sources["injected"])
            rows[label][group] = excess_agreement(objects["b_excess_true"], objects[column])["correlation"]
    for path in arguments.compare:
        measured = json.loads(Path(path).read_text())
        rows[f"measured: {Path(path).stem}"] = {group: measured["groups"][group]["b"]["correlation"]
                                                for group in GROUPS}
    write_json(RESULTS / "knot_color_ceiling.json",
               {"n_simulated_galaxies": arguments.n_sim, "n_injected_frames": len(paths), "folds": arguments.folds,
                "features": LIGHT, "correlation": rows}, header)
    lines = ["# Knot color: how much the lightness can tell", "",
             f"Correlation with the true b* excess (disk beneath minus object; positive bluer) of a "
             f"{arguments.folds}-fold cross-validated (by galaxy) gradient-boosted regression on what the "
             f"lightness shows of each object ({', '.join(LIGHT)}); {arguments.n_sim} simulated galaxies "
             f"(seed 202) and {len(paths)} SDSS val frames with injected knots (seed 12), the objects of "
             "bench_knot_color.py. Rows 'measured' are colorizers' correlations from that benchmark. "
             "Issue 27's target is 0.6 on simulated and injected knots.", "",
             "| predictor | " + " | ".join(GROUPS) + " |", "|---|" + "---:|" * len(GROUPS)]
    for label, values in rows.items():
        lines.append(f"| {label} | " + " | ".join("—" if not np.isfinite(values[group]) else f"{values[group]:.2f}"
                                                 for group in GROUPS) + " |")
    write_markdown(RESULTS / "knot_color_ceiling.md", header, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
