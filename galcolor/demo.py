"""``galcolor demo``: the README's main job, on an embedded default input.

It needs nothing but galcolor: the GalSim simulator makes a small survey of
single-band r FITS cutouts with a WCS (and keeps their true gri color), the
default model colorizes them, and the products go to one folder:

- ``inputs/sim-*_r.fits``: the grey survey cutouts that were colorized;
- ``color/sim-*_galcolor.png`` and ``.fits``: the color images and the FITS
  products (L, RGB, a*, b* and their uncertainties, with the WCS);
- ``montage.png``: grey | galcolor | truth for every galaxy, to look at;
- ``regions.ecsv``: the star-forming regions found in the predicted color
  (:func:`galcolor.find_star_forming_regions`), one catalog for the survey;
- ``regions.png``: those regions drawn on the color images, with the
  clumps the simulator put there;
- ``summary.json``: per-galaxy color error on the central galaxy against
  the simulated truth (ΔE2000 with the true L on both sides, and ab MAE),
  against a grey image, the model and timings.

Examples
--------
>>> import tempfile
>>> from galcolor.demo import run_demo
>>> summary = run_demo(tempfile.mkdtemp(), n=2, size=64, tta=False, progress=False)
>>> summary["n"], len(summary["galaxies"])
(2, 2)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .evaluation import label_candidates
from .process import process
from .catalog import merge, write
from .color import rgb_to_lab_numpy
from .colorization import Colorization
from .colorizer import Colorizer
from .geometry import central_galaxy_mask
from .metrics import ab_mae, delta_e2000

__all__ = ["run_demo", "montage", "regions_overlay"]


def montage(results: list[Colorization], truths: list[np.ndarray | None], path: str | os.PathLike,
            *, titles: list[str] | None = None) -> Path:
    """Write a grey | galcolor | truth montage (one column per galaxy) as PNG.

    Parameters
    ----------
    results : list of Colorization
    truths : list of numpy.ndarray (H, W, 3) or None
        The true color of each galaxy, if known.
    path : str or os.PathLike
        The PNG to write (atomically).
    titles : list of str, optional
        Column titles.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.figure import Figure  # no pyplot, so no display backend is needed

    columns = len(results)
    rows = 3 if any(truth is not None for truth in truths) else 2
    figure = Figure(figsize=(1.9 * columns + 0.6, 1.9 * rows + 0.4), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    labels = ["grey input", "galcolor", "truth"]
    for column, (result, truth) in enumerate(zip(results, truths)):
        panels = [np.repeat(result.lightness[..., None] / 100.0, 3, axis=-1), result.rgb, truth]
        for row in range(rows):
            ax = axes[row, column]
            if panels[row] is not None:
                ax.imshow(np.clip(panels[row], 0.0, 1.0), origin=result.origin)
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(labels[row])
        if titles:
            axes[0, column].set_title(titles[column], fontsize=8)
    path = Path(path)
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    return path


def regions_overlay(results: list[Colorization], catalogs: list, path: str | os.PathLike, *,
                    truths: list | None = None, titles: list[str] | None = None,
                    references: list | None = None) -> Path:
    """Draw region catalogs on their color images (one panel per galaxy) as PNG.

    Parameters
    ----------
    results : list of Colorization
    catalogs : list of astropy.table.QTable
        The regions of each result (:func:`galcolor.find_star_forming_regions`);
        circles of one PSF FWHM radius, labelled with the score.
    path : str or os.PathLike
        The PNG to write (atomically).
    truths : list of astropy.table.QTable, optional
        Simulator truth tables: true clumps are drawn as small white crosses,
        stars, companions and neighbours as red crosses.
    titles : list of str, optional
    references : list of astropy.table.QTable, optional
        Region catalogs from the true color of the same images, drawn as
        dashed yellow circles for comparison.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    columns = min(len(results), 4)
    rows = -(-len(results) // columns)
    figure = Figure(figsize=(2.6 * columns, 2.7 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(results):
            ax.set_visible(False)
            continue
        result, catalog = results[index], catalogs[index]
        ax.imshow(result.rgb, origin=result.origin)
        radius = float(catalog.meta.get("parameters", {}).get("psf_fwhm", 3.5))
        for row in catalog:
            x, y = float(row["x"].value), float(row["y"].value)
            ax.add_patch(Circle((x, y), radius, fill=False, color="cyan", lw=1.2))
            ax.text(x + radius, y + radius, f"{row['score']:.2f}", color="cyan", fontsize=6)
        if references is not None:
            for row in references[index]:
                ax.add_patch(Circle((float(row["x"].value), float(row["y"].value)), radius * 1.4, fill=False,
                                    color="yellow", lw=0.9, ls="--"))
        if truths is not None and truths[index] is not None:
            truth = truths[index]
            clump = np.asarray(truth["kind"]) == "clump"
            for selection, color in ((clump, "white"), (~clump, "red")):
                ax.plot(np.asarray(truth["x"].value)[selection], np.asarray(truth["y"].value)[selection],
                        "+", color=color, ms=5, mew=0.8)
        title = titles[index] if titles else ""
        counts = f"{len(catalog)}" if references is None else f"{len(catalog)} / {len(references[index])}"
        ax.set_title(f"{title} {counts} region(s)".strip(), fontsize=8)
    reference = "" if references is None else "; dashed yellow: from the true color"
    figure.suptitle(f"star-forming regions in the predicted color (cyan: score{reference}; +: simulated "
                    "clumps, red +: stars/companions)", fontsize=8)
    path = Path(path)
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    return path


def run_demo(output: str | os.PathLike, *, n: int = 8, size: int = 128, seed: int = 2026,
             model: str = "default", device: str = "auto", tta: bool = True,
             progress: bool = True) -> dict[str, Any]:
    """Simulate a small single-band survey, colorize it and write the products.

    Parameters
    ----------
    output : str or os.PathLike
        Folder for the products (created).
    n : int, optional
        Number of simulated galaxies (default 8).
    size : int, optional
        Cutout side in pixels (default 128).
    seed : int, optional
        Simulator seed (default 2026: galaxies the model never trained on).
    model, device, tta
        As for :class:`galcolor.Colorizer`.
    progress : bool, optional
        Show tqdm progress bars.

    Returns
    -------
    dict
        What ``summary.json`` holds: the model, timings, per-galaxy ΔE2000
        on galaxy pixels against the simulated truth, and the files written.
    """
    from tqdm import tqdm

    from .datasets import iter_simulate

    started = time.perf_counter()
    output = Path(output)
    inputs, color = output / "inputs", output / "color"
    inputs.mkdir(parents=True, exist_ok=True)
    color.mkdir(parents=True, exist_ok=True)
    paths, truths, truth_tables, true_color = [], [], [], []
    for galaxy in tqdm(iter_simulate(n, size=size, seed=seed), total=n, desc="simulating",
                       unit="galaxy", disable=not progress):
        path = inputs / f"sim-{seed}-{galaxy.params['index']:03d}_r.fits"
        with atomic_write(path) as temporary:
            galaxy.band_hdu("r").writeto(temporary)
        paths.append(path)
        truths.append(galaxy.rgb)
        truth_tables.append(galaxy.truth)
        true_color.append(galaxy.to_cutout("r"))
    simulated = time.perf_counter()
    colorizer = Colorizer(model, device=device, tta=tta)
    results = []
    for path in tqdm(paths, desc="colorizing", unit="cutout", disable=not progress):
        results.append(colorizer(path))
    colorized = time.perf_counter()
    galaxies = []
    for path, result, truth in zip(paths, results, truths):
        stem = path.name.replace(".fits", "")
        png = result.save(color / f"{stem}_galcolor.png")
        product = result.to_fits(color / f"{stem}_galcolor.fits", overwrite=True)
        record: dict[str, Any] = {"input": str(path), "png": str(png), "fits": str(product)}
        if truth is not None:
            # the color error on the central galaxy, with the true L on both
            # sides: the r-band stretch and the gri composite differ in L,
            # which is not what the colorizer is asked to predict
            true_lab = rgb_to_lab_numpy(truth)
            mask = central_galaxy_mask(true_lab[..., 0], result.mask)
            if mask.any():
                predicted = np.concatenate([true_lab[..., :1], result.ab], axis=-1)
                grey = np.concatenate([true_lab[..., :1], np.zeros_like(result.ab)], axis=-1)
                record["delta_e2000_galaxy"] = delta_e2000(predicted, true_lab, mask)
                record["delta_e2000_galaxy_grey"] = delta_e2000(grey, true_lab, mask)
                record["ab_mae_galaxy"] = ab_mae(result.ab, true_lab[..., 1:], mask)
        galaxies.append(record)
    titles = [path.name.split("_")[0] for path in paths]
    figure = montage(results, truths, output / "montage.png", titles=titles)
    # Regions in the predicted color (the product), and in the simulated
    # true color with the same code, to show what the color prediction
    # keeps and loses.
    # the demo's own simulated inputs cannot fail: if one does, that is a bug to show
    catalogs = [entry.regions for entry in process(results, strict=True)]
    references = [entry.true_regions for entry in process(true_color, color="true", strict=True)]
    regions = merge(catalogs, meta={"demo_seed": seed})
    write(regions, output / "regions.ecsv", overwrite=True)
    reference_regions = merge(references, meta={"demo_seed": seed})
    write(reference_regions, output / "regions_true_color.ecsv", overwrite=True)
    overlay = regions_overlay(results, catalogs, output / "regions.png", truths=truth_tables,
                              titles=titles, references=references)
    for record, catalog, reference, truth in zip(galaxies, catalogs, references, truth_tables):
        correct, _, _ = label_candidates(catalog, truth)
        reference_correct, _, _ = label_candidates(reference, truth)
        record["n_regions"] = len(catalog)
        record["n_regions_on_clumps"] = int(correct.sum())
        record["n_regions_true_color"] = len(reference)
        record["n_regions_true_color_on_clumps"] = int(reference_correct.sum())
        record["n_true_clumps"] = int(np.sum(np.asarray(truth["kind"]) == "clump"))
    finished = time.perf_counter()
    errors = [record["delta_e2000_galaxy"] for record in galaxies if "delta_e2000_galaxy" in record]
    greys = [record["delta_e2000_galaxy_grey"] for record in galaxies if "delta_e2000_galaxy_grey" in record]
    summary = {
        "n": n, "size": size, "seed": seed, "model": colorizer.model_name,
        "weights_sha256": colorizer.weights_sha256, "tta": tta, "device": str(colorizer.device),
        "seconds": {"simulate": simulated - started, "colorize": colorized - simulated,
                    "write": finished - colorized, "total": finished - started},
        "mean_delta_e2000_galaxy": float(np.mean(errors)) if errors else None,
        "mean_delta_e2000_galaxy_grey": float(np.mean(greys)) if greys else None,
        "montage": str(figure), "regions": str(output / "regions.ecsv"), "regions_figure": str(overlay),
        "n_regions": len(regions), "regions_true_color": str(output / "regions_true_color.ecsv"),
        "n_regions_true_color": len(reference_regions), "galaxies": galaxies,
    }
    with atomic_write(output / "summary.json") as temporary:
        temporary.write_text(json.dumps(summary, indent=1))
    return summary
