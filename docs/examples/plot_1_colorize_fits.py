"""
Colorize a single-band FITS cutout
==================================

Predict the color of a galaxy from one band, keep its WCS, and look at the
uncertainty of the prediction.

galcolor reads the r band of a FITS cutout, stretches the flux to CIELAB
lightness L (an asinh stretch, Lupton et al. 2004), predicts the chrominance
(a*, b*) with the shipped network and returns it on the input's pixels and
world coordinate system. The color is an *inference* from the galaxy's
shape and light profile, never a measurement: every pixel comes with a
standard deviation.

The cutout here is simulated (single-band r, 128 x 128 pixels, 0.396"
pixels, a celestial WCS), so that the page builds anywhere; a survey cutout
goes through exactly the same calls.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import galcolor
from galcolor.datasets import simulate

folder = Path(tempfile.mkdtemp())
galaxy = simulate(1, size=128, seed=7)[0]
path = folder / "galaxy_r.fits"
galaxy.band_hdu("r").writeto(path)

# %%
# Load and colorize
# -----------------
# :func:`galcolor.colorize` takes a path, an array, an HDU or a
# :class:`~galcolor.Cutout`. Test-time augmentation (the 8 rotations and
# flips) is on by default; it also feeds the uncertainty.

result = galcolor.colorize(path)
print(result)
print("shape:", result.shape, " model:", result.meta["model"], " TTA:", result.meta["tta"])
print("L is the input's lightness, unchanged:",
      np.array_equal(result.lightness, galcolor.load(path).lightness))

# %%
# Grey, color and uncertainty on the sky
# ---------------------------------------
# :meth:`~galcolor.Colorization.plot` draws the three panels with right
# ascension and declination axes from the input's WCS.

figure = result.plot()
plt.figure(figure)  # plot() leaves pyplot alone (batch jobs leak no figures); show it through pyplot
plt.show()

# %%
# Sky coordinates of the prediction
# ---------------------------------
# The output shares the input's WCS, so any pixel of the color image has a
# position on the sky. Here the bluest galaxy pixel (lowest b*) and the
# color uncertainty there:

galaxy_pixels = result.lightness > 15
b = np.where(galaxy_pixels, result.ab[..., 1], np.inf)
row, column = np.unravel_index(np.argmin(b), b.shape)
sky = result.wcs.pixel_to_world(column, row)
print(f"bluest pixel (x={column}, y={row}) at RA {sky.ra.deg:.5f} deg, Dec {sky.dec.deg:.5f} deg: "
      f"b* = {result.ab[row, column, 1]:.1f} +/- {result.ab_std[row, column, 1]:.1f}")

# %%
# Compare with the true color
# ----------------------------
# The simulator knows the true gri color. A galaxy-pixel color error in
# CIEDE2000 units (ΔE00 ~ 2 is a just-noticeable difference):

from galcolor.color import rgb_to_lab_numpy  # noqa: E402
from galcolor.metrics import delta_e2000  # noqa: E402

true_lab = rgb_to_lab_numpy(galaxy.rgb)
predicted = np.concatenate([true_lab[..., :1], result.ab], axis=-1)
grey = np.concatenate([true_lab[..., :1], np.zeros_like(result.ab)], axis=-1)
mask = true_lab[..., 0] > 15
print(f"galaxy pixels: ΔE00 galcolor {delta_e2000(predicted, true_lab, mask):.2f}, "
      f"grey {delta_e2000(grey, true_lab, mask):.2f}")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
axes[0].imshow(result.rgb, origin="lower")
axes[0].set_title("galcolor")
axes[1].imshow(galaxy.rgb, origin="lower")
axes[1].set_title("true gri color")
for axis in axes:
    axis.set_axis_off()
plt.show()

# %%
# Save the products
# -----------------
# A PNG for people, a FITS file for programs: L, RGB, A, B, A_STD and B_STD
# extensions, all with the input's WCS and provenance keywords.

png = result.save(folder / "galaxy_galcolor.png")
product = result.to_fits(folder / "galaxy_galcolor.fits")
from astropy.io import fits  # noqa: E402

with fits.open(product) as hdus:
    print([hdu.name for hdu in hdus])
