"""
From color to a star-forming-region catalog
============================================

Find candidate star-forming knots, score them, write a catalog, and check it
against the simulator's truth.

:func:`galcolor.find_star_forming_regions` segments the galaxy with
photutils, finds compact knots in its light (the lightness against the part
of the galaxy its own 180-degree rotation shares) and blue patches in its
color, measures each on both (contrast, size, share of the light, blue
excess over the disk beneath) and scores each with a probability from
boosted trees calibrated on simulated galaxies and on real SDSS galaxies
with injected knots. It runs on the *predicted* color of a
:class:`~galcolor.Colorization`, on the *true* color of a
:class:`~galcolor.Cutout` that has one, or on the light alone, with the same
code, so the three can be compared (the tutorial "Does color find star
formation?" does).
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import galcolor
from galcolor.evaluation import label_candidates
from galcolor.regions import NoRegionsWarning
from galcolor.datasets import simulate

galaxies = simulate(3, size=128, seed=11)
colorizer = galcolor.Colorizer()  # loads the model once for all three

# %%
# Regions from predicted and from true color
# -------------------------------------------
# ``galaxy.to_cutout("r")`` is the r band with the true gri color attached
# (``truth_rgb``). ``min_score=0`` keeps every candidate, so that the truth
# comparison below sees them all.

predicted, true = [], []
with warnings.catch_warnings():
    warnings.simplefilter("ignore", NoRegionsWarning)
    for galaxy in galaxies:
        cutout = galaxy.to_cutout("r")
        result = colorizer(cutout)
        predicted.append((result, galcolor.find_star_forming_regions(result, min_score=0)))
        true.append(galcolor.find_star_forming_regions(cutout, min_score=0))

regions = predicted[0][1]["id", "x", "y", "ra", "dec", "light_significance", "size_psf", "blue_excess", "score"]
for name in regions.colnames[1:]:
    regions[name].info.format = ".5f" if name in ("ra", "dec") else ".2f"  # display only
regions

# %%
# Check against the simulator's truth
# -----------------------------------
# The truth table lists the clumps and the hard negatives (foreground stars,
# red companions). :func:`~galcolor.evaluation.label_candidates` matches
# regions to it within 1.5 PSF FWHM.

for index, galaxy in enumerate(galaxies):
    kinds = np.asarray(galaxy.truth["kind"])
    for color, catalog in (("predicted", predicted[index][1]), ("true", true[index])):
        correct, _, matched_kind = label_candidates(catalog, galaxy.truth)
        print(f"galaxy {index}: {np.sum(kinds == 'clump')} true clumps; {color:9s} color: "
              f"{len(catalog)} candidates, {int(correct.sum())} on clumps, "
              f"{int(np.sum((matched_kind != '') & ~correct))} on stars/companions")

# %%
# Draw them
# ---------
# Circles: candidates from the predicted color (labelled with their
# score); crosses: the simulator's clumps.

fig, axes = plt.subplots(1, len(galaxies), figsize=(10, 3.8), layout="constrained")
for axis, galaxy, (result, catalog) in zip(axes, galaxies, predicted):
    axis.imshow(result.rgb, origin="lower")
    clumps = galaxy.truth[np.asarray(galaxy.truth["kind"]) == "clump"]
    axis.plot(clumps["x"], clumps["y"], "x", color="white", markersize=6, label="true clump")
    for row in catalog:
        axis.add_patch(plt.Circle((row["x"].value, row["y"].value), 3, fill=False, color="cyan"))
        axis.annotate(f"{row['score']:.2f}", (row["x"].value + 3, row["y"].value + 3), color="cyan",
                      fontsize=8)
    axis.set_xlim(24, 104)  # the central 80 pixels: the galaxy
    axis.set_ylim(24, 104)
    axis.set_axis_off()
axes[0].legend(loc="lower left", fontsize=7)
fig.suptitle("galcolor color, candidate regions (score) and true clumps (x)")
plt.show()

# %%
# Write and read the catalog
# --------------------------
# :func:`galcolor.catalog.merge` stacks the catalogs of many images;
# :func:`galcolor.catalog.write` writes FITS, ECSV, VOTable, Parquet or CSV
# atomically, with units and metadata (model, weights sha256, parameters).

merged = galcolor.catalog.merge([catalog for _, catalog in predicted])
path = Path(tempfile.mkdtemp()) / "regions.ecsv"
galcolor.catalog.write(merged, path)
again = galcolor.catalog.read(path)
print(len(again), "regions;", again["area"].unit, again["ra"].unit, "; model", again.meta["model"])
