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
from typing import Any, Sequence

from . import __version__
from .exceptions import GalcolorError, GalcolorWarning
from .io import Cutout, load, write_example_fits

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
        lines.append(f"  true colour   yes{detail}")
    for warning in summary["warnings"]:
        lines.append(f"  warning       {warning}")
    print("\n".join(lines))


def _command_info(arguments: argparse.Namespace) -> int:
    inputs = [str(path) for path in arguments.inputs]
    with tempfile.TemporaryDirectory() as folder:
        if arguments.example:
            inputs.insert(0, str(write_example_fits(Path(folder) / "galcolor-example.fits")))
        if not inputs:
            print("galcolor info: give at least one INPUT, or --example", file=sys.stderr)
            return 2
        failures = 0
        summaries = []
        band = int(arguments.band) if arguments.band and arguments.band.lstrip("-").isdigit() else arguments.band
        hdu = int(arguments.hdu) if arguments.hdu and arguments.hdu.lstrip("-").isdigit() else arguments.hdu
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``galcolor`` command."""
    parser = argparse.ArgumentParser(
        prog="galcolor",
        description="Colorize grayscale galaxy images and turn the colour into science.",
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
    info.add_argument("--band", help="band name or plane index to use as lightness")
    info.add_argument("--hdu", help="FITS HDU index or EXTNAME")
    info.add_argument("--stretch", default="auto", choices=["auto", "asinh", "identity"],
                      help="how single-band data become lightness (default: auto)")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_command_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = build_parser().parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
