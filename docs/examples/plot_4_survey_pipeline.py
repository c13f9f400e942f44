"""
Run the survey pipeline on a LocalCluster
=========================================

Colorize a folder of cutouts and find their star-forming regions on Dask,
then read the catalogs with pandas.

:func:`galcolor.pipeline.run_pipeline` (``galcolor pipeline`` on the command
line) splits the cutouts into parts, runs each part as a Dask task on a
:class:`~distributed.LocalCluster` (or any cluster, given its scheduler
address), loads the model once per worker, writes every part atomically and
merges them into one region catalog, a per-galaxy table and a failures
table. An interrupted run resumes where it stopped when rerun.

In a script, put the call under ``if __name__ == "__main__":``: Dask starts
its worker processes by spawning Python, which imports the script again.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from galcolor.datasets import iter_simulate
from galcolor.pipeline import read_run, run_pipeline

# %%
# A small survey
# --------------
# Twelve simulated r-band cutouts with WCS, and one file that is not FITS at
# all, to show what happens to bad inputs.

folder = Path(tempfile.mkdtemp())
cutouts = folder / "cutouts"
cutouts.mkdir()
for galaxy in iter_simulate(12, size=96, seed=2027):
    galaxy.band_hdu("r").writeto(cutouts / f"sim{galaxy.params['index']:03d}_r.fits")
(cutouts / "sim999_r.fits").write_text("this is not a FITS file")

# %%
# Run it on two workers
# ---------------------
# TTA is switched off here to keep the page fast (the default is on).

result = run_pipeline(cutouts, folder / "catalogs" / "tutorial", workers=2, batch_size=4, tta=False,
                      progress=False)
print(result.summary())

# %%
# Read the products with pandas
# -----------------------------
# ``galaxies.parquet``: one row per cutout, with its status, number of
# regions, summed score (the expected number of real clumps) and mean
# predicted color.

galaxies = pd.read_parquet(result.galaxies)
galaxies[["cutout_id", "status", "n_regions", "summed_score", "mean_a", "mean_b", "ra", "dec"]]

# %%
# ``failures.csv`` says which cutouts failed and why; the run went on
# without them.

pd.read_csv(result.failures)

# %%
# ``regions.parquet`` (and ``regions.fits``): every region, in the schema
# of :mod:`galcolor.catalog`, with the ``cutout_id`` it belongs to.

regions = pd.read_parquet(result.regions)
print(len(regions), "regions")
regions[["id", "cutout_id", "x", "y", "ra", "dec", "blue_excess", "significance", "score"]].head()

# %%
# The color of the galaxies and where their regions lie, from the catalogs
# alone:

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
sns.scatterplot(data=galaxies[galaxies["status"] == "ok"], x="mean_a", y="mean_b", size="n_regions",
                ax=axes[0])
axes[0].set_title("mean predicted color per galaxy")
sns.histplot(data=regions, x="r_gal_norm", bins=10, ax=axes[1])
axes[1].set_xlabel("galactocentric distance / half-light radius")
axes[1].set_title("where the regions are")
fig.tight_layout()
plt.show()

# %%
# The run record
# --------------
# ``run.json`` records the parameters, the model and its weights sha256,
# the counts, the throughput and, per worker, how often it loaded the model
# (once) and its peak memory.

record = read_run(result.output)
print(record["model"])
for worker, stats in record["worker_stats"].items():
    print(worker, stats)

# %%
# Running the same call again does nothing but merge: every part is there.

again = run_pipeline(cutouts, folder / "catalogs" / "tutorial", workers=2, batch_size=4, tta=False,
                     progress=False)
print(again.summary())
