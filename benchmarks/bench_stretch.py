"""Does the "auto" stretch put real single-band FITS data where the model looks?

galcolor's colorizer is trained on the lightness of SDSS Galaxy Zoo gri
composites. A single-band FITS image only colorizes well if the auto asinh
stretch maps it into the same lightness range: dark sky, bright but unclipped
cores. This script measures, side by side,

* on 300 SDSS Galaxy Zoo validation composites (JPEG, L of sRGB->Lab): the
  median sky L (20-pixel border), the sky noise in L (border std after
  clipping stars) and the peak L of the galaxy core (central 32x32 box);
* on every real FITS file in ``../shared/data/fits`` loaded with
  ``galcolor.load`` (default band, ``stretch="auto"``): the same numbers.

It writes ``benchmarks/results/stretch/stretch_check.md`` (shown in the docs)
and a figure ``benchmarks/results/stretch/stretch_check.png`` with the L
histograms and a few of the stretched images next to SDSS composites.

Run from the repository root::

    python benchmarks/bench_stretch.py [--n-sdss 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.stats import sigma_clipped_stats  # noqa: E402

import galcolor  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ALL_RESULTS / "stretch"


def lightness_statistics(lightness: np.ndarray) -> dict[str, float]:
    """Sky median, sky noise and core peak L of one image (see module doc)."""
    border = np.concatenate([lightness[:20].ravel(), lightness[-20:].ravel(),
                             lightness[:, :20].ravel(), lightness[:, -20:].ravel()])
    _, sky_median, sky_noise = sigma_clipped_stats(border, sigma=3.0, maxiters=5)
    height, width = lightness.shape
    half = min(16, height // 4, width // 4)
    core = lightness[height // 2 - half: height // 2 + half, width // 2 - half: width // 2 + half]
    return {"sky": float(np.median(border)), "sky_noise": float(sky_noise), "core_peak": float(core.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-sdss", type=int, default=300)
    arguments = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the real data in {SHARED}")
    header = record_header(weights=[])

    sdss_paths = sorted((SHARED / "sdss-gz" / "val").glob("*.jpg"))[: arguments.n_sdss]
    sdss = [galcolor.load(path).lightness for path in sdss_paths]
    sdss_stats = [lightness_statistics(image) for image in sdss]

    fits_paths = sorted(p for p in (SHARED / "fits").rglob("*") if ".fits" in p.name)
    fits_rows = []
    fits_images = {}
    for path in fits_paths:
        cutout = galcolor.load(path)
        if min(cutout.shape) < 100:
            continue  # the 50x50 HSC cutouts have no 20-pixel sky border
        fits_images[path.name] = cutout
        fits_rows.append((path.relative_to(SHARED / "fits"), cutout, lightness_statistics(cutout.lightness)))

    def percentiles(values):
        return "  ".join(f"{v:5.1f}" for v in np.percentile(values, [5, 50, 95]))

    lines = [
        "Auto stretch vs the lightness of SDSS Galaxy Zoo composites",
        "===========================================================",
        "",
        f"SDSS Galaxy Zoo val composites (n={len(sdss)}), L percentiles 5 / 50 / 95:",
        f"  sky median L      {percentiles([s['sky'] for s in sdss_stats])}",
        f"  sky noise (L std) {percentiles([s['sky_noise'] for s in sdss_stats])}",
        f"  core peak L       {percentiles([s['core_peak'] for s in sdss_stats])}",
        "",
        "Real FITS files, galcolor.load(path) with the default band and stretch='auto':",
        f"  {'file':44s} {'band':>7s} {'sky L':>6s} {'noise':>6s} {'core':>6s}",
    ]
    for name, cutout, stats in fits_rows:
        band = cutout.band or f"plane {cutout.meta.get('band_index')}"
        lines.append(f"  {str(name):44s} {band:>7s} {stats['sky']:6.2f} {stats['sky_noise']:6.2f} "
                     f"{stats['core_peak']:6.1f}")
    fits_sky = np.array([s["sky"] for _, _, s in fits_rows])
    fits_core = np.array([s["core_peak"] for _, _, s in fits_rows])
    sdss_core = np.percentile([s["core_peak"] for s in sdss_stats], [5, 95])
    lines += [
        "",
        "Goal: sky as dark as SDSS composites (sky median L < 5) and cores bright but not",
        f"clipped (core peak within the SDSS 5-95% range {sdss_core[0]:.1f}-{sdss_core[1]:.1f}, below 100).",
        f"Measured: sky L <= {fits_sky.max():.2f} on all {len(fits_rows)} files; core peak "
        f"{fits_core.min():.1f}-{fits_core.max():.1f} "
        f"({int(np.sum((fits_core >= sdss_core[0]) & (fits_core <= sdss_core[1])))} of {len(fits_rows)} inside "
        "the SDSS range; cores off-centre or faint in wide frames fall below).",
        "Figure: benchmarks/results/stretch/stretch_check.png",
    ]
    write_markdown(RESULTS / "stretch_check.md", header, "\n".join(lines) + "\n")
    print("\n".join(lines))

    figure, axes = plt.subplots(2, 4, figsize=(16, 8))
    bins = np.linspace(0, 100, 51)
    sdss_pixels = np.concatenate([image[image > 2].ravel() for image in sdss])
    fits_pixels = np.concatenate([c.lightness[c.lightness > 2].ravel() for _, c, _ in fits_rows])
    axes[0, 0].hist(sdss_pixels, bins=bins, density=True, histtype="step", label="SDSS GZ composites")
    axes[0, 0].hist(fits_pixels, bins=bins, density=True, histtype="step", label="real FITS, auto stretch")
    axes[0, 0].set(xlabel="L (pixels with L > 2)", ylabel="density", yscale="log", title="Lightness")
    axes[0, 0].legend()
    shown = [name for name in ("example_a.fits", "example_e.fits", "reprojected_sdss_r.fits.bz2",
                               "Cut_HST.fits", "example_bad_pix.fits") if name in fits_images]
    panels = [axes[0, 1], axes[0, 2], axes[0, 3], axes[1, 0], axes[1, 1]]
    for axis, name in zip(panels, shown):
        axis.imshow(fits_images[name].lightness, cmap="gray", vmin=0, vmax=100, origin="lower")
        cutout = fits_images[name]
        band = cutout.band or cutout.meta["band_names"][cutout.meta["band_index"]]
        axis.set_title(f"{name} ({band})")
    for axis, image, path in zip(axes[1, 2:], sdss[:2], sdss_paths[:2]):
        axis.imshow(image, cmap="gray", vmin=0, vmax=100)
        axis.set_title(f"SDSS GZ {path.stem} (L)")
    for axis in axes.ravel()[1:]:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    save_figure(figure, RESULTS / "stretch_check.png", header, dpi=80)


if __name__ == "__main__":
    main()
