"""The options of ``galcolor train``, without torch: ``galcolor --help`` builds them in a blink.

:func:`add_train_arguments` adds them to an :mod:`argparse` parser;
:func:`~galcolor.training.command.train_command` runs them.

Examples
--------
>>> import argparse
>>> from galcolor.training.arguments import add_train_arguments
>>> parser = add_train_arguments(argparse.ArgumentParser(prog="galcolor train"))
>>> options = parser.parse_args(["--model", "unet", "--width", "16", "--crop", "208"])
>>> options.model, options.width, options.crop, options.epochs
('unet', 16, 208, 20)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["add_train_arguments", "DEFAULT_DATA", "DEFAULT_SKY_WEIGHT"]

#: Default loss weight (:func:`galcolor.training.loss_weight`) of a valid sky pixel; a galaxy pixel weighs 1. With
#: the central half of a Galaxy Zoo frame about 19 % of pixels are galaxy
#: (L > 15; 6 % of the whole 424 px frame), so 0.25 makes galaxy and sky
#: contribute about equally to the loss while the sky still learns to be grey.
DEFAULT_SKY_WEIGHT = 0.25

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
