"""Train the full-resolution chroma path (a :class:`~galcolor.models.detail.DetailRefiner`) on knots.

Three steps, recorded (training resumes from its checkpoint)::

    python pipelines/train_detail.py examples --out ../cache/detail/examples.npz [--frames 6704] [--simulated 1500]
    python pipelines/train_detail.py frames --out ../cache/detail/frames.npz [--frames 1500] [--start 4000]
    python pipelines/train_detail.py train --examples ../cache/detail/examples.npz [../cache/detail/frames.npz] \
        --out runs/detail [--epochs 12] [--knot-weight 8]

``examples`` runs the shipped colorizer (no TTA, no refiner) over SDSS Galaxy
Zoo *train* frames with knots injected the way the region benchmark injects
them (:func:`galcolor.evaluation.knots.inject_frame`: the frame's own PSF,
1-3 blue clumps and 1-2 neutral-to-red point sources, 8 bits and JPEG, the
central 212 px; a quarter of the frames are left as they are) and over
simulated galaxies (seed 7000, never the benchmark's 202), and keeps, per
item, the lightness, the true ab, the coarse ab the colorizer predicts and
the pixels of the galaxy and of the knots. The colorizer is frozen: the
refiner learns what the coarse ab misses at the cutout's own pixels.

``frames`` colorizes plain train frames whole, at their full 424 px, as
``galcolor.colorize`` meets them (no knots injected; by default the 1500
frames after the first 4000 that ``examples --frames 4000`` takes), so that
the refiner also learns the real stars, companions and sky around the
galaxy, which the central crops of ``examples`` leave out.

``train`` fits the refiner on those items
(:func:`galcolor.training.detail.train_refiner`) and writes
``detail.pt`` (galcolor weights format, ``extra`` holding the whole recipe),
its history and a checkpoint per epoch under ``--out``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss-gz"
#: share of the real frames kept without injected knots
PLAIN_SHARE = 0.25
SIMULATION_SEED = 7000


def _item(cutout, colorization, x, y, fwhm) -> dict:
    import torch  # noqa: F401  (the colorizer's)
    from galcolor.color import rgb_to_lab_numpy
    from galcolor.geometry import near_points

    lightness = cutout.lightness.astype(np.float32)
    true_ab = rgb_to_lab_numpy(np.clip(cutout.truth_rgb, 0, 1).astype(np.float32))[..., 1:]
    knots = near_points(lightness.shape, list(x), list(y), [float(f) for f in fwhm]) if len(x) else \
        np.zeros(lightness.shape, bool)
    return {"lightness": lightness.astype(np.float16), "ab": true_ab.transpose(2, 0, 1).astype(np.float16),
            "coarse": colorization.ab.transpose(2, 0, 1).astype(np.float16), "knots": knots,
            "valid": ~np.asarray(cutout.mask, bool)}


def _real_items(arguments: tuple) -> list[dict]:
    """Items of a chunk of (index, path) pairs; one generator per frame, seeded (seed, index)."""
    chunk, seed = arguments
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    import galcolor
    from galcolor.evaluation.knots import INJECTION_CROP, inject_frame
    from galcolor.io import load

    colorizer = galcolor.Colorizer("default", tta=False, detail=None)
    items = []
    for index, path in chunk:
        rng = np.random.default_rng([seed, index])
        if rng.uniform() < PLAIN_SHARE:
            image = np.asarray(Image.open(path).convert("RGB"))
            height, width = image.shape[:2]
            top, left = max(0, (height - INJECTION_CROP) // 2), max(0, (width - INJECTION_CROP) // 2)
            cutout = load(np.ascontiguousarray(image[top:top + INJECTION_CROP, left:left + INJECTION_CROP]))
            items.append(_item(cutout, colorizer(cutout), [], [], []))
            continue
        frame = inject_frame(path, rng)
        if frame is None:
            continue
        truth = frame.truth
        items.append(_item(frame.cutout, colorizer(frame.cutout), np.asarray(truth["x"].value),
                           np.asarray(truth["y"].value), np.asarray(truth["fwhm"].value)))
    return items


def _simulated_items(n: int, seed: int) -> list[dict]:
    import galcolor
    from galcolor.datasets import simulate
    from galcolor.evaluation.knots import simulated_truth

    colorizer = galcolor.Colorizer("default", tta=False, detail=None)
    galaxies = simulate(n, size=128, seed=seed)
    items = []
    for start in range(0, n, 32):
        batch = galaxies[start:start + 32]
        cutouts = [galaxy.to_cutout("r") for galaxy in batch]
        for galaxy, cutout, colorization in zip(batch, cutouts, colorizer.colorize_cutouts(cutouts)):
            psf = float(galaxy.params["seeing_fwhm_arcsec"]) / float(galaxy.params["pixel_scale"])
            truth = simulated_truth(galaxy, psf)
            items.append(_item(cutout, colorization, truth["x"], truth["y"], np.full(len(truth), psf)))
    return items


def _stack(items: list[dict], prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}_{key}": np.stack([item[key] for item in items]) for key in items[0]}


def _in_pool(work, paths: list[Path], workers: int, extra: tuple = ()) -> list[dict]:
    """``work`` over chunks of 50 numbered paths in ``workers`` spawned processes, the items in order."""
    from tqdm.auto import tqdm

    chunks = [list(enumerate(paths))[start:start + 50] for start in range(0, len(paths), 50)]
    items: list[dict] = []
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for chunk_items in tqdm(pool.imap(work, [(chunk, *extra) for chunk in chunks]), total=len(chunks),
                                desc="frames", unit="chunk"):
            items.extend(chunk_items)
    return items


def _save(arrays: dict[str, np.ndarray], recipe: dict, out: str) -> None:
    """Write the examples file atomically, its recipe (and the command) inside."""
    from galcolor._atomic import atomic_write

    arrays["recipe"] = np.array(repr({**recipe, "command": " ".join(sys.argv)}))
    with atomic_write(Path(out)) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)


def examples(arguments: argparse.Namespace) -> int:
    paths = sorted((SHARED / "train").glob("*.jp*g"))[:arguments.frames]
    if not paths:
        raise SystemExit(f"no SDSS Galaxy Zoo train images under {SHARED / 'train'}")
    started = time.time()
    real = _in_pool(_real_items, paths, arguments.workers, (arguments.seed,))
    simulated = _simulated_items(arguments.simulated, SIMULATION_SEED) if arguments.simulated else []
    arrays = _stack(real, "real")
    if simulated:
        arrays.update(_stack(simulated, "simulated"))
    _save(arrays, {"frames": len(paths), "seed": arguments.seed, "plain_share": PLAIN_SHARE,
                   "simulated": arguments.simulated, "simulation_seed": SIMULATION_SEED}, arguments.out)
    print(f"{len(real)} real and {len(simulated)} simulated items in {time.time() - started:.0f} s -> {arguments.out}")
    return 0


def _whole_frames(arguments: tuple) -> list[dict]:
    """Items of plain SDSS frames colorized whole, at their full size (no knots injected)."""
    (chunk,) = arguments
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    import galcolor
    from galcolor.io import load

    colorizer = galcolor.Colorizer("default", tta=False, detail=None, progress=False)
    items = []
    for _, path in chunk:
        cutout = load(np.asarray(Image.open(path).convert("RGB")))
        items.append(_item(cutout, colorizer(cutout), [], [], []))
    return items


def frames(arguments: argparse.Namespace) -> int:
    paths = sorted((SHARED / "train").glob("*.jp*g"))[arguments.start:arguments.start + arguments.frames]
    if not paths:
        raise SystemExit(f"no SDSS Galaxy Zoo train images under {SHARED / 'train'} from number {arguments.start}")
    started = time.time()
    items = _in_pool(_whole_frames, paths, arguments.workers)
    shapes = {item["lightness"].shape for item in items}
    if len(shapes) > 1:
        raise SystemExit(f"the frames differ in size ({sorted(shapes)}); whole frames must share one")
    _save(_stack(items, "whole"), {"whole_frames": len(items), "start": arguments.start}, arguments.out)
    print(f"{len(items)} whole frames in {time.time() - started:.0f} s -> {arguments.out}")
    return 0


def train(arguments: argparse.Namespace) -> int:
    from galcolor.training.detail import train_refiner

    train_refiner(arguments.examples, arguments.out, epochs=arguments.epochs, knot_weight=arguments.knot_weight,
                  width=arguments.width, dilations=tuple(arguments.dilations), batch_size=arguments.batch_size,
                  lr=arguments.lr, window=arguments.window, seed=arguments.seed, command=" ".join(sys.argv))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    build = steps.add_parser("examples", help="colorize injected train frames and simulated galaxies")
    build.add_argument("--out", required=True)
    build.add_argument("--frames", type=int, default=6704)
    build.add_argument("--simulated", type=int, default=1500)
    build.add_argument("--seed", type=int, default=27)
    build.add_argument("--workers", type=int, default=2)
    whole = steps.add_parser("frames", help="colorize plain train frames whole, at their full size")
    whole.add_argument("--out", required=True)
    whole.add_argument("--frames", type=int, default=1500)
    whole.add_argument("--start", type=int, default=4000,
                       help="number of the first train frame (sorted by name; the default follows the 4000 of "
                            "'examples --frames 4000')")
    whole.add_argument("--workers", type=int, default=2)
    fit = steps.add_parser("train", help="fit the refiner on the examples")
    fit.add_argument("--examples", required=True, nargs="+", help="one or more files of 'examples' or 'frames'")
    fit.add_argument("--out", required=True)
    fit.add_argument("--epochs", type=int, default=12)
    fit.add_argument("--knot-weight", type=float, default=8.0)
    fit.add_argument("--width", type=int, default=8)
    fit.add_argument("--dilations", type=int, nargs="+", default=[2, 4, 8])
    fit.add_argument("--batch-size", type=int, default=16)
    fit.add_argument("--lr", type=float, default=2e-3)
    fit.add_argument("--window", type=int, default=96)
    fit.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    return {"examples": examples, "frames": frames, "train": train}[arguments.step](arguments)


if __name__ == "__main__":
    sys.exit(main())
