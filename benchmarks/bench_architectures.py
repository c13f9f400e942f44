"""baseline / fusion / unet x regression / classification, trained with the same data and budget.

Each of the six configurations is trained from scratch by
:class:`galcolor.training.Trainer` with identical data (the first ``--limit``
SDSS Galaxy Zoo training images, central 208 px resized to ``--size`` px),
augmentation, optimiser, learning-rate schedule, epochs, batch size and seed,
and then evaluated on the validation images at the same size beside the grey
and lookup-table baselines (galaxy pixels L > 15). Architectures use their
registry defaults except the U-Net width, which is the shipped model's (16).

Results: ``benchmarks/results/architectures/architectures.md`` (and
``.json``; the lookup table of the 64 px training set is cached there too);
weights of each run in ``runs/architectures/``. Run from the repository root::

    python benchmarks/bench_architectures.py [--size 64] [--limit 3000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from galcolor.baselines import GreyColorizer
from galcolor.datasets import ImageFolder
from galcolor.models import get_model, save_weights
from galcolor.training import Augment, InMemoryPairs, Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, with_weights, write_json, write_markdown  # noqa: E402
from bench_colorizer import CROP, SHARED, evaluate, fitted_lookup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ALL_RESULTS / "architectures"
CONFIGS = [(model, head) for model in ("baseline", "fusion", "unet") for head in ("regression", "classification")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=3000, help="training images (default 3000)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--n-val", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lookup-train", type=int, default=None,
                        help="fit the lookup table on this many training images (default all, cached)")
    parser.add_argument("--only", nargs="*", default=None, help="model/head pairs to run, e.g. unet/regression")
    arguments = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the real data in {SHARED}")
    header = record_header(weights=[])

    size = arguments.size
    train_folder = ImageFolder(SHARED / "sdss-gz" / "train", size=size, crop=CROP)
    train = InMemoryPairs.from_dataset(Subset(train_folder, range(min(arguments.limit, len(train_folder)))),
                                       num_workers=arguments.workers, progress=True)
    val_folder = ImageFolder(SHARED / "sdss-gz" / "val", size=size, crop=CROP)
    val = InMemoryPairs.from_dataset(Subset(val_folder, range(min(arguments.n_val, len(val_folder)))),
                                     num_workers=arguments.workers, progress=True)
    batches = list(DataLoader(val, batch_size=25))
    results = {"grey": evaluate(GreyColorizer(), batches),
               "lookup": evaluate(fitted_lookup(arguments.lookup_train, arguments.workers, size=size,
                                                folder=RESULTS), batches)}
    runs = {}
    trained = []
    folder = ROOT / "runs" / "architectures"
    for model_name, head in CONFIGS:
        name = f"{model_name}/{head}"
        if arguments.only and name not in arguments.only:
            continue
        torch.manual_seed(0)
        options = {"width": 16} if model_name == "unet" else {}
        model = get_model(model_name, head=head, **options)
        trainer = Trainer(model, train, val, epochs=arguments.epochs, batch_size=arguments.batch_size,
                          lr=arguments.lr, augment=Augment(seed=0), seed=0, device="cpu",
                          checkpoint_dir=folder / f"{model_name}-{head}", progress=True)
        started = time.perf_counter()
        trainer.fit()
        seconds = time.perf_counter() - started
        best = trainer.restore_best().eval()
        save_weights(best, folder / f"{model_name}-{head}.pt", extra={"training": {
            "data": {"size": size, "crop": CROP}, "size": size, "limit": arguments.limit, "epochs": arguments.epochs, "seconds": seconds}})
        trained.append(folder / f"{model_name}-{head}.pt")
        trainer.close()
        results[name] = evaluate(best, batches)
        runs[name] = {"parameters_M": sum(p.numel() for p in best.parameters()) / 1e6,
                      "train_seconds": seconds,
                      "train_images_per_s": arguments.epochs * len(train) / seconds}
        print(name, results[name], runs[name], flush=True)

    reference = results["lookup"]["de00_galaxy"]
    baseline = results.get("baseline/regression", {}).get("de00_galaxy")
    lines = [
        "Architectures x heads, same data and budget",
        "===========================================",
        "",
        f"Budget:   {len(train)} SDSS Galaxy Zoo training images x {arguments.epochs} epochs at {size} px "
        f"(central {CROP} px), batch {arguments.batch_size}, AdamW lr {arguments.lr} warm-up + cosine, "
        "augmentation on, seed 0",
        f"Eval:     {len(val)} val images at {size} px; galaxy = L > 15; pooled over pixels",
        "",
        f"{'colorizer':26s} {'params':>7s} {'train s':>8s} {'ab MAE gal':>10s} {'dE00 gal':>9s} "
        f"{'vs lookup':>9s} {'vs baseline':>11s} {'dE00 all':>9s}",
    ]
    for name, row in results.items():
        run = runs.get(name)
        size_text = f"{run['parameters_M']:6.2f}M {run['train_seconds']:8.0f}" if run else f"{'':7s} {'':8s}"
        versus = f"{row['de00_galaxy'] / baseline:10.2f}x" if baseline and run else f"{'':11s}"
        lines.append(f"{name:26s} {size_text} {row['ab_mae_galaxy']:10.2f} {row['de00_galaxy']:9.2f} "
                     f"{row['de00_galaxy'] / reference:8.2f}x {versus} {row['de00_whole']:9.2f}")
    # the results are those of the weights this run trained (runs/architectures/, not in the repository)
    header = with_weights(header, trained, weights_made_by=f"this command, in {folder.relative_to(ROOT)}/")
    write_markdown(RESULTS / "architectures.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / "architectures.json", {"results": results, "runs": runs}, header)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
