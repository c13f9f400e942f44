"""The ``galcolor`` command line (also ``python -m galcolor``).

Examples
--------
>>> from galcolor.cli import main
>>> main(["info", "--example"])  # doctest: +ELLIPSIS
galcolor-example.fits
  shape         128 x 128 (H x W)
  ...
0
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ._version import __version__
from .exceptions import GalcolorError, GalcolorWarning
from .regions.parameters import RegionParameters
from .training.arguments import add_train_arguments

if TYPE_CHECKING:
    from .io import Cutout

# Each command imports what it runs on (torch, astropy, photutils) when it
# runs: ``galcolor --help`` and a mistyped option answer at once.

__all__ = ["main", "describe"]


def describe(cutout: Cutout) -> dict[str, Any]:
    """Summary of a Cutout as plain values (what ``galcolor info`` prints).

    Examples
    --------
    >>> import galcolor
    >>> from galcolor.io import example_hdulist
    >>> summary = describe(galcolor.load(example_hdulist()))
    >>> summary["band"], summary["pixel_scale_arcsec"]
    ('r', 0.396)
    """
    centre = cutout.center
    names = cutout.meta.get("band_names")
    band = cutout.band
    if band is None and names and "band_index" in cutout.meta:
        band = names[cutout.meta["band_index"]]
    stretch = dict(cutout.meta.get("stretch", {}))
    return {
        "source": cutout.source,
        "shape": list(cutout.shape),
        "format": cutout.meta.get("format"),
        "band": band,
        "bands": cutout.meta.get("band_names"),
        "band_origin": cutout.meta.get("band_origin"),
        "stretch": stretch,
        "ra_deg": None if centre is None else round(float(centre.icrs.ra.deg), 6),
        "dec_deg": None if centre is None else round(float(centre.icrs.dec.deg), 6),
        "pixel_scale_arcsec": None if cutout.pixel_scale is None else round(cutout.pixel_scale, 4),
        "mask_fraction": round(cutout.mask_fraction, 6),
        "truth_rgb": cutout.truth_rgb is not None,
        "truth_bands": cutout.meta.get("truth_bands"),
        "lightness_range": [round(float(cutout.lightness.min()), 2), round(float(cutout.lightness.max()), 2)],
        "warnings": cutout.meta.get("warnings", []),
    }


def _format_stretch(stretch: dict[str, Any]) -> str:
    name = stretch.get("name", "?")
    parameters = ", ".join(
        f"{key}={value:.4g}" for key, value in stretch.items()
        if key != "name" and isinstance(value, (int, float))
    )
    return f"{name} ({parameters})" if parameters else name


def _print_summary(summary: dict[str, Any]) -> None:
    height, width = summary["shape"]
    lines = [summary["source"], f"  shape         {height} x {width} (H x W)"]
    band = summary["band"] or "-"
    if summary["bands"] and len(summary["bands"]) > 1:
        names = ", ".join(summary["bands"])
        band += f" (of {names}; {summary['band_origin']})"
    lines.append(f"  band          {band}")
    lines.append(f"  stretch       {_format_stretch(summary['stretch'])}")
    if summary["ra_deg"] is None:
        lines.append("  WCS centre    none")
    else:
        lines.append(f"  WCS centre    RA {summary['ra_deg']:.6f} deg, Dec {summary['dec_deg']:+.6f} deg")
        lines.append(f"  pixel scale   {summary['pixel_scale_arcsec']:.4g} arcsec/pixel")
    lines.append(f"  masked        {100 * summary['mask_fraction']:.2f} %")
    low, high = summary["lightness_range"]
    lines.append(f"  lightness     L in [{low:.1f}, {high:.1f}]")
    if summary["truth_rgb"]:
        bands = summary["truth_bands"]
        detail = f" (R={bands[0]}, G={bands[1]}, B={bands[2]})" if bands else ""
        lines.append(f"  true color   yes{detail}")
    for warning in summary["warnings"]:
        lines.append(f"  warning       {warning}")
    print("\n".join(lines))


def _index_or_name(text: str | None) -> int | str | None:
    """``--band``/``--hdu``: an integer index ("1", "-1") or a name ("r", "SCI")."""
    return int(text) if text and text.lstrip("-").isdigit() else text


def _command_info(arguments: argparse.Namespace) -> int:
    from .io import load, write_example_fits

    inputs = [str(path) for path in arguments.inputs]
    with tempfile.TemporaryDirectory() as folder:
        if arguments.example:
            inputs.insert(0, str(write_example_fits(Path(folder) / "galcolor-example.fits")))
        if not inputs:
            print("galcolor info: give at least one INPUT, or --example", file=sys.stderr)
            return 2
        failures = 0
        summaries = []
        band, hdu = _index_or_name(arguments.band), _index_or_name(arguments.hdu)
        for path in inputs:
            try:
                with warnings.catch_warnings():
                    # Warnings are part of the summary; do not print them twice.
                    warnings.simplefilter("ignore", GalcolorWarning)
                    summary = describe(load(path, band=band, hdu=hdu, stretch=arguments.stretch))
            except (GalcolorError, OSError, ValueError) as error:
                failures += 1
                print(f"galcolor info: FAILED {error}", file=sys.stderr)
                continue
            if arguments.example and path == inputs[0]:
                summary["source"] = Path(path).name
            summaries.append(summary)
            if not arguments.json:
                _print_summary(summary)
        if arguments.json:
            print(json.dumps(summaries, indent=2))
    return 1 if failures else 0


def _write_simulated(galaxy, folder: Path, prefix: str, band: str) -> list[Path]:
    """Write one simulated galaxy's products atomically; return the paths."""
    import numpy as np
    from PIL import Image

    from ._atomic import atomic_write

    products = {
        "cube": folder / f"{prefix}_{''.join(galaxy.band_names)}.fits",
        "band": folder / f"{prefix}_{band}.fits",
        "jpeg": folder / f"{prefix}.jpg",
        "truth": folder / f"{prefix}_truth.ecsv",
    }
    with atomic_write(products["cube"]) as temporary:
        galaxy.to_hdulist().writeto(temporary)
    with atomic_write(products["band"]) as temporary:
        galaxy.band_hdu(band).writeto(temporary)
    if galaxy.rgb is not None:
        # FITS row 0 is the bottom of the sky image, JPEG row 0 the top: flip
        # so the JPEG shows north up like survey cutouts do.
        pixels = np.round(np.clip(galaxy.rgb[::-1], 0.0, 1.0) * 255.0).astype(np.uint8)
        with atomic_write(products["jpeg"]) as temporary:
            Image.fromarray(pixels).save(temporary, format="JPEG", quality=95)
    else:
        del products["jpeg"]
    truth = galaxy.truth.copy()
    truth.meta.update({"redshift": galaxy.params["redshift"], "seed": galaxy.params["seed"],
                       "index": galaxy.params["index"], "params": galaxy.params})
    with atomic_write(products["truth"]) as temporary:
        truth.write(temporary, format="ascii.ecsv")
    return list(products.values())


def _command_train(arguments: argparse.Namespace) -> int:
    from .training.command import train_command

    return train_command(arguments)


def _command_simulate(arguments: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .datasets import iter_simulate

    folder = Path(arguments.output)
    folder.mkdir(parents=True, exist_ok=True)
    failures = 0
    galaxies = iter_simulate(arguments.n, size=arguments.size, seed=arguments.seed,
                             bands=tuple(arguments.bands))
    for galaxy in tqdm(galaxies, total=arguments.n, desc="simulating", unit="galaxy"):
        prefix = f"sim-{arguments.seed}-{galaxy.params['index']:06d}"
        try:
            _write_simulated(galaxy, folder, prefix, arguments.band)
        except (GalcolorError, OSError) as error:
            failures += 1
            print(f"galcolor simulate: FAILED {prefix}: {error}", file=sys.stderr)
    print(f"wrote {arguments.n - failures} simulated galaxies to {folder}")
    return 1 if failures else 0


def _command_colorize(arguments: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .colorization import RASTER_FORMATS
    from .colorizer import Colorizer
    from .pipeline import cutout_ids

    formats = [item.strip().lower() for item in arguments.format.split(",") if item.strip()]
    unknown = sorted(set(formats) - {"png", "jpeg", "jpg", "tiff", "tif", "fits"})
    if not formats or unknown:
        print(f"galcolor colorize: unknown format(s) {unknown or formats}; use png, jpeg, tiff, fits",
              file=sys.stderr)
        return 2
    folder = Path(arguments.output)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        colorizer = Colorizer(arguments.model, device=arguments.device, tta=not arguments.no_tta,
                              band=_index_or_name(arguments.band), hdu=_index_or_name(arguments.hdu),
                              stretch=arguments.stretch, style=arguments.style,
                              batch_size=arguments.batch_size, progress=not arguments.quiet)
    except GalcolorError as error:
        print(f"galcolor colorize: {error}", file=sys.stderr)
        _remove_if_empty(folder, created)
        return 1
    failures = []
    inputs = [str(path) for path in arguments.inputs]
    resolved_inputs = {Path(path).resolve() for path in inputs}
    for path, stem in tqdm(list(zip(inputs, cutout_ids(inputs))), desc="colorizing", unit="image",
                           disable=arguments.quiet):
        try:
            targets = {kind: folder / f"{stem}_galcolor{_PRODUCT_SUFFIX.get(kind, '.' + kind)}" for kind in formats}
            for target in targets.values():  # every product checked before any is written
                if target.resolve() in resolved_inputs:
                    raise GalcolorError(f"{target}: output would replace an input; choose another -o")
                if target.exists() and not arguments.overwrite:
                    raise GalcolorError(f"{target} exists (pass --overwrite to replace it)")
            result = colorizer(path)
            for kind, target in targets.items():
                ending = target.suffix
                if kind == "fits":
                    result.to_fits(target, overwrite=True, rgb=not arguments.no_rgb_cube)
                else:
                    assert ending in RASTER_FORMATS
                    result.save(target, bits=arguments.bits)
        except (GalcolorError, OSError, ValueError) as error:
            failures.append((path, error))
            message = str(error) if path in str(error) else f"{path}: {error}"
            tqdm.write(f"galcolor colorize: FAILED {message}", file=sys.stderr)
    done = len(inputs) - len(failures)
    if _remove_if_empty(folder, created):
        print(f"colorized 0 of {len(inputs)} image(s); {len(failures)} failed, nothing written")
        return 1
    print(f"colorized {done} of {len(inputs)} image(s) into {folder}"
          + (f"; {len(failures)} failed" if failures else ""))
    return 1 if failures else 0


#: File endings of the colorize products whose format name is not their ending.
_PRODUCT_SUFFIX = {"jpeg": ".jpg", "tif": ".tiff"}


def _remove_if_empty(folder: Path, created: bool) -> bool:
    """Remove an output folder this run created when nothing was written into it; True if removed."""
    if created and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        return True
    return False


def _command_regions(arguments: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .catalog import merge, write
    from .colorizer import Colorizer
    from .process import is_color_product, process

    target = Path(arguments.output)
    if target.exists() and not arguments.overwrite:
        print(f"galcolor regions: {target} exists (pass --overwrite to replace it)", file=sys.stderr)
        return 1
    inputs = [str(path) for path in arguments.inputs]
    if target.resolve() in {Path(path).resolve() for path in inputs}:
        print(f"galcolor regions: {target} is one of the inputs; choose another -o", file=sys.stderr)
        return 1
    params = RegionParameters(min_significance=arguments.min_significance, min_area=arguments.min_area,
                              min_score=arguments.min_score, galaxies=arguments.galaxies,
                              candidates=arguments.candidates, color_evidence=not arguments.light_only)
    load_options = {"band": _index_or_name(arguments.band), "hdu": _index_or_name(arguments.hdu)}
    products = [is_color_product(path) for path in inputs]
    colorizer = None
    if not arguments.true_color and not all(products):
        colorizer = Colorizer(arguments.model, device=arguments.device, tta=not arguments.no_tta, **load_options)
    tables, failures = [], []
    for path, product in tqdm(list(zip(inputs, products)), desc="finding regions", unit="image",
                              disable=arguments.quiet):
        # one image at a time: memory stays that of one frame, and the bar moves
        color = "true" if arguments.true_color and not product else "predicted"
        [entry] = process([path], colorizer=colorizer, params=params, color=color, load_options=load_options)
        if entry.ok:
            tables.append(entry.true_regions if color == "true" else entry.regions)
        else:
            failures.append((path, entry.error))
            tqdm.write(f"galcolor regions: FAILED {entry.message}", file=sys.stderr)
    catalog = merge(tables)
    catalog.meta["failures"] = [{"source": path, "error": f"{type(error).__name__}: {error}"}
                                for path, error in failures]
    try:
        write(catalog, target, overwrite=arguments.overwrite)
    except (GalcolorError, OSError) as error:
        print(f"galcolor regions: {error}", file=sys.stderr)
        return 1
    print(f"{len(catalog)} region(s) from {len(tables)} of {len(inputs)} image(s) written to {target}"
          + (f"; {len(failures)} failed" if failures else ""))
    return 1 if failures else 0


def _command_pipeline(arguments: argparse.Namespace) -> int:
    from .pipeline import run_pipeline

    try:
        result = run_pipeline(
            arguments.inputs, arguments.output,
            model=arguments.model, device=arguments.device, tta=not arguments.no_tta,
            stretch=arguments.stretch, band=_index_or_name(arguments.band), hdu=_index_or_name(arguments.hdu),
            batch_size=arguments.batch_size, workers=arguments.workers,
            threads_per_worker=arguments.threads_per_worker, scheduler=arguments.scheduler,
            strict=arguments.strict, products=arguments.products, min_significance=arguments.min_significance,
            min_area=arguments.min_area, min_score=arguments.min_score, galaxies=arguments.galaxies,
            candidates=arguments.candidates, color_evidence=not arguments.light_only, progress=not arguments.quiet)
    except GalcolorError as error:
        print(f"galcolor pipeline: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    if result.n_failed:
        print(f"galcolor pipeline: {result.n_failed} cutout(s) failed; see {result.failures}", file=sys.stderr)
    return 1 if result.n_failed else 0


def _command_evaluate(arguments: argparse.Namespace) -> int:
    from .evaluation import evaluate_folder, write_report

    models = [name for item in arguments.models for name in item.split(",") if name]
    baselines = [name for name in arguments.baselines.split(",") if name]
    try:
        per_image, failures = evaluate_folder(arguments.data, models=models, baselines=baselines,
                                              manifest=arguments.manifest, limit=arguments.limit,
                                              tta=arguments.tta, device=arguments.device,
                                              progress=not arguments.quiet)
        written = write_report(per_image, failures, arguments.output, device=arguments.device)
    except GalcolorError as error:
        print(f"galcolor evaluate: {error}", file=sys.stderr)
        return 1
    print((Path(arguments.output) / "summary.md").read_text())
    print(f"{per_image['file'].nunique()} image(s) evaluated, {len(failures)} failed; "
          f"{len(written)} files in {arguments.output}")
    return 0


def _command_fit_style(arguments: argparse.Namespace) -> int:
    from .colorizer import Colorizer
    from .style_fitting import fit_style_from_images

    output = Path(arguments.output)
    if output.exists() and not arguments.overwrite:
        print(f"galcolor fit-style: {output} exists; use --overwrite to replace it", file=sys.stderr)
        return 1
    name = arguments.name or output.stem
    try:
        colorizer = Colorizer(arguments.model, device=arguments.device, tta=not arguments.no_tta, progress=False)
        style, failures = fit_style_from_images(arguments.images, name=name, colorizer=colorizer,
                                                progress=not arguments.quiet)
        style.save(output)
    except GalcolorError as error:
        print(f"galcolor fit-style: {error}", file=sys.stderr)
        return 1
    for failure in failures:
        print(f"galcolor fit-style: skipped {failure['file']}: {failure['error']}", file=sys.stderr)
    print(f"style {name!r} fitted on {len(style.provenance['images'])} image(s) "
          f"({style.provenance['pixels']} pixels), {len(failures)} skipped: {output}")
    return 0


def _command_demo(arguments: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        summary = run_demo(arguments.output, n=arguments.n, size=arguments.size, seed=arguments.seed,
                           model=arguments.model, device=arguments.device, tta=not arguments.no_tta,
                           progress=not arguments.quiet)
    except GalcolorError as error:
        print(f"galcolor demo: {error}", file=sys.stderr)
        return 1
    folder = Path(arguments.output)
    print(f"colorized {summary['n']} simulated r-band cutouts with model {summary['model']!r} "
          f"on {summary['device']} in {summary['seconds']['total']:.1f} s")
    if summary["mean_delta_e2000_galaxy"] is not None:
        print(f"color error on the central galaxies against the simulated truth: dE2000 "
              f"{summary['mean_delta_e2000_galaxy']:.2f} (grey image: "
              f"{summary['mean_delta_e2000_galaxy_grey']:.2f})")
    print(f"found {summary['n_regions']} star-forming region(s) in the predicted color "
          f"({summary['n_regions_true_color']} in the simulated true color, same method): catalog "
          f"{folder / 'regions.ecsv'}, overlay {folder / 'regions.png'}")
    print(f"look at {folder / 'montage.png'} (grey | galcolor | truth); color images and FITS "
          f"products are in {folder / 'color'}, the inputs in {folder / 'inputs'}")
    return 0


def _command_fetch(arguments: argparse.Namespace) -> int:
    from .datasets import fetch_kaggle

    try:
        folder = fetch_kaggle(arguments.competition, arguments.dest, force=arguments.force,
                              timeout=arguments.timeout)
    except GalcolorError as error:
        print(f"galcolor fetch kaggle: {error}", file=sys.stderr)
        return 1
    print(folder)
    return 0


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --device and --no-tta, the same for every command that colorizes."""
    parser.add_argument("--model", default="default",
                        help="shipped model name or weights file (default: the shipped default)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, ...")
    parser.add_argument("--no-tta", action="store_true",
                        help="no test-time augmentation (8x faster; no TTA spread in the uncertainty)")


def _add_input_arguments(parser: argparse.ArgumentParser, *, manifest: bool = False) -> None:
    """--band, --hdu and --stretch: how an input file becomes lightness."""
    given = " (unless the manifest gives one)" if manifest else ""
    parser.add_argument("--band", help=f"band name or plane index to use as lightness{given}")
    parser.add_argument("--hdu", help=f"FITS HDU index or EXTNAME{given}")
    parser.add_argument("--stretch", default="auto", choices=["auto", "asinh", "identity"],
                        help="how single-band data become lightness (default: auto)")


def _add_region_arguments(parser: argparse.ArgumentParser) -> None:
    """The find_star_forming_regions options, the same for regions and pipeline."""
    defaults = RegionParameters()
    parser.add_argument("--min-significance", type=float, default=defaults.min_significance,
                        help="detection threshold, blue excess over its uncertainty (default "
                             f"{defaults.min_significance})")
    parser.add_argument("--min-area", type=int, default=defaults.min_area,
                        help=f"fewest pixels in a region (default {defaults.min_area})")
    parser.add_argument("--min-score", type=float, default=defaults.min_score,
                        help=f"keep regions scoring at least this (default {defaults.min_score}; 0 keeps all "
                             "candidates)")
    parser.add_argument("--galaxies", choices=["central", "all"], default=defaults.galaxies,
                        help="the galaxy at the centre, or every galaxy in the frame")
    parser.add_argument("--candidates", choices=["light+color", "color"], default=defaults.candidates,
                        help="candidates from knots of light and blue patches, scored on both (default), or "
                             "galcolor 0.1's color-excess method")
    parser.add_argument("--light-only", action="store_true",
                        help="score candidates on their light alone, without the color")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``galcolor`` command."""
    parser = argparse.ArgumentParser(
        prog="galcolor",
        description="Colorize grayscale galaxy images and turn the color into science.",
    )
    parser.add_argument("--version", action="version", version=f"galcolor {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    info = commands.add_parser(
        "info",
        help="load images and print shape, band, stretch, WCS centre and mask fraction",
        description="Load each INPUT as galcolor.load would and describe it. A file that "
        "fails is reported and the others are still described; the exit status is 1 "
        "if any failed.",
    )
    info.add_argument("inputs", nargs="*", metavar="INPUT", help="FITS, JPEG, PNG or TIFF files")
    info.add_argument("--example", action="store_true",
                      help="also describe the embedded synthetic example galaxy")
    _add_input_arguments(info)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_command_info)

    simulate = commands.add_parser(
        "simulate",
        help="simulate galaxies with star-forming-clump truth (FITS, JPEG, ECSV)",
        description="Simulate N galaxies with GalSim and write, per galaxy, the band cube "
        "(FITS), one band as a single-band FITS, the gri composite (JPEG, north up) and the "
        "truth table of clumps and contaminants (ECSV).",
    )
    simulate.add_argument("-n", type=int, required=True, help="number of galaxies")
    simulate.add_argument("-o", "--output", required=True, help="output folder")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("--size", type=int, default=128, help="image size in pixels (default 128)")
    simulate.add_argument("--bands", default="gri", help="bands to simulate (default gri)")
    simulate.add_argument("--band", default="r", help="band of the single-band FITS (default r)")
    simulate.set_defaults(handler=_command_simulate)

    train = commands.add_parser(
        "train", help="train a colorizer and export its best weights",
        description="Train a colorizer (galcolor.models) on image folders and/or simulated galaxies "
        "with galcolor.training.Trainer; see pipelines/train_colorizer.py for examples.")
    add_train_arguments(train)
    train.set_defaults(handler=_command_train)

    colorize = commands.add_parser(
        "colorize", help="colorize FITS/JPEG/PNG/TIFF images (color image + FITS products)",
        description="Colorize each INPUT with galcolor.Colorizer and write OUTDIR/<name>_galcolor.<format>. "
        "A file that fails is reported (file and reason) and the others are still written; the "
        "exit status is 1 if any failed. Existing products are not replaced without --overwrite "
        "(the rule of every galcolor command).")
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", help="FITS, JPEG, PNG or TIFF files")
    colorize.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    colorize.add_argument("--overwrite", action="store_true", help="replace existing products")
    _add_model_arguments(colorize)
    colorize.add_argument("--format", default="png,fits",
                          help="comma-separated: png, jpeg, tiff, fits (default png,fits)")
    colorize.add_argument("--bits", type=int, default=8, choices=[8, 16], help="bits per channel of PNG/TIFF")
    colorize.add_argument("--no-rgb-cube", action="store_true",
                          help="leave the RGB cube out of the FITS product: 21 bytes a pixel instead of 33 (float32 "
                               "L, a*, b*, their errors, RGB; about 8x a float32 input with it)")
    _add_input_arguments(colorize)
    colorize.add_argument("--style", default=None,
                          help="survey rendering of the color: sdss, decals, gama, goods, candels, ukidss or a "
                               "style file from 'galcolor fit-style' (default: galcolor's convention, the SDSS "
                               "Galaxy Zoo gri composite)")
    colorize.add_argument("--batch-size", type=int, default=None, help="network images per forward pass")
    colorize.add_argument("--quiet", action="store_true", help="no progress bar")
    colorize.set_defaults(handler=_command_colorize)

    regions = commands.add_parser(
        "regions", help="find star-forming regions and write one catalog",
        description="Find star-forming regions (compact knots bluer than their disk) in each INPUT and "
        "write one catalog. Images are colorized first; FITS color products of galcolor colorize "
        "are read as they are; --true-color uses the input's own color (RGB images, 3-band FITS). "
        "The format follows the extension of CATALOG: .fits, .ecsv, .xml/.vot, .parquet, .csv. "
        "A file that fails is reported and the others are still searched; the exit status is 1 "
        "if any failed.")
    regions.add_argument("inputs", nargs="+", metavar="INPUT", help="images or galcolor FITS color products")
    regions.add_argument("-o", "--output", required=True, metavar="CATALOG", help="catalog file")
    regions.add_argument("--overwrite", action="store_true", help="replace an existing catalog")
    regions.add_argument("--true-color", action="store_true",
                         help="search the input's own color instead of colorizing it")
    # the spelling of galcolor <= 0.1.0.dev0, kept so that old scripts still run
    regions.add_argument("--true-colour", dest="true_color", action="store_true", help=argparse.SUPPRESS)
    _add_region_arguments(regions)
    _add_model_arguments(regions)
    regions.add_argument("--band", help="band name or plane index to use as lightness")
    regions.add_argument("--hdu", help="FITS HDU index or EXTNAME")
    regions.add_argument("--quiet", action="store_true", help="no progress bar")
    regions.set_defaults(handler=_command_regions)

    pipeline = commands.add_parser(
        "pipeline", help="colorize + find regions over many cutouts on Dask, resumable, into catalogs/",
        description="Run colorize and find_star_forming_regions over every cutout of INPUT (a folder, "
        "glob, files, or a CSV/Parquet manifest with path and optional id, ra, dec, band, hdu columns) "
        "on a Dask cluster: a LocalCluster by default, or --scheduler ADDRESS. Writes the merged "
        "region catalog (Parquet, FITS), the per-galaxy table, failures.csv and run.json to OUTDIR "
        "(default catalogs/<input name>). Rerunning the same command resumes an interrupted run. "
        "The exit status is 1 if any cutout failed (and the run stops at the first with --strict).")
    pipeline.add_argument("inputs", nargs="+", metavar="INPUT", help="manifest, folder, glob or files")
    pipeline.add_argument("-o", "--output", metavar="OUTDIR", help="run folder (default catalogs/<name>)")
    pipeline.add_argument("--workers", type=int, default=None,
                          help="local worker processes (default: cores / threads per worker; 0: no Dask)")
    pipeline.add_argument("--threads-per-worker", type=int, default=1,
                          help="threads per local worker, also PyTorch's (default 1)")
    pipeline.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler")
    pipeline.add_argument("--batch-size", type=int, default=32, help="cutouts per task and part (default 32)")
    pipeline.add_argument("--strict", action="store_true", help="fail the run at the first failed cutout")
    pipeline.add_argument("--products", action="store_true", help="also write each cutout's color FITS product")
    _add_region_arguments(pipeline)
    _add_model_arguments(pipeline)
    _add_input_arguments(pipeline, manifest=True)
    pipeline.add_argument("--quiet", action="store_true", help="no progress bar")
    pipeline.set_defaults(handler=_command_pipeline)

    fit_style = commands.add_parser(
        "fit-style", help="fit a survey style from that survey's color images",
        description="Colorize the L of each color IMAGE of one survey and fit the mapping from the model's "
        "color (and L) to the survey's rendering, with its own uncertainty table (galcolor.styles). "
        "A few dozen images are enough; images that cannot be read are reported and skipped.")
    fit_style.add_argument("images", nargs="+", metavar="IMAGE", help="color JPEG/PNG/TIFF images of one survey")
    fit_style.add_argument("-o", "--output", required=True, metavar="STYLE_JSON", help="style file to write")
    fit_style.add_argument("--name", help="style name (default: the output file's stem)")
    fit_style.add_argument("--overwrite", action="store_true", help="replace an existing style file")
    _add_model_arguments(fit_style)
    fit_style.add_argument("--quiet", action="store_true", help="no progress bar")
    fit_style.set_defaults(handler=_command_fit_style)

    evaluate = commands.add_parser(
        "evaluate", help="color quality of colorizers against the truth of color images",
        description="Colorize the L of every color image in --data with each model and the reference "
        "colorizers (grey, global mean, per-lightness lookup), measure every metric on galaxy pixels "
        "and whole images with bootstrap intervals, and write tables, figures and a record to OUTDIR.")
    evaluate.add_argument("--data", required=True, help="folder of color images (the truth)")
    evaluate.add_argument("--models", nargs="*", default=["default"],
                          help="shipped model names or weights files (default: default)")
    evaluate.add_argument("--baselines", default="grey,mean,lookup",
                          help="reference colorizers, comma-separated (default grey,mean,lookup)")
    evaluate.add_argument("--manifest", help="CSV/Parquet with file and survey columns (per-survey tables)")
    evaluate.add_argument("--limit", type=int, help="only the first N images")
    evaluate.add_argument("--tta", action="store_true",
                          help="test-time augmentation (needed for the uncertainty of regression models)")
    evaluate.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, ...")
    evaluate.add_argument("-o", "--output", required=True, metavar="REPORT_DIR", help="report folder")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(handler=_command_evaluate)

    demo = commands.add_parser(
        "demo", help="the main job on an embedded default: simulate, colorize, write products",
        description="Simulate a small survey of single-band r FITS cutouts with a WCS, colorize them "
        "with the default model, and write the color images, the FITS products, a montage "
        "(grey | galcolor | truth) and summary.json to OUTDIR.")
    demo.add_argument("-o", "--output", default="galcolor-demo", metavar="OUTDIR",
                      help="output folder (default ./galcolor-demo)")
    demo.add_argument("-n", type=int, default=8, help="number of simulated galaxies (default 8)")
    demo.add_argument("--size", type=int, default=128, help="cutout side in pixels (default 128)")
    demo.add_argument("--seed", type=int, default=2026, help="simulator seed (default 2026)")
    _add_model_arguments(demo)
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(handler=_command_demo)

    fetch = commands.add_parser("fetch", help="download a dataset")
    sources = fetch.add_subparsers(dest="source", required=True)
    kaggle = sources.add_parser(
        "kaggle",
        help="the Galaxy Zoo training JPEGs from Kaggle (needs Kaggle credentials)",
        description="Download images_training_rev1.zip of a Kaggle competition, unzip it, "
        "verify the number of images and print the folder. Needs Kaggle credentials "
        "(KAGGLE_USERNAME/KAGGLE_KEY or ~/.kaggle/kaggle.json) and the competition rules accepted.",
    )
    kaggle.add_argument("--competition", default="galaxy-zoo-the-galaxy-challenge")
    kaggle.add_argument("--dest", default=None, help="destination folder (default: galcolor's cache)")
    kaggle.add_argument("--force", action="store_true", help="download again even if present")
    kaggle.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds")
    kaggle.set_defaults(handler=_command_fetch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from ._memory import limit_heap_growth

    arguments = build_parser().parse_args(argv)
    limit_heap_growth()  # batch commands would otherwise grow by ~25 MB per image
    # astropy, once imported, prints warnings through its own logger
    # (several lines, "WARNING: ... [module]"): imported first, so that the
    # one-line display below replaces its hook, not the other way round
    import astropy  # noqa: F401

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return arguments.handler(arguments)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A warning as one line on stderr (``galcolor: <Category>: <message>``), without Python's source line."""
    text = " ".join(str(message).split())
    print(f"galcolor: {category.__name__}: {text}", file=sys.stderr if file is None else file)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
