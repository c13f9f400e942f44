"""Fit the built-in survey styles of a shipped model on ../shared/data/multisurvey; ship them in its bundle.

For each survey of the multisurvey ``MANIFEST.csv`` (``sloan`` becomes the
style ``sdss``, ``goods`` ... as named in :data:`galcolor.styles.BUILTIN_STYLES`),
colorizes every image's L with the model (TTA on, as ``galcolor.colorize``
does by default) and fits the style on all of that survey's images
(:func:`galcolor.style_fitting.fit_style_from_images`: the mapping chosen by
cross-validation by image, its uncertainty table from out-of-fold
residuals). How well a style does on images it has not seen is measured by
``benchmarks/bench_styles.py`` (5-fold cross-validation by image). Writes
``galcolor/weights/<model>/styles.json`` and refreshes the bundle's
manifest::

    python pipelines/fit_styles.py --model default
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd

import galcolor
from galcolor._atomic import atomic_write
from galcolor.models.pretrained import load_bundle, write_manifest
from galcolor.style_fitting import fit_style_from_images
from galcolor.styles import BUILTIN_STYLES, MULTISURVEY_STYLES

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, default=SHARED / "multisurvey")
    parser.add_argument("--seed", type=int, default=0, help="pixel sampling")
    arguments = parser.parse_args(argv)
    manifest = pd.read_csv(arguments.data / "MANIFEST.csv")
    bundle = load_bundle(arguments.model)
    colorizer = galcolor.Colorizer(arguments.model, tta=True, progress=False)
    styles, failures = {}, {}
    for survey, style_name in MULTISURVEY_STYLES.items():
        paths = sorted(arguments.data / name for name in manifest.loc[manifest["survey"] == survey, "file"])
        style, failed = fit_style_from_images(
            paths, name=style_name, colorizer=colorizer, seed=arguments.seed
        )
        styles[style_name] = style
        failures[style_name] = failed
        scores = style.provenance["cross_validated_delta_e2000"]
        print(
            f"{style_name:8s} {len(paths):4d} images, {len(failed)} skipped: "
            f"mapping {style.provenance['mapping']!r}"
            f" (cross-validated dE00 " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()) + ")"
        )
    missing = sorted(set(BUILTIN_STYLES) - set(styles))
    if missing:
        raise SystemExit(f"no images for the built-in styles {missing}")
    record = {
        "styles": {name: style.to_dict() for name, style in styles.items()},
        "provenance": {
            "script": "pipelines/fit_styles.py",
            "command": " ".join(["python"] + sys.argv),
            "data": "../shared/data/multisurvey (every image of each survey)",
            "weights_sha256": colorizer.weights_sha256,
            "tta": True,
            "failures": failures,
            "galcolor_version": galcolor.__version__,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    path = bundle.folder / "styles.json"
    with atomic_write(path) as handle:
        handle.write_text(json.dumps(record, indent=1) + "\n")
    write_manifest(bundle.folder, training_geometry=bundle.training_geometry)
    print(f"wrote {path} and refreshed {bundle.folder / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
