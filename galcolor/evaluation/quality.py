"""``galcolor evaluate``: color quality of every colorizer side by side, with figures.

One harness for every claim about color quality. For each color image of
a folder (the truth), the L of the image is colorized by

* the reference colorizers: ``grey`` (a* = b* = 0), ``mean`` (the global mean
  ab of the SDSS training galaxies) and ``lookup`` (the mean ab per
  lightness of the same pixels, :class:`galcolor.baselines.LightnessLookup`;
  the table ships in ``galcolor/data/lookup_sdss.npz``);
* any network: a shipped model name (``default``) or a weights file, through
  :class:`galcolor.Colorizer` at the image's full resolution;

and every metric of :func:`galcolor.metrics.evaluate_image` is measured on
the galaxy pixels (true L > 15) and on the whole image. Results are
aggregated with 95 % bootstrap intervals, per survey when a manifest names
them, and the uncertainty of networks that report one (``ab_std``) is checked:
the fraction of galaxy pixels whose true ab lies inside the predicted 68 %
region (a Gaussian ellipse; 0.68 when calibrated).

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from PIL import Image
>>> from galcolor.evaluation import evaluate_folder
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> rng = np.random.default_rng(0)
>>> for k in range(2):
...     Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{k}.png")
>>> per_image, failures = evaluate_folder(folder, models=(), progress=False)
>>> sorted(per_image["model"].unique())
['grey', 'lookup', 'mean']
"""

from __future__ import annotations

import functools
import json
import os
import time
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._version import __version__
from .._atomic import atomic_write
from ..baselines import LightnessLookup
from ..color import lab_to_rgb_numpy, rgb_to_lab_numpy
from ..colorizer import Colorizer
from ..exceptions import GalcolorError, InputError
from ..io import load
from ..io.raster import RASTER_SUFFIXES
from ..metrics import evaluate_image_regions, galaxy_mask, summarize
from ..uncertainty import CHI2_2DOF

__all__ = ["BASELINES", "IMAGE_SUFFIXES", "evaluate_folder", "model_labels", "write_report",
           "reference_prediction", "uncertainty_coverage"]

#: The reference colorizers evaluated by default.
BASELINES = ("grey", "mean", "lookup")
#: Files of a folder that are evaluated: the color images galcolor reads.
IMAGE_SUFFIXES = RASTER_SUFFIXES
#: Galaxy pixels sampled per image and model for the histograms and scatter plots.
_PIXEL_SAMPLES = 200


@functools.lru_cache(maxsize=1)
def _lookup() -> LightnessLookup:
    """The shipped SDSS lookup table (1-L-unit bins), read once per process."""
    path = resources.files("galcolor").joinpath("data", "lookup_sdss.npz")
    lookup = LightnessLookup()
    with path.open("rb") as handle:
        stored = np.load(handle)
        lookup.counts, lookup.sums, lookup.squares = stored["counts"], stored["sums"], stored["squares"]
    return lookup


def reference_prediction(name: str, lightness: np.ndarray) -> np.ndarray:
    """ab (H, W, 2) of a reference colorizer: ``grey``, ``mean`` or ``lookup``.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.evaluation import reference_prediction
    >>> reference_prediction("grey", np.full((2, 2), 50.0)).shape
    (2, 2, 2)
    """
    lightness = np.asarray(lightness, dtype=np.float64)
    if name == "grey":
        return np.zeros(lightness.shape + (2,))
    lookup = _lookup()
    if name == "mean":
        mean_ab = lookup.sums.sum(axis=0) / lookup.counts.sum()
        return np.broadcast_to(mean_ab, lightness.shape + (2,)).copy()
    if name == "lookup":
        return lookup.mean_at(lightness)
    raise InputError(f"unknown reference colorizer {name!r}; known: {list(BASELINES)}")


def uncertainty_coverage(predicted_ab: np.ndarray, ab_std: np.ndarray, true_ab: np.ndarray,
                         mask: np.ndarray) -> tuple[int, int]:
    """(pixels inside the predicted 68 % region, pixels) over ``mask``.

    The region is the ellipse of a Gaussian with the predicted a*, b* and
    standard deviations (independent); a calibrated uncertainty covers 68 %
    of the true colors. A zero standard deviation covers nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor.evaluation import uncertainty_coverage
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=(300, 300, 2))
    >>> inside, total = uncertainty_coverage(np.zeros_like(truth), np.ones_like(truth), truth,
    ...                                      np.ones((300, 300), bool))
    >>> abs(inside / total - 0.6827) < 0.01
    True
    """
    delta = (np.asarray(true_ab) - np.asarray(predicted_ab))[mask]
    std = np.asarray(ab_std)[mask]
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(std > 0, (delta / np.where(std > 0, std, 1.0)) ** 2, np.inf).sum(axis=-1)
    return int((distance <= CHI2_2DOF).sum()), int(mask.sum())


def _surveys(manifest: str | os.PathLike | None) -> dict[str, str]:
    if manifest is None:
        return {}
    import pandas as pd

    path = Path(manifest)
    table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    name_column = "file" if "file" in table else "path" if "path" in table else None
    if name_column is None or "survey" not in table:
        raise InputError(f"{path}: a manifest needs a 'file' (or 'path') and a 'survey' column, "
                         f"got {list(table.columns)}")
    return {Path(str(name)).name: str(survey) for name, survey in zip(table[name_column], table["survey"])}


def evaluate_folder(
    data: str | os.PathLike,
    *,
    models: Sequence[str] = ("default",),
    baselines: Sequence[str] = BASELINES,
    manifest: str | os.PathLike | None = None,
    limit: int | None = None,
    tta: bool = False,
    device: str = "auto",
    batch_size: int = 16,
    progress: bool = True,
):
    """Evaluate colorizers on every color image of a folder.

    Parameters
    ----------
    data : str or os.PathLike
        Folder of color images (JPEG, PNG, TIFF): the truth.
    models : sequence of str, optional
        Networks: shipped model names or weights files.
    baselines : sequence of str, optional
        Reference colorizers among :data:`BASELINES`.
    manifest : str or os.PathLike, optional
        CSV or Parquet with ``file`` and ``survey`` columns, for the
        per-survey breakdown.
    limit : int, optional
        Evaluate only the first ``limit`` images (sorted by name).
    tta : bool, optional
        Test-time augmentation for the networks (their ``ab_std`` then
        includes the spread of the 8 rotations/flips).
    device : str, optional
        As for :class:`galcolor.Colorizer`.
    batch_size : int, optional
        Images colorized per network call.
    progress : bool, optional
        tqdm progress bar.

    Returns
    -------
    per_image : pandas.DataFrame
        One row per image, colorizer and region (``galaxy``/``whole``):
        ``file``, ``survey``, ``model``, ``region``, every metric of
        :func:`galcolor.metrics.evaluate_image`, and for networks
        ``coverage_inside``/``coverage_pixels`` (galaxy rows); for
        classification heads also ``accuracy`` and ``cross_entropy``
        (:func:`galcolor.metrics.classification_metrics`, measured at the
        network's resolution on the un-augmented image).
    failures : pandas.DataFrame
        ``file``, ``error``: images that could not be evaluated (no color,
        unreadable, too small).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    folder = Path(data)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of color images")
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if limit is not None:
        files = files[:limit]
    if not files:
        raise InputError(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images")
    for name in baselines:
        if name not in BASELINES:
            raise InputError(f"unknown reference colorizer {name!r}; known: {list(BASELINES)}")
    surveys = _surveys(manifest)
    colorizers = {name: Colorizer(name, device=device, tta=tta, batch_size=batch_size) for name in models}
    labels = model_labels(models)
    rows: list[dict[str, Any]] = []
    samples: list[pd.DataFrame] = []
    failures: list[dict[str, str]] = []
    rng = np.random.default_rng(0)
    bar = tqdm(total=len(files), desc="evaluating", unit="image", disable=not progress)
    for start in range(0, len(files), batch_size):
        cutouts, names = [], []
        for path in files[start:start + batch_size]:
            try:
                cutout = load(path)
                if cutout.truth_rgb is None:
                    raise InputError(f"{path}: a grey image has no true color to evaluate against")
                if min(cutout.shape) < 7:
                    raise InputError(f"{path}: {cutout.shape} is smaller than 7 x 7 pixels (SSIM's window)")
                cutouts.append(cutout)
                names.append(path.name)
            except (GalcolorError, OSError, ValueError) as error:
                failures.append({"file": path.name, "error": f"{type(error).__name__}: {error}"})
        predictions: dict[str, list] = {}
        for name, colorizer in colorizers.items():
            predictions[name] = list(colorizer(cutouts)) if cutouts else []
        for index, (cutout, file_name) in enumerate(zip(cutouts, names)):
            true_lab = rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32)).astype(np.float64)
            valid = ~cutout.truth_invalid
            regions = {"galaxy": galaxy_mask(true_lab[..., 0], valid), "whole": valid}
            candidates: list[tuple[str, np.ndarray, np.ndarray | None]] = [
                (name, reference_prediction(name, true_lab[..., 0]), None) for name in baselines]
            candidates += [(labels[name], predictions[name][index].ab.astype(np.float64),
                            predictions[name][index].ab_std.astype(np.float64)) for name in models]
            bins = {labels[name]: _bin_metrics(colorizer, cutout, true_lab, valid)
                    for name, colorizer in colorizers.items()}
            true_rgb = lab_to_rgb_numpy(true_lab)
            for label, ab, ab_std in candidates:
                predicted_lab = np.concatenate([true_lab[..., :1], ab], axis=-1)
                measured = evaluate_image_regions(predicted_lab, true_lab, regions, true_rgb=true_rgb)
                for region, mask in regions.items():
                    row = {"file": file_name, "survey": surveys.get(file_name, ""), "model": label,
                           "region": region, **measured[region]}
                    row.update(bins.get(label, {}).get(region, {}))
                    if region == "galaxy" and ab_std is not None:
                        inside, total = uncertainty_coverage(ab, ab_std, true_lab[..., 1:], mask)
                        row.update(coverage_inside=inside, coverage_pixels=total)
                    rows.append(row)
                pixels = np.flatnonzero(regions["galaxy"])
                if pixels.size:
                    chosen = rng.choice(pixels, size=min(_PIXEL_SAMPLES, pixels.size), replace=False)
                    truth_flat, ab_flat = true_lab[..., 1:].reshape(-1, 2), ab.reshape(-1, 2)
                    samples.append(pd.DataFrame({
                        "model": label, "file": file_name, "true_a": truth_flat[chosen, 0],
                        "true_b": truth_flat[chosen, 1], "predicted_a": ab_flat[chosen, 0],
                        "predicted_b": ab_flat[chosen, 1]}))
            bar.update(1)
        bar.update(len(files[start:start + batch_size]) - len(cutouts))
    bar.close()
    per_image = pd.DataFrame(rows)
    per_image.attrs["pixel_samples"] = pd.concat(samples, ignore_index=True) if samples else pd.DataFrame()
    per_image.attrs["data"] = str(folder)
    per_image.attrs["models"] = {labels[name]: {"source": name, "model": colorizers[name].model_name,
                                                "weights_sha256": colorizers[name].weights_sha256}
                                 for name in models}
    per_image.attrs["tta"] = tta
    return per_image, pd.DataFrame(failures, columns=["file", "error"])


def model_labels(models: Sequence[str]) -> dict[str, str]:
    """Short, unique table labels for shipped model names and weights files.

    A weights file is labelled by its stem; files that share a stem (two
    ``baseline-regression.pt`` in different runs) get their folder too, so
    their rows never merge.

    Examples
    --------
    >>> model_labels(["default", "runs/a/unet.pt", "runs/b/unet.pt", "runs/c/fusion.pt"])
    {'default': 'default', 'runs/a/unet.pt': 'a/unet', 'runs/b/unet.pt': 'b/unet', 'runs/c/fusion.pt': 'fusion'}
    """
    stems = {name: (Path(name).stem if Path(name).suffix else name) for name in models}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    labels = {name: (f"{Path(name).parent.name}/{stem}" if counts[stem] > 1 and Path(name).suffix else stem)
              for name, stem in stems.items()}
    if len(set(labels.values())) != len(labels):
        raise InputError(f"models {list(models)} cannot be told apart in a table: give them distinct file names")
    return labels


def _bin_metrics(colorizer: Any, cutout: Any, true_lab: np.ndarray,
                 valid: np.ndarray) -> dict[str, dict[str, float]]:
    """Bin accuracy and cross-entropy of a classification head, per region.

    Measured where the head works: at the network's resolution
    (:meth:`galcolor.Colorizer` scales the image to its training scale), on
    the un-augmented image, against the true ab resampled to that grid. An
    empty dict for regression heads.
    """
    import torch
    import torch.nn.functional as F

    from ..metrics import classification_metrics

    network = colorizer.network
    if getattr(network, "head", None) != "classification":
        return {}
    plan = colorizer._plan(cutout)
    height, width = plan["network_shape"]
    lightness, window = colorizer.pad_to_stride(plan["network_lightness"][None])
    with torch.inference_mode():
        logits = network(lightness.to(colorizer.device))[window]
    truth = torch.from_numpy(np.concatenate([true_lab, valid[..., None]], axis=-1).astype(np.float32))
    truth = truth.permute(2, 0, 1)[None]
    if (height, width) != tuple(true_lab.shape[:2]):
        truth = F.interpolate(truth, size=(height, width), mode="bilinear", align_corners=False,
                              antialias=plan["scale"] < 1.0)
    small_valid = truth[0, 3].numpy() > 0.5
    regions = {"galaxy": galaxy_mask(truth[0, 0].numpy(), small_valid), "whole": small_valid}
    true_ab = truth[:, 1:3].to(logits.device)
    return {region: classification_metrics(logits, true_ab, network.grid, mask[None])
            for region, mask in regions.items()}


_SUMMARY_METRICS = ("delta_e2000", "ab_mae", "ab_rmse", "auc", "psnr", "ssim", "colorfulness_difference")
#: Metrics of classification heads only (at the network's resolution), with their table headings.
_BIN_METRICS = {"accuracy": "bin accuracy", "cross_entropy": "cross-entropy (nats)"}


def _summary_table(per_image) -> "Any":
    import pandas as pd

    tables = []
    for (model, region), rows in per_image.groupby(["model", "region"], sort=False):
        bins = [metric for metric in _BIN_METRICS if metric in rows and rows[metric].notna().any()]
        metrics = [*_SUMMARY_METRICS, *bins]
        summary = summarize(rows, columns=metrics)
        flat = {"model": model, "region": region, "n": int(summary.loc[list(_SUMMARY_METRICS), "n"].max())}
        for metric in metrics:
            flat[metric] = summary.loc[metric, "mean"]
            flat[f"{metric}_low"] = summary.loc[metric, "low"]
            flat[f"{metric}_high"] = summary.loc[metric, "high"]
        if region == "galaxy" and "coverage_pixels" in rows and rows["coverage_pixels"].notna().any():
            flat["coverage_68"] = rows["coverage_inside"].sum() / max(rows["coverage_pixels"].sum(), 1)
        tables.append(flat)
    return pd.DataFrame(tables)


def _markdown(summary, title: str) -> str:
    bins = [metric for metric in _BIN_METRICS if metric in summary and summary[metric].notna().any()]
    header = ["model", "region", "images", "dE00", "ab MAE", "ab RMSE", "AuC", "PSNR", "SSIM",
              "colorfulness diff", "68 % coverage"] + [_BIN_METRICS[metric] for metric in bins]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def cell(row: Any, metric: str) -> str:
        value = getattr(row, metric, float("nan"))
        if value != value:
            return ""
        return f"{value:.3f} [{getattr(row, metric + '_low'):.3f}, {getattr(row, metric + '_high'):.3f}]"

    for row in summary.itertuples():
        coverage = getattr(row, "coverage_68", float("nan"))
        cells = ([cell(row, metric) for metric in _SUMMARY_METRICS]
                 + ["" if coverage != coverage else f"{coverage:.3f}"] + [cell(row, metric) for metric in bins])
        lines.append(f"| {row.model} | {row.region} | {row.n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(per_image, failures, output: str | os.PathLike, *, montage_model: str | None = None,
                 device: str = "auto") -> dict[str, Path]:
    """Write the tables, figures and a record of an evaluation to a folder.

    Files: ``per_image.csv``, ``summary.csv`` and ``summary.md`` (means with
    95 % bootstrap intervals, per colorizer and region, and per survey when
    known), ``failures.csv``, ``montage.png`` (grey | prediction | truth |
    error map of the best, median and worst galaxies of ``montage_model``),
    ``errors.png`` (histograms of the per-pixel ab error), ``ab_scatter.png``
    (predicted against true a* and b*) and ``record.json``.

    Returns
    -------
    dict of str to pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import seaborn as sns
    from matplotlib.figure import Figure

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def save_text(name: str, text: str) -> None:
        with atomic_write(output / name) as temporary:
            temporary.write_text(text)
        written[name] = output / name

    save_text("per_image.csv", per_image.to_csv(index=False))
    save_text("failures.csv", failures.to_csv(index=False))
    summary = _summary_table(per_image)
    save_text("summary.csv", summary.to_csv(index=False))
    text = [f"# galcolor evaluate: {per_image.attrs.get('data', '')}", "",
            f"galcolor {__version__}; TTA {'on' if per_image.attrs.get('tta') else 'off'}; "
            "means over images with 95 % bootstrap intervals; galaxy = true L > 15.", "",
            _markdown(summary, "All images")]
    if (per_image["survey"] != "").any():
        for survey, rows in per_image.groupby("survey"):
            text.append(_markdown(_summary_table(rows), f"Survey: {survey or 'unknown'}"))
    save_text("summary.md", "\n".join(text))

    sns.set_theme(style="whitegrid")
    samples = per_image.attrs.get("pixel_samples")
    if samples is not None and len(samples):
        samples = samples.assign(error=np.hypot(samples["predicted_a"] - samples["true_a"],
                                                samples["predicted_b"] - samples["true_b"]))
        figure = Figure(figsize=(6.5, 4), layout="constrained")
        ax = figure.subplots()
        sns.histplot(data=samples, x="error", hue="model", element="step", stat="density", common_norm=False,
                     bins=np.linspace(0, 40, 41), ax=ax)
        ax.set(xlabel="per-pixel ab error on galaxy pixels", title="Error distribution (sampled pixels)")
        _save_figure(figure, output / "errors.png", written)
        models = list(samples["model"].unique())
        figure = Figure(figsize=(3.2 * len(models), 6.2), layout="constrained")
        axes = figure.subplots(2, len(models), squeeze=False)
        for column, model in enumerate(models):
            rows = samples[samples["model"] == model]
            for line, channel in enumerate(("a", "b")):
                ax = axes[line, column]
                # points, not a 2-D histogram: the grey and mean predictions
                # are constant, which a histogram cannot bin
                ax.scatter(rows[f"true_{channel}"], rows[f"predicted_{channel}"], s=3, alpha=0.15,
                           color=sns.color_palette()[column % 10], rasterized=True)
                limits = (-30, 40)
                ax.plot(limits, limits, "r--", lw=0.8)
                ax.set(xlim=limits, ylim=limits, xlabel=f"true {channel}*", ylabel=f"predicted {channel}*",
                       title=model if line == 0 else "")
        _save_figure(figure, output / "ab_scatter.png", written)

    if montage_model is None:
        networks = list(per_image.attrs.get("models", {}))
        montage_model = networks[0] if networks else None
    if montage_model is not None:
        rows = per_image[(per_image["model"] == montage_model) & (per_image["region"] == "galaxy")]
        rows = rows.dropna(subset=["delta_e2000"]).sort_values("delta_e2000")
        if len(rows):
            picks = [("best", rows.iloc[0]), ("median", rows.iloc[len(rows) // 2]), ("worst", rows.iloc[-1])]
            source = per_image.attrs.get("models", {}).get(montage_model, {}).get("source", montage_model)
            _montage(per_image.attrs["data"], montage_model, source, picks, output / "montage.png", device,
                     written)

    record = {"galcolor_version": __version__, "data": per_image.attrs.get("data"),
              "models": per_image.attrs.get("models"), "tta": per_image.attrs.get("tta"),
              "n_images": int(per_image["file"].nunique()) if len(per_image) else 0,
              "n_failures": int(len(failures)), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "files": sorted(written)}
    save_text("record.json", json.dumps(record, indent=2) + "\n")
    return written


def _save_figure(figure, path: Path, written: dict[str, Path]) -> None:
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    written[path.name] = path


def _montage(folder: str, model: str, source: str, picks: list, path: Path, device: str,
             written: dict[str, Path]) -> None:
    from matplotlib.figure import Figure

    colorizer = Colorizer(source, device=device, tta=False)
    figure = Figure(figsize=(8.4, 2.3 * len(picks)), layout="constrained")
    axes = figure.subplots(len(picks), 4, squeeze=False)
    for line, (label, row) in enumerate(picks):
        cutout = load(Path(folder) / row["file"])
        result = colorizer(cutout)
        true_lab = rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32))
        predicted = lab_to_rgb_numpy(np.concatenate([true_lab[..., :1], result.ab], axis=-1))
        error = np.hypot(*(result.ab - true_lab[..., 1:]).transpose(2, 0, 1))
        panels = [(np.repeat(true_lab[..., :1] / 100.0, 3, axis=-1), "grey input"), (predicted, model),
                  (cutout.truth_rgb, "truth")]
        for column, (image, title) in enumerate(panels):
            axes[line, column].imshow(np.clip(image, 0, 1))
            axes[line, column].set_title(title if line == 0 else "", fontsize=8)
        shown = axes[line, 3].imshow(error, cmap="magma", vmin=0, vmax=30)
        axes[line, 3].set_title("|ab error|" if line == 0 else "", fontsize=8)
        axes[line, 0].set_ylabel(f"{label}\n{row['file']}\ndE00 {row['delta_e2000']:.1f}", fontsize=7)
        for ax in axes[line]:
            ax.set_xticks([])
            ax.set_yticks([])
    figure.colorbar(shown, ax=axes[:, 3], shrink=0.6)
    _save_figure(figure, path, written)
