"""The ``galcolor train`` command (also ``pipelines/train_colorizer.py``): train and export a colorizer.

:func:`~galcolor.training.arguments.add_train_arguments` (without torch,
so that ``galcolor --help`` is fast) adds the options to an :mod:`argparse`
parser and :func:`train_command` runs them: it builds the datasets (an
image folder, the simulator, or both), the model
(``galcolor.models.get_model``), a :class:`~galcolor.training.Trainer`,
trains, and exports the best epoch's weights with
``galcolor.models.save_weights``.
"""

from __future__ import annotations

import argparse
import json
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
from .arguments import DEFAULT_DATA, add_train_arguments
from .augment import Augment
from .data import InMemoryPairs, SimulatedPairs, WithTransform
from .knots import KnotInjection
from .trainer import Trainer

__all__ = ["add_train_arguments", "train_command", "build_datasets", "DEFAULT_DATA"]

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
