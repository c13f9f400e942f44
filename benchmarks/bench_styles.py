"""Survey styles on images they have not seen: color error and 68 % coverage per survey.

For each survey of ``../shared/data/multisurvey`` (``MANIFEST.csv``), every
image is colorized once by the default model (TTA on, its spread kept) and
the survey's style is fitted by 5-fold cross-validation grouped by image
(files in name order, every fifth to a fold): each image is judged by a
style fitted without it (:func:`galcolor.styles.fit_style` on the other
four folds, exactly as ``pipelines/fit_styles.py`` fits the shipped style on
all of them). Compared on the galaxy pixels (true L > 15, true L on both
sides), per image then averaged over images with 95 % bootstrap intervals:

* ``grey``: a* = b* = 0;
* ``survey mean``: the mean color of the other folds' galaxy pixels (the
  per-survey mean-color baseline); ``survey median``: their median;
* ``model``: the model's color in galcolor's convention (no style), with
  its own uncertainty table;
* ``style``: the style's color and uncertainty (``Colorizer(style=...)``
  computes the same).

Coverage is the fraction of galaxy pixels whose true a*, b* lie inside the
predicted 68 % ellipse, as ``galcolor evaluate`` measures it, given two
ways: the mean over images (each image one vote, as every other number
here) and pooled over pixels (dominated by the frames with the largest
"galaxy" regions; the three largest of each survey are listed).

Writes ``benchmarks/results/styles/styles.md`` (and ``.json``),
``styles_errors.png`` and ``styles_examples.png``. Run from the repository
root::

    python benchmarks/bench_styles.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

import galcolor  # noqa: E402
from galcolor.color import lab_to_rgb_numpy, rgb_to_lab_numpy  # noqa: E402
from galcolor.evaluation.quality import uncertainty_coverage  # noqa: E402
from galcolor.metrics import delta_e2000, galaxy_mask  # noqa: E402
from galcolor.models.pretrained import load_bundle  # noqa: E402
from galcolor.styles import MULTISURVEY_STYLES, fit_style, style_pixels  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_json, write_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "multisurvey"
RESULTS = ALL_RESULTS / "styles"
METHODS = ("grey", "survey mean", "survey median", "model", "style")


def colorize_all(files: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """L, the model's ab, its TTA spread, its calibrated std, true Lab and valid pixels of each image."""
    spread_colorizer = galcolor.Colorizer(
        "default", device="cpu", tta=True, uncertainty="spread", progress=False
    )
    table = spread_colorizer.bundle.residual_table()
    images = {}
    for name in tqdm(files, desc="colorizing", unit="image"):
        cutout = galcolor.load(DATA / name)
        result = spread_colorizer(cutout)
        valid = ~cutout.truth_invalid
        images[name] = {
            "lightness": cutout.lightness,
            "ab": result.ab,
            "spread": result.ab_std,
            "calibrated": table.combine(cutout.lightness, result.ab_std),
            "true": rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32)).astype(np.float64),
            "valid": valid,
        }
    return images


def bootstrap(values: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    means = rng.choice(values, size=(n, len(values)), replace=True).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    arguments = parser.parse_args()
    header = record_header(weights=["default"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    manifest = pd.read_csv(DATA / "MANIFEST.csv")
    images = colorize_all(sorted(manifest["file"]))
    weights = load_bundle("default").weights_sha256
    rows, chosen, examples = [], {}, {}
    for survey, style_name in MULTISURVEY_STYLES.items():
        files = sorted(manifest.loc[manifest["survey"] == survey, "file"])
        rng = np.random.default_rng(0)
        pixels = {
            name: style_pixels(
                images[name]["lightness"],
                images[name]["ab"],
                images[name]["true"][..., 1:],
                images[name]["valid"],
                rng=rng,
            )
            for name in files
        }
        chosen[style_name] = []
        for fold in tqdm(range(arguments.folds), desc=f"{style_name} folds"):
            held = files[fold :: arguments.folds]
            fit = [name for name in files if name not in held]
            lightness, ab, true_ab = (np.concatenate([pixels[name][k] for name in fit]) for k in range(3))
            groups = np.concatenate([np.full(len(pixels[name][0]), k) for k, name in enumerate(fit)])
            style = fit_style(lightness, ab, true_ab, name=style_name, weights_sha256=weights, groups=groups)
            chosen[style_name].append(style.provenance["mapping"])
            galaxy_ab = true_ab[lightness > 15]
            constants = {"survey mean": galaxy_ab.mean(axis=0), "survey median": np.median(galaxy_ab, axis=0)}
            for name in held:
                image = images[name]
                true_lab = image["true"]
                mask = galaxy_mask(true_lab[..., 0], image["valid"])
                if not mask.any():
                    continue
                styled, styled_std = style.apply(image["lightness"], image["ab"])
                predictions = {
                    "grey": (np.zeros_like(image["ab"]), None),
                    "survey mean": (np.broadcast_to(constants["survey mean"], image["ab"].shape), None),
                    "survey median": (np.broadcast_to(constants["survey median"], image["ab"].shape), None),
                    "model": (image["ab"], image["calibrated"]),
                    "style": (styled, styled_std),
                }
                for method, (predicted, std) in predictions.items():
                    lab = np.concatenate([true_lab[..., :1], predicted], axis=-1)
                    row = {
                        "survey": survey,
                        "style": style_name,
                        "file": name,
                        "fold": fold,
                        "method": method,
                        "galaxy_pixels": int(mask.sum()),
                        "galaxy_fraction": float(mask.mean()),
                        "delta_e2000": delta_e2000(lab, true_lab, mask),
                    }
                    if std is not None:
                        inside, total = uncertainty_coverage(predicted, std, true_lab[..., 1:], mask)
                        row.update(coverage_inside=inside, coverage_pixels=total, coverage=inside / total)
                    rows.append(row)
                if len(examples.get(style_name, [])) < 3 and fold == 0:
                    examples.setdefault(style_name, []).append((name, true_lab, image["ab"], styled))
    table = pd.DataFrame(rows)
    table.to_csv(RESULTS / "styles_per_image.csv", index=False)
    rng = np.random.default_rng(0)
    summary = []
    for survey, style_name in MULTISURVEY_STYLES.items():
        part = table[table["survey"] == survey]
        entry = {
            "survey": survey,
            "style name": style_name,
            "images": int(part["file"].nunique()),
            "mappings": sorted(set(chosen[style_name])),
        }
        for method in METHODS:
            values = part.loc[part["method"] == method, "delta_e2000"].to_numpy()
            entry[method] = float(values.mean())
            entry[f"{method} ci"] = bootstrap(values, rng)
        for method in ("model", "style"):
            rows_of = part[part["method"] == method]
            entry[f"{method} coverage (images)"] = float(rows_of["coverage"].mean())
            entry[f"{method} coverage (pixels)"] = float(
                rows_of["coverage_inside"].sum() / rows_of["coverage_pixels"].sum()
            )
        largest = part[part["method"] == "style"].nlargest(3, "galaxy_pixels")
        entry["largest galaxy regions"] = [
            f"{r.file} ({r.galaxy_fraction:.0%} of the frame, coverage {r.coverage:.2f})"
            for r in largest.itertuples()
        ]
        entry["below grey and survey mean"] = bool(
            entry["style"] < entry["grey"] and entry["style"] < entry["survey mean"]
        )
        entry["coverage in 0.60-0.76"] = bool(0.60 <= entry["style coverage (images)"] <= 0.76)
        summary.append(entry)

    lines = [
        "Survey styles on images they have not seen (5-fold cross-validation by image)",
        "=" * 78,
        "",
        "Galaxy pixels (true L > 15), true L on both sides; CIEDE2000 per image, mean over images "
        "[95 % bootstrap]; default model, TTA on.",
        "",
        "| survey | style | images | grey | survey mean | survey median | model (no style) | style | "
        "below grey and mean | 68 % coverage, style (images / pixels) | model (images / pixels) | "
        "mapping chosen |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in summary:
        cells = [f"{entry[m]:.2f} [{entry[m + ' ci'][0]:.2f}, {entry[m + ' ci'][1]:.2f}]" for m in METHODS]
        lines.append(
            f"| {entry['survey']} | {entry['style name']} | {entry['images']} | "
            + " | ".join(cells)
            + f" | {'yes' if entry['below grey and survey mean'] else 'NO'} | "
            f"{entry['style coverage (images)']:.2f} / {entry['style coverage (pixels)']:.2f} | "
            f"{entry['model coverage (images)']:.2f} / {entry['model coverage (pixels)']:.2f} | "
            f"{', '.join(entry['mappings'])} |"
        )
    lines += ["", "Frames with the largest galaxy regions (they dominate the pooled coverage):"]
    for entry in summary:
        lines.append(f"- {entry['style name']}: " + "; ".join(entry["largest galaxy regions"]))
    lines += [
        "",
        "Per image: benchmarks/results/styles/styles_per_image.csv; figures: styles_errors.png, "
        "styles_examples.png",
    ]
    write_markdown(RESULTS / "styles.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / "styles.json", {"summary": summary}, header)

    figure, axis = plt.subplots(figsize=(9, 4), layout="constrained")
    positions = np.arange(len(summary))
    for k, method in enumerate(METHODS):
        axis.bar(
            positions + (k - 2) * 0.16,
            [entry[method] for entry in summary],
            0.16,
            label=method,
            yerr=np.array(
                [
                    [entry[method] - entry[method + " ci"][0], entry[method + " ci"][1] - entry[method]]
                    for entry in summary
                ]
            ).T,
            capsize=2,
        )
    axis.set_xticks(positions, [entry["style name"] for entry in summary])
    axis.set_ylabel("galaxy CIEDE2000 (mean over images)")
    axis.legend(fontsize=8, ncols=5)
    axis.set_title("Held-out images of each survey (5-fold CV by image)")
    save_figure(figure, RESULTS / "styles_errors.png", header, dpi=110)

    figure, axes = plt.subplots(len(examples), 9, figsize=(13.5, 1.6 * len(examples)), layout="constrained")
    for row, (style_name, picked) in enumerate(examples.items()):
        for k, (name, true_lab, ab, styled) in enumerate(picked):
            for j, (image, title) in enumerate(
                [
                    (true_lab, "truth"),
                    (np.concatenate([true_lab[..., :1], ab], axis=-1), "model"),
                    (np.concatenate([true_lab[..., :1], styled], axis=-1), "style"),
                ]
            ):
                axis = axes[row, 3 * k + j]
                axis.imshow(np.clip(lab_to_rgb_numpy(image), 0, 1))
                axis.set_xticks([])
                axis.set_yticks([])
                if row == 0:
                    axis.set_title(title, fontsize=8)
        axes[row, 0].set_ylabel(style_name, fontsize=9)
    save_figure(figure, RESULTS / "styles_examples.png", header, dpi=90)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
