"""
Does color find star formation?
===============================

galcolor exists to find star-forming clumps in galaxies seen in one band,
through the color it predicts. This tutorial asks how much that color adds
to the light alone, on one simulated galaxy here, and on the benchmark's
simulated and real galaxies (``benchmarks/bench_knots.py``).

A clump is a compact knot of light that is bluer than the disk around it.
:func:`galcolor.find_star_forming_regions` takes its candidates from the
light (knots that stand out of the galaxy's symmetric part) and from the
color (blue patches the light missed), measures both kinds of evidence for
each, and scores them with a classifier fitted for the evidence in hand:

* ``lightness``: the light alone (a grey image, or ``color_evidence=False``);
* ``predicted``: light + the colorizer's predicted color;
* ``true``: light + the real gri color, the reference.
"""

import json
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import galcolor
from galcolor.evaluation import label_candidates
from galcolor.regions import NoRegionsWarning
from galcolor.datasets import simulate

# %%
# Three kinds of evidence on one galaxy
# -------------------------------------
# A simulated galaxy with six clumps, seen in the r band. The same finder
# runs on its light alone, on its predicted color and on its true color. One
# galaxy is an anecdote (on others the ranking differs); the benchmark below
# is the measurement.

galaxy = simulate(1, size=128, seed=34, max_clumps=6)[0]
cutout = galaxy.to_cutout("r")
colorized = galcolor.Colorizer()(cutout)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", NoRegionsWarning)
    catalogs = {
        "light alone": galcolor.find_star_forming_regions(colorized, color_evidence=False),
        "light + predicted color": galcolor.find_star_forming_regions(colorized),
        "light + true color": galcolor.find_star_forming_regions(cutout),
    }
clumps = galaxy.truth[np.asarray(galaxy.truth["kind"]) == "clump"]
for name, catalog in catalogs.items():
    correct, _, _ = label_candidates(catalog, galaxy.truth)
    print(f"{name:24s} {len(catalog)} regions (score >= 0.5), {int(correct.sum())} on the "
          f"{len(clumps)} simulated clumps; scored by {catalog.meta['calibration']}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.8), layout="constrained")
images = (colorized.lightness / 100.0, colorized.rgb, galaxy.rgb)
for axis, (name, catalog), image in zip(axes, catalogs.items(), images):
    axis.imshow(image, origin="lower", cmap="gray")
    axis.plot(clumps["x"], clumps["y"], "x", color="white", markersize=6)
    for row in catalog:
        axis.add_patch(plt.Circle((row["x"].value, row["y"].value), 4, fill=False, color="cyan"))
    axis.set_title(name, fontsize=9)
    axis.set_xlim(24, 104)
    axis.set_ylim(24, 104)
    axis.set_axis_off()
fig.suptitle("regions at score >= 0.5 (circles) and simulated clumps (x)")
plt.show()

# %%
# The ablation
# ------------
# The benchmark searches the same galaxies with each kind of evidence and
# counts a region at score >= 0.5: 500 simulated galaxies (seed 202, never
# used for fitting), and 400 real SDSS Galaxy Zoo validation galaxies with
# 1-3 knots injected into them the way Galaxy Zoo: Clump Scout measured its
# completeness, plus hard negatives (neutral to red point sources). The
# last row of each block is galcolor 0.1's method, which looked for
# candidates only where the predicted color already showed an excess.
# Purity is not defined on real galaxies (they have clumps of their own
# that nobody labelled); ``hard_negatives_hit`` is the share of injected
# stars scored as clumps.

# sphinx-gallery runs examples in their own folder, docs/examples: the
# records are two levels up, in the repository's benchmarks/results.
record = next(folder / "benchmarks" / "results" / "knots" / "knots.json"
              for folder in (Path.cwd(), *Path.cwd().parents)
              if (folder / "benchmarks" / "results" / "knots" / "knots.json").is_file())
results = json.loads(record.read_text())
rows = []
for name, label in (("sim_bench", "simulated"), ("injected_val", "real + injected")):
    for definition, kinds in results[name].items():
        for kind, measured in kinds.items():
            rows.append({"galaxies": label, "definition": definition, "evidence": kind,
                         "completeness": measured["completeness"], "purity": measured.get("purity", np.nan),
                         "hard negatives hit": measured["hard_negatives_hit"], "ECE": measured["ece"]})
table = pd.DataFrame(rows).round(3)
table

# %%
# Where the clumps are missed
# ---------------------------
# In simulation every clump is known, so the misses can be placed: here by
# their distance from the galaxy's centre, in PSF FWHM. Far out in the disk
# nearly every clump is found from the light and the true color; within
# 1.5-2 FWHM of the nucleus a clump blends with it at the PSF, and what sets
# it apart, its light above the galaxy's point-symmetric part, is of the
# size of the galaxy's own asymmetry there.

zones = pd.DataFrame([{"evidence": kind, "distance from the centre (PSF FWHM)": zone, **entry}
                      for kind, measured in results["sim_bench"]["new"].items()
                      for zone, entry in measured.get("completeness_by_radius", {}).items()])
if len(zones):
    fig, axis = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    for kind, group in zones.groupby("evidence", sort=False):
        axis.plot(group["distance from the centre (PSF FWHM)"], group["completeness"], marker="o", label=kind)
    axis.set_xlabel("distance of the simulated clump from the centre (PSF FWHM)")
    axis.set_ylabel("completeness (score >= 0.5)")
    axis.set_ylim(0, 1.02)
    axis.legend(fontsize=8)
    plt.show()

# %%
# On plain real galaxies there is no truth; the question is whether the
# regions found from the predicted color are those found from the true
# color.

plain = results.get("plain_val")
if plain:
    print(f"{plain['n_galaxies']} plain SDSS val galaxies: predicted-color regions recover "
          f"{plain['completeness']:.2f} of the true-color regions at purity {plain['purity']:.2f}")
    print("regions per galaxy:", {k: round(v, 2) for k, v in plain["regions_per_galaxy"].items()})

# %%
# Found and missed knots on real galaxies
# ---------------------------------------
# Real SDSS galaxies with injected knots, searched with the true color (top)
# and the predicted color (bottom). Green: injected clumps found; red:
# missed; orange / white dotted: hard negatives scored as clumps / rejected;
# cyan +: other regions (real knots, or false ones).

figure = record.with_name("knots_injected_examples.png")
fig, axis = plt.subplots(figsize=(12, 5.6), layout="constrained")
axis.imshow(plt.imread(figure))
axis.set_axis_off()
plt.show()

# %%
# What this says
# --------------
# Most of what finds a clump is its light: a compact knot stands out of the
# galaxy's symmetric part whatever its color, and galcolor 0.1's method,
# which waited for the predicted color to show an excess, found almost
# none. Each knot is measured in its core, one PSF FWHM around its peak, so
# that a knot on an arm has its own color, not the arm's. The true color
# adds what the light cannot say, whether the knot is bluer than what lies
# beneath it (the disk around it, and the galaxy at its point-symmetric
# counterpart, which shows the bulge's color near the nucleus): in
# simulation it rejects most of the light's false knots (purity 0.88
# against 0.68, completeness 0.85 against 0.82), and it rejects red and
# neutral point sources (on real galaxies 7 % of them score as clumps,
# against 81 % from the light alone). The predicted color adds little yet:
# the colorizer paints knots nearly the color of their disk (the injected
# knots above look the same in the bottom row whatever their true color),
# so its classifier trades completeness for purity without telling a clump
# from a star; nor is it used to split neighbours off the galaxy (a bright
# clump painted like a bulge was cut out of the galaxy with it). Near the
# nucleus every kind of evidence misses clumps: there a clump and the
# nucleus are one blur at the PSF. That is the next step of the project.
# The numbers of each release are in ``benchmarks/results/knots/knots.md``.
