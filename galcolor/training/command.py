"""The ``galcolor train`` command (also ``pipelines/train_colorizer.py``): train and export a colorizer.

:func:`add_train_arguments` adds the options to an :mod:`argparse` parser and
:func:`train_command` runs them: it builds the datasets (an image folder, the
simulator, or both), the model (``galcolor.models.get_model``), a
:class:`~galcolor.training.Trainer`, trains, and exports the best epoch's
weights with ``galcolor.models.save_weights``.

Examples
--------
>>> import argparse
>>> from galcolor.training.command import add_train_arguments
>>> parser = add_train_arguments(argparse.ArgumentParser(prog="galcolor train"))
>>> options = parser.parse_args(["--model", "unet", "--width", "16", "--crop", "208"])
>>> options.model, options.width, options.crop, options.epochs
('unet', 16, 208, 20)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import ConcatDataset, Dataset, Subset

from .. import models
from .._json import plain_json
from ..datasets import ImageFolder
from ..exceptions import GalcolorError, InputError
from ..geometry import training_galaxy_radius
from .augment import Augment
from .data import InMemoryPairs, SimulatedPairs, WithTransform
from .knots import KnotInjection
from .losses import DEFAULT_SKY_WEIGHT
from .trainer import Trainer

__all__ = ["add_train_arguments", "train_command", "build_datasets", "DEFAULT_DATA"]

#: Where ``--train``/``--val`` default to: ``$GALCOLOR_DATA/sdss-gz`` when that
#: variable is set, else ``../shared/data/sdss-gz`` from the current folder (the
#: project's layout, with the survey data beside a checkout). Resolved from the
#: working directory, never from where galcolor is installed.
DEFAULT_DATA = Path(os.environ.get("GALCOLOR_DATA", Path("..") / "shared" / "data")) / "sdss-gz"


def _crop(text: str) -> float | int | None:
    """``--crop``: a fraction (``0.5``), a side in pixels (``208``) or ``none``."""
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"crop must be a fraction, pixels or 'none', got {text!r}") from None


def _option(text: str) -> tuple[str, Any]:
    """``--model-option KEY=VALUE``, the value read as JSON when it parses (numbers, lists, true)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"model options are KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the training options to ``parser`` (and return it).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        E.g. the ``train`` sub-parser of the ``galcolor`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    data = parser.add_argument_group("data")
    data.add_argument("--train", default=None, metavar="FOLDER",
                      help="folder of color galaxy images to train on, or 'none' "
                      f"(default {DEFAULT_DATA}/train)")
    data.add_argument("--val", default=None, metavar="FOLDER",
                      help=f"validation folder, or 'none' (default {DEFAULT_DATA}/val)")
    data.add_argument("--val-fraction", type=float, default=None, metavar="F",
                      help="validate on a hash split of --train instead of --val (fraction F)")
    data.add_argument("--simulated", type=int, default=0, metavar="N",
                      help="add N simulated galaxies to the training set (0.12 s each to draw)")
    data.add_argument("--simulated-seed", type=int, default=0, help="simulator seed (default 0)")
    data.add_argument("--simulated-zoom", choices=("auto", "none"), default="auto",
                      help="'auto' (default): enlarge simulated galaxies as Colorizer(scale='auto') "
                      "does, to the typical radius of the --size/--crop training galaxies; 'none': "
                      "the simulator's SDSS pixel scale (most galaxies ~10 px in radius)")
    data.add_argument("--simulated-band", default=None, metavar="BAND",
                      help="take the simulated galaxies' lightness from this band, auto-stretched as "
                      "galcolor.load does for a single-band FITS image (default: the gri composite's L)")
    data.add_argument("--limit", type=int, default=None, metavar="N",
                      help="use only the first N training images")
    data.add_argument("--size", type=int, default=128, help="training image side in pixels (default 128)")
    data.add_argument("--crop", type=_crop, default=0.5,
                      help="central crop before resizing: fraction, pixels or 'none' (default 0.5: "
                      "Galaxy Zoo galaxies fill the central half of the frame)")
    data.add_argument("--cache", action="store_true",
                      help="load every image once and keep the items in memory "
                      "(about 230 kB per 128 px image)")
    data.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    data.add_argument("--inject-knots", type=float, default=0.0, metavar="P",
                      help="inject knots into a share P of the training items each epoch "
                      "(galcolor.training.KnotInjection: blue clumps and red/neutral point sources, as the "
                      "region benchmark injects them; default 0: none)")
    data.add_argument("--knot-fwhm", type=float, nargs=2, default=(2.5, 6.0), metavar=("LOW", "HIGH"),
                      help="FWHM range of the injected knots in training pixels (default 2.5 6)")

    model = parser.add_argument_group("model")
    model.add_argument("--model", default="unet", help="registered model name (default unet)")
    model.add_argument("--head", default=None, choices=["regression", "classification"],
                       help="output head (default: the model's)")
    model.add_argument("--width", type=int, default=None, help="base channel width (models that take it)")
    model.add_argument("--depth", type=int, default=None, help="number of scales (models that take it)")
    model.add_argument("--model-option", type=_option, action="append", default=[], metavar="KEY=VALUE",
                       help="any other get_model option, value as JSON (repeatable)")
    model.add_argument("--init", default=None, metavar="WEIGHTS",
                       help="fine-tune: start from these weights (a save_weights file, or 'default' "
                       "for the shipped model); the model comes from the file, so --model, --head, "
                       "--depth and --model-option are ignored, and a --width larger than the file's "
                       "widens it first (UNetColorizer.widened: same output, new channels to train)")
    model.add_argument("--loss", default=None,
                       help="regression loss: l1, l2, huber or de2000, the CIEDE2000 color difference "
                       "(default: the model's, l1 for the U-Net; with --init the loaded model's; checked "
                       "by the model)")

    run = parser.add_argument_group("optimisation")
    run.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    run.add_argument("--batch-size", type=int, default=32, help="images per step and process (default 32)")
    run.add_argument("--lr", type=float, default=2e-3,
                     help="peak learning rate, after warm-up (default 2e-3)")
    run.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    run.add_argument("--sky-weight", type=float, default=DEFAULT_SKY_WEIGHT,
                     help=f"loss weight of sky pixels, galaxy pixels weigh 1 (default {DEFAULT_SKY_WEIGHT})")
    run.add_argument("--knot-weight", type=float, default=0.0,
                     help="added to the loss weight of the pixels of injected knots (default 0)")
    run.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm to this")
    run.add_argument("--patience", type=int, default=None, help="early stopping patience in epochs")
    run.add_argument("--max-batches", type=int, default=None, help="at most this many batches per epoch")
    run.add_argument("--no-augment", action="store_true", help="switch augmentation off")
    run.add_argument("--window", type=int, default=None, metavar="SIDE",
                     help="train on SIDE px windows cut at random places of the --size items (after "
                     "rotation and zoom), so the galaxy is not always centred, e.g. --size 192 --crop 312 "
                     "--window 128 (default: the whole item)")
    run.add_argument("--band-probability", type=float, default=0.2,
                     help="probability of training on the G channel as lightness (default 0.2)")
    run.add_argument("--seed", type=int, default=0, help="seed of initialisation, order and augmentation")

    device = parser.add_argument_group("device")
    device.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    device.add_argument("--amp", default=None, choices=["auto", "on", "off"],
                        help="bf16 autocast (auto, the default: on CUDA; with --resume, the default is "
                        "the resumed run's own setting)")
    device.add_argument("--compile", action="store_true", help="torch.compile the model")

    output = parser.add_argument_group("output")
    output.add_argument("--checkpoint-dir", default=None,
                        help="checkpoints and history (default: the folder of --resume's checkpoint, "
                        "else runs/colorizer)")
    output.add_argument("--resume", default=None, metavar="CHECKPOINT",
                        help="continue the run saved in CHECKPOINT (its last.pt); model and run settings "
                        "come from the checkpoint")
    output.add_argument("--stop-after", type=int, default=None, metavar="N",
                        help="train at most N epochs in this call, then stop (resume later)")
    output.add_argument("--export", default=None, metavar="PATH",
                        help="where the exported weights go (default CHECKPOINT_DIR/<model>-<head>.pt)")
    output.add_argument("--export-epoch", choices=("best", "last"), default="best",
                        help="export the epoch with the best validation metric (default) or the last one: "
                        "'last' when the validation set does not cover the training data (a mix with "
                        "simulated galaxies is validated on real images only)")
    output.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _folder(path: str | None, default: Path, what: str) -> Path | None:
    """The folder ``--train``/``--val`` names; the default one if present; None for 'none'."""
    if path is None:
        return default if default.is_dir() else None
    if path.lower() == "none":
        return None
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: {what} folder not found")
    return folder


def build_datasets(options: argparse.Namespace) -> tuple[Dataset, Dataset | None]:
    """The training and validation datasets that parsed ``galcolor train`` options describe."""

    common = {"size": options.size, "crop": options.crop}
    parts: list[Dataset] = []
    val: Dataset | None = None
    train_folder = _folder(options.train, DEFAULT_DATA / "train", "train")
    if train_folder is not None:
        if options.val_fraction is not None:
            images: Dataset = ImageFolder(train_folder, split="train", val_fraction=options.val_fraction,
                                          **common)
            val = ImageFolder(train_folder, split="val", val_fraction=options.val_fraction, **common)
        else:
            images = ImageFolder(train_folder, **common)
        if options.limit is not None:
            images = Subset(images, range(min(options.limit, len(images))))
        parts.append(images)
    if options.val_fraction is None:
        val_folder = _folder(options.val, DEFAULT_DATA / "val", "val")
        if val_folder is not None:
            val = ImageFolder(val_folder, **common)
    if options.simulated:

        radius = (training_galaxy_radius(options.size, options.crop)
                  if options.simulated_zoom == "auto" else None)
        parts.append(SimulatedPairs(options.simulated, size=options.size, seed=options.simulated_seed,
                                    galaxy_radius=radius, band=options.simulated_band,
                                    progress=not options.quiet))
    if not parts:
        raise InputError(f"no training data: pass --train FOLDER and/or --simulated N "
                         f"(the default folder {DEFAULT_DATA / 'train'} is not there)")
    train = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    if options.cache:
        train = InMemoryPairs.from_dataset(train, num_workers=options.workers, progress=not options.quiet)
        if val is not None:
            val = InMemoryPairs.from_dataset(val, num_workers=options.workers, progress=not options.quiet)
    if getattr(options, "inject_knots", 0.0):
        injection = KnotInjection(probability=options.inject_knots, fwhm=tuple(options.knot_fwhm),
                                  seed=options.seed)
        train = WithTransform(train, injection)  # validation stays as it is
    return train, val


def _sources(options: argparse.Namespace) -> dict[str, Any]:
    """What the run trained on, for the exported weights' record (the model card's data)."""
    train = _folder(options.train, DEFAULT_DATA / "train", "train")
    simulated = None
    if options.simulated:
        simulated = {"n": options.simulated, "seed": options.simulated_seed, "zoom": options.simulated_zoom,
                     "band": options.simulated_band}
    knots = None
    if getattr(options, "inject_knots", 0.0):
        knots = {"probability": options.inject_knots, "fwhm": list(options.knot_fwhm),
                 "knot_weight": options.knot_weight, "recipe": "galcolor.datasets.injection"}
    return {"train": None if train is None else str(train), "limit": options.limit,
            "val_fraction": options.val_fraction, "simulated": simulated, "injected_knots": knots}


def train_command(options: argparse.Namespace) -> int:
    """Run ``galcolor train`` with parsed options; return the exit status.

    Prints the final validation numbers and the exported weights as JSON on
    stdout (rank 0). Errors are printed as ``galcolor train: ...`` on stderr
    and give status 1.
    """
    try:
        return _train(options)
    except GalcolorError as error:
        print(f"galcolor train: {error}", file=sys.stderr)
        return 1


def _initial_model(options: argparse.Namespace) -> tuple[torch.nn.Module, dict[str, Any] | None]:
    """A fresh model from the options, or the ``--init`` weights to fine-tune and where they came from.

    The record (None for a fresh model) names the weights file, its sha256,
    its width and its own training record, and ``widened_to`` when
    ``--width`` widened it.
    """
    torch.manual_seed(options.seed)  # the initial weights
    if getattr(options, "init", None):
        if options.init == "default":
            model = models.load_pretrained("default")
        else:
            model = models.load_weights(options.init)
        info = model.weights_info
        previous = info["extra"].get("training", {}) if isinstance(info["extra"], dict) else {}
        record = {"weights": info["path"], "sha256": info["sha256"], "width": model.config().get("width"),
                  "training": previous}
        width = getattr(options, "width", None)
        if width is not None and width != record["width"]:
            if not hasattr(model, "widened"):
                raise InputError(f"--width {width}: the {model.name!r} model of {options.init!r} cannot be "
                                 "widened (only the unet can); leave --width out to fine-tune it as it is")
            model = model.widened(width, seed=options.seed)
            record["widened_to"] = width
        if getattr(options, "loss", None):
            model.set_loss(options.loss)
        return model.train(), record
    model_options = dict(options.model_option)
    if getattr(options, "loss", None):
        model_options["loss"] = options.loss
    for key in ("head", "width", "depth"):
        if getattr(options, key) is not None:
            model_options[key] = getattr(options, key)
    return models.get_model(options.model, **model_options), None


def _train(options: argparse.Namespace) -> int:
    if options.window is not None and options.no_augment:
        raise InputError("--window is an augmentation: it cannot go with --no-augment")
    train, val = build_datasets(options)
    trainer_options: dict[str, Any] = {
        "augment": False if options.no_augment else Augment(band_probability=options.band_probability,
                                                            window=options.window, seed=options.seed),
        "device": options.device,
        "compile": options.compile,
        # cached items need no loading, but injected knots are drawn per item: in the workers
        "num_workers": 0 if options.cache and not options.inject_knots else options.workers,
        "knot_weight": options.knot_weight,
        "checkpoint_dir": options.checkpoint_dir or (str(Path(options.resume).parent) if options.resume
                                                     else "runs/colorizer"),
        "progress": not options.quiet,
    }
    if options.amp is not None or not options.resume:  # else Trainer.from_checkpoint keeps the run's own
        trainer_options["amp"] = {None: "auto", "auto": "auto", "on": True, "off": False}[options.amp]
    if options.resume:
        trainer = Trainer.from_checkpoint(options.resume, train, val, **trainer_options)
    else:
        model, init = _initial_model(options)
        if init is not None:
            # Kept in the checkpoints, so that a resumed fine-tune still records where it started.
            trainer_options["metadata"] = {"init": plain_json(init)}
        trainer = Trainer(
            model, train, val, epochs=options.epochs, batch_size=options.batch_size, lr=options.lr,
            weight_decay=options.weight_decay, sky_weight=options.sky_weight,
            early_stopping_patience=options.patience, grad_clip_norm=options.grad_clip,
            max_batches_per_epoch=options.max_batches, seed=options.seed, **trainer_options,
        )
    try:
        trainer.fit(stop_after=options.stop_after)
        summary: dict[str, Any] = {"epochs_done": trainer.epoch, "epochs": trainer.epochs,
                                   "best_epoch": trainer.best_epoch, "stopped_early": trainer.stopped_early,
                                   "checkpoint_dir": str(trainer.checkpoint_dir)}
        if trainer.epoch >= trainer.epochs or trainer.stopped_early:
            exported = trainer.best_epoch if options.export_epoch == "best" else trainer.epoch
            if options.export_epoch == "best":
                model = trainer.restore_best()
            else:  # the model holds the last epoch's weights
                model = trainer.model
            best = trainer.history[trainer.best_epoch - 1]
            summary["best"] = plain_json(best)
            summary["exported_epoch"] = exported
            if trainer.is_main:
                name = str(getattr(model, "name", options.model))
                head = str(getattr(model, "head", options.head or "default"))
                export = Path(options.export) if options.export else \
                    Path(trainer.checkpoint_dir or ".") / f"{name}-{head}.pt"
                data = {"size": options.size, "crop": options.crop}
                if options.window is not None:  # (refused with --no-augment above)
                    data["window"] = options.window
                training = {"data": data, "sources": _sources(options),
                            "trainer": trainer.settings(), "best_epoch": trainer.best_epoch,
                            "best": best, "exported_epoch": exported,
                            "exported": plain_json(trainer.history[exported - 1]), "history": trainer.history}
                if "init" in trainer.metadata:
                    training["init"] = trainer.metadata["init"]
                sha256 = models.save_weights(model, export, extra={"training": plain_json(training)})
                summary.update(weights=str(export), sha256=sha256)
        if trainer.is_main:
            print(json.dumps(summary, indent=1, default=str))
    finally:
        trainer.close()
    return 0
