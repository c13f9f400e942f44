"""Color indices in magnitudes from one band: predicted g - r, r - i against photometry.

``Colorization.integrated_colors`` inverts galcolor's convention
(``galcolor.io.convention.SDSS_GRI``) to fluxes and sums them over the
galaxy. Checked against:

1. **Simulated galaxies** (``galcolor.datasets.simulate``, known fluxes per
   band): the r band as a single-band FITS (``to_cutout("r")``), and the
   grey of the galaxy's own composite (the L the model was trained on), is
   colorized (TTA on) and its integrated g - r, r - i compared with the sums
   of the simulated g, r, i images over the same pixels (the galaxy at the
   centre, :func:`galcolor.geometry.central_galaxy_mask` of the true
   composite), per galaxy and in radial annuli (0-0.5, 0.5-1, 1-2 disk
   scale radii). Baseline: the color the training set has at each L (the
   per-lightness mean a*, b* of the SDSS training galaxies,
   ``galcolor/data/lookup_sdss.npz``), integrated the same way.
2. **Real cubes** in ``../shared/data/fits``: the DECaLS grz cubes (g - r;
   DECam g, r against SDSS-like predicted g - r, so a color term of a few
   hundredths is expected) and the SDSS NGC 6976 frames (g - r, r - i), the
   r band in, the central galaxy's pixels (as in ``bench_colorize.py --real``),
   per file.

Writes ``benchmarks/results/color_indices/color_indices.md`` (and ``.json``)
and ``color_indices.png``. Run from the repository root::

    python benchmarks/bench_color_indices.py [-n 500]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from tqdm import tqdm  # noqa: E402

import galcolor  # noqa: E402
from galcolor import Colorization  # noqa: E402
from galcolor.color import rgb_to_lab_numpy  # noqa: E402
from galcolor.datasets.simulate import iter_simulate  # noqa: E402
from galcolor.evaluation.quality import reference_prediction  # noqa: E402
from galcolor.geometry import central_galaxy_mask  # noqa: E402
from galcolor.io.stretch import sky_statistics  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_json, write_markdown  # noqa: E402
from bench_colorize import ngc6976_bands  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ALL_RESULTS / "color_indices"
ANNULI = ((0.0, 0.5), (0.5, 1.0), (1.0, 2.0))  # in disk scale radii
INPUTS = ("r-band FITS", "composite grey")


def magnitude_color(blue: float, red: float) -> float:
    return float(-2.5 * np.log10(blue / red)) if blue > 0 and red > 0 else float("nan")


def baseline(result: Colorization) -> Colorization:
    """The same image colored by the training set's mean color at each L (no uncertainty)."""
    ab = reference_prediction("lookup", result.lightness).astype(np.float32)
    return Colorization(lightness=result.lightness, ab=ab, ab_std=np.zeros_like(ab), mask=result.mask)


def simulated(n: int, seed: int) -> list[dict]:
    colorizer = galcolor.Colorizer("default", device="cpu", tta=True, progress=False)
    rows = []
    for galaxy, kind in (
        (g, kind)
        for g in tqdm(iter_simulate(n, seed=seed, size=128), total=n, desc="simulated galaxies")
        for kind in INPUTS
    ):
        true_lab = rgb_to_lab_numpy(np.asarray(galaxy.rgb, dtype=np.float32))
        # the r band as a single-band FITS file, or the grey of the composite (the model's own L)
        cutout = (
            galaxy.to_cutout("r")
            if kind == "r-band FITS"
            else galcolor.load(true_lab[..., 0] / 100.0, stretch="identity")
        )
        result = colorizer(cutout)
        region = central_galaxy_mask(true_lab[..., 0], cutout.mask)
        if region.sum() < 10:
            continue
        flux = {band: galaxy.bands[galaxy.band_names.index(band)] for band in "gri"}
        centre = (np.array(region.shape) - 1) / 2.0
        y, x = np.indices(region.shape)
        radius = np.hypot(y - centre[0], x - centre[1]) / (
            galaxy.params["disk_radius_arcsec"] / galaxy.params["pixel_scale"]
        )
        reference = baseline(result)
        for label, pixels in [("galaxy", region)] + [
            (f"annulus {lo:g}-{hi:g}", region & (radius >= lo) & (radius < hi)) for lo, hi in ANNULI
        ]:
            if pixels.sum() < 5:
                continue
            predicted = result.integrated_colors(pixels, samples=16)
            lookup = reference.integrated_colors(pixels, samples=2)
            sums = {band: float(flux[band][pixels].sum()) for band in "gri"}
            rows.append(
                {
                    "index": galaxy.params["index"],
                    "bulge fraction": galaxy.params["bulge_fraction_r"],
                    "redshift": galaxy.params["redshift"],
                    "input": kind,
                    "region": label,
                    "pixels": int(pixels.sum()),
                    "true g-r": magnitude_color(sums["g"], sums["r"]),
                    "true r-i": magnitude_color(sums["r"], sums["i"]),
                    "predicted g-r": predicted["g-r"],
                    "predicted r-i": predicted["r-i"],
                    "predicted g-r std": predicted["g-r_std"],
                    "predicted r-i std": predicted["r-i_std"],
                    "baseline g-r": lookup["g-r"],
                    "baseline r-i": lookup["r-i"],
                }
            )
    return rows


def real() -> list[dict]:
    colorizer = galcolor.Colorizer("default", device="cpu", tta=True, progress=False)
    rows = []
    cubes = sorted((SHARED / "fits" / "decals-grz").glob("example_*.fits"))
    for path in cubes + [SHARED / "fits" / "sdss-ngc6976" / "reprojected_sdss_r.fits.bz2"]:
        if "ngc6976" in str(path.parent):
            bands = ngc6976_bands(path.parent)
            planes = {hdu.header["FILTER"]: hdu.data.astype(np.float64) for hdu in bands[1:]}
            cutout = galcolor.load(path)
            truth = galcolor.load(bands).truth_rgb
        else:
            cube = fits.getdata(path).astype(np.float64)
            planes = dict(zip("grz", cube))
            cutout = galcolor.load(path, band="r")
            truth = galcolor.load(path).truth_rgb
        result = colorizer(cutout)
        region = central_galaxy_mask(rgb_to_lab_numpy(truth)[..., 0], cutout.mask)
        sums = {}
        for band, plane in planes.items():
            bad = ~np.isfinite(plane)
            sky, _ = sky_statistics(plane, bad)
            sums[band] = float(np.where(bad, 0.0, plane - sky)[region].sum())
        predicted = result.integrated_colors(region)
        lookup = baseline(result).integrated_colors(region, samples=2)
        row = {
            "file": str(path.relative_to(SHARED)),
            "pixels": int(region.sum()),
            "true g-r": magnitude_color(sums["g"], sums["r"]),
            "predicted g-r": predicted["g-r"],
            "predicted g-r std": predicted["g-r_std"],
            "baseline g-r": lookup["g-r"],
        }
        if "i" in planes:
            row.update(
                {
                    "true r-i": magnitude_color(sums["r"], sums["i"]),
                    "predicted r-i": predicted["r-i"],
                    "predicted r-i std": predicted["r-i_std"],
                    "baseline r-i": lookup["r-i"],
                }
            )
        rows.append(row)
    return rows


def galaxy_zoo(n: int) -> list[dict]:
    """Galaxy Zoo val frames: predicted against the composite's own color, inverted in the same convention.

    Not photometry: the SDSS composites the model learned from, read as the
    convention says they were made (``SDSS_GRI``). What it measures is how
    well the model's integrated colors follow those of real galaxies of the
    kind it was trained on; the first ``n`` frames in name order.
    """
    colorizer = galcolor.Colorizer("default", device="cpu", tta=True, progress=False)
    rows = []
    for path in tqdm(sorted((SHARED / "sdss-gz" / "val").glob("*.jpg"))[:n], desc="Galaxy Zoo val", unit="frame"):
        cutout = galcolor.load(path)
        result = colorizer(cutout)
        region = central_galaxy_mask(result.lightness, result.mask)
        if region.sum() < 10:
            continue
        true_lab = rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32))
        composite = Colorization(lightness=true_lab[..., 0], ab=true_lab[..., 1:],
                                 ab_std=np.zeros_like(true_lab[..., 1:]), mask=result.mask)
        composite = composite.integrated_colors(region, samples=2)
        predicted = result.integrated_colors(region, samples=16)
        lookup = baseline(result).integrated_colors(region, samples=2)
        rows.append({"file": str(path.relative_to(SHARED)), "pixels": int(region.sum()),
                     **{f"true {index}": composite[index] for index in ("g-r", "r-i")},
                     **{f"predicted {index}": predicted[index] for index in ("g-r", "r-i")},
                     **{f"predicted {index} std": predicted[f"{index}_std"] for index in ("g-r", "r-i")},
                     **{f"baseline {index}": lookup[index] for index in ("g-r", "r-i")}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=500, help="simulated galaxies (default 500)")
    parser.add_argument("--seed", type=int, default=4242, help="simulator seed (default 4242)")
    parser.add_argument("--gz", type=int, default=500, help="Galaxy Zoo val frames (default 500; 0: none)")
    arguments = parser.parse_args()
    header = record_header(weights=["default"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    sim_rows = simulated(arguments.n, arguments.seed)
    real_rows = real() if SHARED.is_dir() else []
    zoo_rows = galaxy_zoo(arguments.gz) if SHARED.is_dir() and arguments.gz > 0 else []

    lines = [
        "Color indices (AB mag) from one band",
        "=" * 36,
        "",
        f"1. Simulated galaxies: r band in (single-band FITS), seed {arguments.seed}; median absolute error "
        "against the sums of the simulated g, r, i images over the same pixels",
        "",
        "| input | region | galaxies | g-r MAE galcolor | g-r MAE baseline | r-i MAE galcolor | "
        "r-i MAE baseline | "
        "g-r inside 1 sigma | median g-r sigma | median g-r bias |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for kind, region in (
        (k, r) for k in INPUTS for r in ["galaxy"] + [f"annulus {lo:g}-{hi:g}" for lo, hi in ANNULI]
    ):
        part = [row for row in sim_rows if row["region"] == region and row["input"] == kind]
        if not part:
            continue
        values = {
            key: np.array([row[key] for row in part]) for key in part[0] if key not in ("region", "input")
        }
        entry = {}
        for index in ("g-r", "r-i"):
            ok = np.isfinite(values[f"true {index}"]) & np.isfinite(values[f"predicted {index}"])
            entry[f"{index} mae"] = float(
                np.median(np.abs(values[f"predicted {index}"] - values[f"true {index}"])[ok])
            )
            entry[f"{index} baseline mae"] = float(
                np.median(np.abs(values[f"baseline {index}"] - values[f"true {index}"])[ok])
            )
        ok = np.isfinite(values["true g-r"]) & np.isfinite(values["predicted g-r"])
        entry["g-r covered"] = float(
            np.mean(
                np.abs(values["predicted g-r"] - values["true g-r"])[ok] <= values["predicted g-r std"][ok]
            )
        )
        entry["g-r sigma"] = float(np.median(values["predicted g-r std"][ok]))
        entry["galaxies"] = int(ok.sum())
        entry["g-r bias"] = float(np.median((values["predicted g-r"] - values["true g-r"])[ok]))
        summary[f"{kind}: {region}"] = entry
        lines.append(
            f"| {kind} | {region} | {entry['galaxies']} | {entry['g-r mae']:.3f} | "
            f"{entry['g-r baseline mae']:.3f} | "
            f"{entry['r-i mae']:.3f} | {entry['r-i baseline mae']:.3f} | {entry['g-r covered']:.2f} | "
            f"{entry['g-r sigma']:.3f} | {entry['g-r bias']:+.3f} |"
        )
    lines += [
        "",
        "2. Real FITS: r band in, the central galaxy (as bench_colorize.py --real); measured from the file's "
        "own g, r (and i) fluxes",
        "",
        "| file | pixels | g-r measured | g-r galcolor | +- | g-r baseline | r-i measured | r-i galcolor | "
        "r-i baseline |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in real_rows:
        lines.append(
            f"| {row['file']} | {row['pixels']} | {row['true g-r']:.3f} | {row['predicted g-r']:.3f} | "
            f"{row['predicted g-r std']:.3f} | {row['baseline g-r']:.3f} | "
            f"{row.get('true r-i', float('nan')):.3f} | {row.get('predicted r-i', float('nan')):.3f} | "
            f"{row.get('baseline r-i', float('nan')):.3f} |"
        )
    if real_rows:
        errors = np.array([abs(r["predicted g-r"] - r["true g-r"]) for r in real_rows])
        base = np.array([abs(r["baseline g-r"] - r["true g-r"]) for r in real_rows])
        lines += [
            "",
            f"Real files: g-r median absolute error {np.median(errors):.3f} (baseline {np.median(base):.3f}) "
            f"over {len(real_rows)} files",
        ]
    if zoo_rows:
        values = {key: np.array([row[key] for row in zoo_rows], dtype=np.float64)
                  for key in zoo_rows[0] if key != "file"}
        ok = np.isfinite(values["true g-r"]) & np.isfinite(values["predicted g-r"])
        zoo = {"frames": int(ok.sum())}
        for index in ("g-r", "r-i"):
            good = ok & np.isfinite(values[f"true {index}"]) & np.isfinite(values[f"predicted {index}"])
            error = values[f"predicted {index}"][good] - values[f"true {index}"][good]
            zoo[f"{index} mae"] = float(np.median(np.abs(error)))
            zoo[f"{index} baseline mae"] = float(np.median(np.abs(values[f"baseline {index}"][good]
                                                               - values[f"true {index}"][good])))
            zoo[f"{index} bias"] = float(np.median(error))
            zoo[f"{index} covered"] = float(np.mean(np.abs(error) <= values[f"predicted {index} std"][good]))
        # least squares of the composite's color on the prediction: 1 where the model neither shrinks nor stretches
        zoo["g-r slope"] = float(np.polyfit(values["predicted g-r"][ok], values["true g-r"][ok], 1)[0])
        summary["galaxy zoo val"] = zoo
        lines += [
            "",
            f"3. Real SDSS galaxies, {zoo['frames']} Galaxy Zoo val frames (TTA on): the composite's own color, "
            "inverted in the same convention, as truth. Not photometry: how well the model's integrated colors "
            "follow those of the galaxies it was trained on",
            "",
            "| index | MAE galcolor | MAE baseline | median bias | inside 1 sigma |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {index} | {zoo[f'{index} mae']:.3f} | {zoo[f'{index} baseline mae']:.3f} | "
                  f"{zoo[f'{index} bias']:+.3f} | {zoo[f'{index} covered']:.2f} |" for index in ("g-r", "r-i")]
        lines += ["", f"Slope of the composite's g-r on the predicted g-r: {zoo['g-r slope']:.2f}."]
    galaxies = [row for row in sim_rows if row["region"] == "galaxy" and row["input"] == INPUTS[0]]
    if galaxies:
        lines += [
            "",
            "4. The simulated galaxies by bulge fraction (r band in, whole galaxy): median g-r",
            "",
            "| bulge fraction (r) | galaxies | true | galcolor | baseline |",
            "|---|---|---|---|---|",
        ]
        fraction = np.array([row["bulge fraction"] for row in galaxies])
        for low, high in ((0.0, 0.2), (0.2, 0.4), (0.4, 1.0)):
            part = [row for row, value in zip(galaxies, fraction) if low <= value < high]
            if part:
                lines.append(f"| {low:g}-{high:g} | {len(part)} | "
                             + " | ".join(f"{np.nanmedian([row[key] for row in part]):.2f}"
                                          for key in ("true g-r", "predicted g-r", "baseline g-r")) + " |")
        true, predicted, redshift = (np.array([row[key] for row in galaxies], dtype=np.float64)
                                     for key in ("true g-r", "predicted g-r", "redshift"))
        ok = np.isfinite(true) & np.isfinite(predicted)
        lines += ["", "Correlation with the true g-r: galcolor's {:.2f}; the bulge fraction's {:.2f}, the "
                  "redshift's {:.2f} (which one band at a fixed pixel scale hardly shows).".format(
                      np.corrcoef(true[ok], predicted[ok])[0, 1], np.corrcoef(true[ok], fraction[ok])[0, 1],
                      np.corrcoef(true[ok], redshift[ok])[0, 1])]
    lines += ["", "Figure: benchmarks/results/color_indices/color_indices.png"]
    write_markdown(RESULTS / "color_indices.md", header, "\n".join(lines) + "\n")
    write_json(
        RESULTS / "color_indices.json",
        {"simulated": sim_rows, "real": real_rows, "galaxy_zoo": zoo_rows, "summary": summary},
        header,
    )

    figure, axes = plt.subplots(1, 3 if zoo_rows else 2, figsize=(13.5 if zoo_rows else 9, 4), layout="constrained")
    if zoo_rows:
        axis = axes[2]
        axis.scatter([r["true g-r"] for r in zoo_rows], [r["baseline g-r"] for r in zoo_rows], s=5, alpha=0.5,
                     color="0.6", label="training color at this L")
        axis.scatter([r["true g-r"] for r in zoo_rows], [r["predicted g-r"] for r in zoo_rows], s=5, alpha=0.6,
                     label="galcolor")
        axis.plot([-0.2, 1.3], [-0.2, 1.3], "k--", lw=0.8)
        axis.set_xlabel("g-r of the Galaxy Zoo composite, in the convention (mag)")
        axis.set_ylabel("predicted g-r (mag)")
        axis.set_title("real SDSS galaxies (Galaxy Zoo val)", fontsize=9)
        axis.legend(fontsize=7)
    for axis, index in zip(axes, ("g-r", "r-i")):
        axis.scatter(
            [r[f"true {index}"] for r in galaxies],
            [r[f"baseline {index}"] for r in galaxies],
            s=5,
            alpha=0.5,
            label="training color at this L",
            color="0.6",
        )
        axis.scatter(
            [r[f"true {index}"] for r in galaxies],
            [r[f"predicted {index}"] for r in galaxies],
            s=5,
            alpha=0.6,
            label="galcolor",
        )
        if index == "g-r" and real_rows:
            axis.scatter(
                [r["true g-r"] for r in real_rows],
                [r["predicted g-r"] for r in real_rows],
                s=30,
                marker="*",
                color="crimson",
                label="real FITS",
            )
        low, high = np.nanpercentile([r[f"true {index}"] for r in galaxies], [1, 99])
        axis.plot([low - 0.2, high + 0.2], [low - 0.2, high + 0.2], "k--", lw=0.8)
        axis.set_xlabel(f"true {index} (mag)")
        axis.set_ylabel(f"predicted {index} (mag)")
        axis.set_title("simulated galaxies, r band in" + (" (stars: real FITS)" if index == "g-r" and real_rows
                                                           else ""), fontsize=9)
        axis.legend(fontsize=7)
    figure.suptitle("Galaxy-integrated colors from the r band alone")
    save_figure(figure, RESULTS / "color_indices.png", header, dpi=110)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
