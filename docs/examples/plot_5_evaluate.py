"""
Evaluate colorizers against the baselines
=========================================

Measure how close predicted colors are to the truth, side by side with
grey, the mean color and a lightness lookup table.

:func:`galcolor.evaluation.evaluate_folder` takes a folder of color images
(the truth), colorizes the lightness of each with every model and every
reference colorizer, and measures CIEDE2000, ab errors, PSNR, SSIM,
colorfulness and more on galaxy pixels and whole images;
:func:`~galcolor.evaluation.write_report` writes the tables (with bootstrap
95 % intervals) and figures. ``galcolor evaluate`` is the same on the
command line.

The SDSS validation galaxies are used when the shared data set is beside
the repository (``../shared/data/sdss-gz/val``, the first 12); otherwise 12
simulated gri composites.
"""

import tempfile
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
from PIL import Image

from galcolor.datasets import iter_simulate
from galcolor.evaluation import evaluate_folder, write_report

folder = Path(tempfile.mkdtemp())
here = Path.cwd().resolve()
sdss = next((parent / "shared" / "data" / "sdss-gz" / "val" for parent in (here, *here.parents)
             if (parent / "shared" / "data" / "sdss-gz" / "val").is_dir()), None)
if sdss is not None:
    data, what = sdss, "SDSS Galaxy Zoo validation galaxies"
else:
    data, what = folder / "truth", "simulated gri composites"
    data.mkdir()
    for galaxy in iter_simulate(12, size=128, seed=31):
        # FITS row 0 is the bottom of the sky; JPEG row 0 the top
        Image.fromarray((galaxy.rgb[::-1] * 255).round().astype("uint8")).save(
            data / f"sim{galaxy.params['index']:02d}.jpg", quality=95)
print("truth:", what)

# %%
# Evaluate
# --------

per_image, failures = evaluate_folder(data, models=["default"], baselines=["grey", "mean", "lookup"],
                                      limit=12, device="cpu", progress=False)
written = write_report(per_image, failures, folder / "report", device="cpu")
print((folder / "report" / "summary.md").read_text())

# %%
# The best, median and worst galaxies
# -----------------------------------
# grey | prediction | truth | error map, for the default model.

montage = next(path for name, path in written.items() if "montage" in name)
image = mpimg.imread(montage)
fig = plt.figure(figsize=(9, 9 * image.shape[0] / image.shape[1]))
plt.imshow(image)
plt.axis("off")
plt.show()

# %%
# Per-image errors
# ----------------
# ΔE00 on galaxy pixels for every image and colorizer (lower is better).

galaxy = per_image[per_image["region"] == "galaxy"]
galaxy.pivot_table(index="file", columns="model", values="delta_e2000").round(2)
