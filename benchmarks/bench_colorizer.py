"""Color quality of colorizers on real SDSS galaxies, side by side.

Evaluates, on the SDSS Galaxy Zoo validation images of ``../shared/data``
(central 208 px of the 424 px frame resized to 128 px, DESIGN.md's reference
protocol), in one run:

* ``grey``: a* = b* = 0;
* ``lookup``: the mean ab per lightness bin of the training set
  (:class:`galcolor.baselines.LightnessLookup`, fitted on all 6,704 training
  images with the same crop and size; cached in ``benchmarks/results/colorizer``);
* every weights file given with ``--weights`` (:func:`galcolor.models.load_weights`;
  a shipped model's name, ``default``, stands for its weights file),
  and with ``--tta on`` (or ``both``) also its mean over the 8 rotations and
  flips of the input, through :class:`galcolor.Colorizer`'s own test-time augmentation.

For each: ab MAE and CIEDE2000 on galaxy pixels (L > 15) and on whole images,
and the ratio of the galaxy ΔE00 to the lookup table's. Writes
``benchmarks/results/colorizer/colorizer_quality.md`` (and ``.json``).

With ``--full`` it evaluates at the full 424 px resolution instead, through
the public API: each JPEG goes through :func:`galcolor.load` and a
:class:`galcolor.Colorizer` (automatic scale, with and without TTA), and the
prediction at the JPEG's own pixels is compared with the JPEG's color (the
lookup table is applied to the full-resolution L). Writes
``colorizer_quality_full.md`` (and ``.json``).

With ``--context`` it checks whether a model depends on how the galaxy is
framed: the galaxy ΔE00 of the same pixels (the central 208 px of each frame)
predicted from the 128 px image of those 208 px, and from a 256 px image of
the central 416 px (the same scale, more surroundings, the image border
twice as far). A network that learned the border of its centred training
crops as a cue for where the galaxy is gets worse with more surroundings.
Writes ``colorizer_context.md`` (and ``.json``).

Run from the repository root::

    python benchmarks/bench_colorizer.py [--n-val 500] [--weights default ...] [--tta both]
    python benchmarks/bench_colorizer.py --full [--n-val 500] [--weights ...] [--precision float32 bfloat16] [--tta off]
    python benchmarks/bench_colorizer.py --context [--n-val 500] [--weights ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

import galcolor
from galcolor.baselines import GreyColorizer, LightnessLookup
from galcolor.datasets import ImageFolder
from galcolor.metrics import ab_mae, delta_e2000

from _record import RESULTS as ALL_RESULTS
from _record import record_header, resolve_weights, save_figure, write_json, write_markdown

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ALL_RESULTS / "colorizer"
SIZE, CROP = 128, 208


def fitted_lookup(n_train: int | None, workers: int, size: int = SIZE,
                  folder: Path = RESULTS) -> LightnessLookup:
    """The lookup table of the training set (cached as an .npz in ``folder``)."""
    cache = folder / f"lookup_table_{size}px_crop{CROP}.npz"
    lookup = LightnessLookup()
    if cache.exists() and n_train is None:
        stored = np.load(cache)
        lookup.counts, lookup.sums, lookup.squares = stored["counts"], stored["sums"], stored["squares"]
        return lookup
    train = ImageFolder(SHARED / "sdss-gz" / "train", size=size, crop=CROP)
    indices = range(len(train)) if n_train is None else range(min(n_train, len(train)))
    loader = DataLoader(torch.utils.data.Subset(train, list(indices)), batch_size=32, num_workers=workers)
    lookup.fit(tqdm(loader, desc="fitting the lookup table"))
    if n_train is None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(cache, counts=lookup.counts, sums=lookup.sums, squares=lookup.squares)
    return lookup


class ColorizerTTA:
    """A model's prediction averaged over the 8 rotations and flips of its input, by galcolor.Colorizer's own TTA."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.colorizer = galcolor.Colorizer(model, tta=True, device="cpu", precision="float32", uncertainty="spread")

    def predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ab, variance = self.colorizer._predict(lightness)
        return ab, variance.clamp_min(0.0).sqrt()


def evaluate(colorizer, batches: list[dict]) -> dict[str, float]:
    """ab MAE and ΔE00 on galaxy pixels and whole images, pooled over all pixels."""
    predicted, truth, galaxy = [], [], []
    with torch.no_grad():
        for batch in batches:
            ab, _ = colorizer.predict(batch["lightness"])
            lightness = batch["lightness"].numpy().transpose(0, 2, 3, 1)
            predicted.append(np.concatenate([lightness, ab.numpy().transpose(0, 2, 3, 1)], axis=-1))
            truth.append(np.concatenate([lightness, batch["ab"].numpy().transpose(0, 2, 3, 1)], axis=-1))
            galaxy.append(batch["galaxy_mask"].numpy()[:, 0])
    predicted, truth, galaxy = np.concatenate(predicted), np.concatenate(truth), np.concatenate(galaxy)
    return {
        "ab_mae_galaxy": ab_mae(predicted[..., 1:], truth[..., 1:], galaxy),
        "de00_galaxy": delta_e2000(predicted, truth, galaxy),
        "ab_mae_whole": ab_mae(predicted[..., 1:], truth[..., 1:]),
        "de00_whole": delta_e2000(predicted, truth),
    }


def evaluate_full(arguments, lookup: LightnessLookup) -> dict[str, dict[str, float]]:
    """Galaxy-pixel and whole-image metrics at the JPEGs' full resolution, through galcolor.colorize."""
    from galcolor.color import rgb_to_lab_numpy
    from galcolor.metrics import galaxy_mask

    paths = sorted((SHARED / "sdss-gz" / "val").glob("*.jpg"))[: arguments.n_val]
    colorizers: dict[str, object] = {}
    weights = arguments.weights or ["default"]
    ttas = {"both": (False, True), "off": (False,), "on": (True,)}[arguments.tta]
    for name in weights:
        for precision in arguments.precision:
            for tta in ttas:
                colorizer = galcolor.Colorizer(name, tta=tta, device="cpu", precision=precision)
                label = f"{colorizer.model.name}/{colorizer.model.head} ({Path(name).name}"
                if precision != "float32":
                    label += f", {precision}"
                colorizers[f"{label}, TTA {'on' if tta else 'off'})"] = colorizer
                if colorizer.detail is not None:  # and the network's ab alone, for comparison
                    colorizers[f"{label}, TTA {'on' if tta else 'off'}, no detail path)"] = galcolor.Colorizer(
                        name, tta=tta, device="cpu", precision=precision, detail=None)
    names = ["grey", "lookup", *colorizers]
    sums = {name: np.zeros(4) for name in names}  # ab abs error, dE00 on galaxy; same on whole
    counts = np.zeros(2)
    for path in tqdm(paths, desc="full-resolution validation"):
        cutout = galcolor.load(path)
        truth = rgb_to_lab_numpy(cutout.truth_rgb)
        galaxy = galaxy_mask(truth[..., 0], ~cutout.mask)
        whole = ~cutout.mask
        counts += [galaxy.sum(), whole.sum()]
        lightness = torch.from_numpy(cutout.lightness)[None, None]
        predictions = {"grey": np.zeros_like(truth[..., 1:]),
                       "lookup": lookup.predict(lightness)[0][0].numpy().transpose(1, 2, 0)}
        for name, colorizer in colorizers.items():
            predictions[name] = colorizer(cutout).ab
        for name, ab in predictions.items():
            lab = np.concatenate([cutout.lightness[..., None], ab], axis=-1)
            for offset, mask in ((0, galaxy), (2, whole)):
                if mask.any():
                    sums[name][offset] += ab_mae(ab, truth[..., 1:], mask) * mask.sum()
                    sums[name][offset + 1] += delta_e2000(lab, truth, mask) * mask.sum()
    return {name: {"ab_mae_galaxy": total[0] / counts[0], "de00_galaxy": total[1] / counts[0],
                   "ab_mae_whole": total[2] / counts[1], "de00_whole": total[3] / counts[1]}
            for name, total in sums.items()}


def evaluate_context(arguments, header: dict) -> None:
    """Galaxy ΔE00 of the central 208 px, from the 208 px crop and from the central 416 px (same scale)."""
    names = arguments.weights or ["default"]
    framings = {"crop": ImageFolder(SHARED / "sdss-gz" / "val", size=SIZE, crop=CROP),
                "wide": ImageFolder(SHARED / "sdss-gz" / "val", size=2 * SIZE, crop=2 * CROP)}
    n_images = min(arguments.n_val, len(framings["crop"]))
    batches = {}
    for framing, dataset in framings.items():
        subset = torch.utils.data.Subset(dataset, list(range(n_images)))
        batches[framing] = list(tqdm(DataLoader(subset, batch_size=25, num_workers=arguments.workers),
                                     desc=f"validation ({framing})"))
    for batch in batches["wide"]:  # score only the crop's pixels inside the wide image
        inside = torch.zeros_like(batch["galaxy_mask"])
        inside[..., SIZE // 2:SIZE // 2 + SIZE, SIZE // 2:SIZE // 2 + SIZE] = True
        batch["galaxy_mask"] = batch["galaxy_mask"] & inside
    from galcolor.models import load_weights

    results = {}
    for name in names:
        model = load_weights(resolve_weights(name)[0]).eval()
        results[Path(name).name] = {f"de00_{framing}": evaluate(model, framing_batches)["de00_galaxy"]
                                    for framing, framing_batches in batches.items()}
    lines = [
        "Does the color depend on the framing? (SDSS Galaxy Zoo validation galaxies)",
        "=============================================================================",
        "",
        f"Data:     {n_images} val images; galaxy ΔE00 (L > 15) of the central {CROP} px of each frame, "
        f"predicted from {SIZE} px of those {CROP} px (crop) or from {2 * SIZE} px of the central "
        f"{2 * CROP} px (wide: same scale, more surroundings)",
        "",
        f"{'weights':40s} {'dE00 crop':>10s} {'dE00 wide':>10s} {'change':>8s}",
    ]
    for name, row in results.items():
        lines.append(f"{name:40s} {row['de00_crop']:10.2f} {row['de00_wide']:10.2f} "
                     f"{100 * (row['de00_wide'] / row['de00_crop'] - 1):+7.1f}%")
    output = arguments.output or "colorizer_context"
    write_markdown(RESULTS / f"{output}.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / f"{output}.json", {"results": results}, header)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-val", type=int, default=500)
    parser.add_argument("--n-train", type=int, default=None, help="fit the lookup table on fewer images")
    parser.add_argument("--weights", nargs="*", default=[],
                        help="weights files of trained models (or a shipped model's name: default)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--precision", nargs="+", default=["float32"], choices=["float32", "bfloat16"],
                        help="--full: network arithmetic(s) to evaluate (default float32)")
    parser.add_argument("--tta", choices=["both", "off", "on"], default=None,
                        help="with and/or without test-time augmentation (default: both with --full, "
                             "else off)")
    parser.add_argument("--output", default=None)
    parser.add_argument("--full", action="store_true",
                        help="evaluate at the full 424 px through galcolor.Colorizer (with/without TTA)")
    parser.add_argument("--context", action="store_true",
                        help="compare the color of the same pixels predicted with and without more surroundings")
    arguments = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the real data in {SHARED}")
    # the weights the results use: --context and --full default to the shipped model; without
    # --weights the 128 px table has only the grey and lookup baselines
    uses_default = (arguments.context or arguments.full) and not arguments.weights
    header = record_header(weights=["default"] if uses_default else arguments.weights)
    if arguments.context:
        evaluate_context(arguments, header)
        return
    if arguments.output is None:
        arguments.output = "colorizer_quality_full" if arguments.full else "colorizer_quality"
    if arguments.tta is None:
        arguments.tta = "both" if arguments.full else "off"
    if arguments.full:
        results = evaluate_full(arguments, fitted_lookup(arguments.n_train, arguments.workers))
        n_images = min(arguments.n_val, len(list((SHARED / "sdss-gz" / "val").glob("*.jpg"))))
        data = (f"{n_images} val images at their full 424 px through galcolor.load + galcolor.Colorizer "
                "(auto scale); galaxy = L > 15; metrics pooled over pixels")
        write_report(arguments, results, data, header)
        return

    val = ImageFolder(SHARED / "sdss-gz" / "val", size=SIZE, crop=CROP)
    subset = torch.utils.data.Subset(val, list(range(min(arguments.n_val, len(val)))))
    batches = list(tqdm(DataLoader(subset, batch_size=25, num_workers=arguments.workers), desc="validation"))
    colorizers = {"grey": GreyColorizer(), "lookup": fitted_lookup(arguments.n_train, arguments.workers)}
    for path in arguments.weights:
        from galcolor.models import load_weights

        model = load_weights(resolve_weights(path)[0]).eval()
        if arguments.tta != "on":
            colorizers[f"{model.name}/{model.head} ({Path(path).name})"] = model
        if arguments.tta != "off":
            colorizers[f"{model.name}/{model.head} ({Path(path).name}, TTA)"] = ColorizerTTA(model)
    results = {name: evaluate(colorizer, batches) for name, colorizer in colorizers.items()}
    if arguments.weights:
        examples(colorizers[next(name for name in colorizers if name not in ("grey", "lookup"))],
                 colorizers["lookup"], batches, RESULTS / f"{arguments.output}_examples.png", header)
    data = (f"{len(subset)} val images, central {CROP} px -> {SIZE} px; galaxy = L > 15; "
            "metrics pooled over pixels")
    write_report(arguments, results, data, header)


def examples(model, lookup, batches: list[dict], path: Path, header: dict, n: int = 8) -> None:
    """Grey | lookup | model | truth for n validation galaxies spread over the set."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from galcolor.color import lab_to_rgb_numpy

    items = [(batch, index) for batch in batches for index in range(len(batch["lightness"]))]
    chosen = [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]
    figure = Figure(figsize=(2.0 * n, 8.4), layout="constrained")
    axes = figure.subplots(4, n)
    for column, (batch, index) in enumerate(chosen):
        lightness = batch["lightness"][index:index + 1]
        panels = [torch.zeros(1, 2, *lightness.shape[-2:]), lookup.predict(lightness)[0],
                  model.predict(lightness)[0], batch["ab"][index:index + 1]]
        for row, ab in enumerate(panels):
            lab = torch.cat([lightness, ab], 1)[0].numpy().transpose(1, 2, 0)
            axes[row, column].imshow(lab_to_rgb_numpy(lab))
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    for row, label in enumerate(["grey (L)", "lookup table", "model", "truth"]):
        axes[row, 0].set_ylabel(label)
    save_figure(figure, path, header, dpi=90)


def write_report(arguments, results: dict[str, dict[str, float]], data: str, header: dict) -> None:
    """Print the table and write it as Markdown and JSON under benchmarks/results/colorizer."""
    reference = results["lookup"]["de00_galaxy"]
    lines = [
        "Color quality on real SDSS Galaxy Zoo validation galaxies",
        "==========================================================",
        "",
        f"Data:     {data}",
        "",
        f"{'colorizer':56s} {'ab MAE gal':>10s} {'dE00 gal':>9s} {'vs lookup':>9s} {'ab MAE all':>10s} {'dE00 all':>9s}",
    ]
    for name, row in results.items():
        lines.append(f"{name:56s} {row['ab_mae_galaxy']:10.2f} {row['de00_galaxy']:9.2f} "
                     f"{row['de00_galaxy'] / reference:8.2f}x {row['ab_mae_whole']:10.2f} {row['de00_whole']:9.2f}")
    write_markdown(RESULTS / f"{arguments.output}.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / f"{arguments.output}.json", {"results": results}, header)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
