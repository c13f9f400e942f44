"""Training colorizers: augmentation, galaxy-weighted losses, the :class:`Trainer`, checkpoints.

* :class:`Augment` and the transforms it draws from (:func:`dihedral`,
  :func:`zoom`, :func:`stretch_lightness`, :func:`band_as_lightness`) --
  :mod:`galcolor.training.augment`;
* :func:`loss_weight` and :func:`ab_error_sums` -- losses and validation
  errors masked to galaxy pixels (:mod:`galcolor.training.losses`);
* :class:`Trainer` -- CUDA/bf16/DDP or CPU training with checkpoints and
  exact resume (:mod:`galcolor.training.trainer`);
* :func:`save_checkpoint`, :func:`load_checkpoint` -- safe checkpoint files
  (:mod:`galcolor.training.checkpoint`);
* :class:`SimulatedPairs`, :class:`InMemoryPairs`, :class:`WithTransform` --
  simulated galaxies, an in-memory cache and a transformed dataset as
  training items (:mod:`galcolor.training.data`);
* :class:`KnotInjection` -- knots injected into training galaxies as the
  region benchmark injects them (:mod:`galcolor.training.knots`);
* :func:`write_history`, :func:`plot_history` -- the training curves
  (:mod:`galcolor.training.history`);
* :func:`add_train_arguments`, :func:`train_command` -- the ``galcolor train``
  command and ``pipelines/train_colorizer.py`` (:mod:`galcolor.training.command`).

Examples
--------
>>> import torch
>>> from galcolor.training import dihedral
>>> dihedral(torch.arange(4).reshape(2, 2), 2).tolist()  # half a turn
[[3, 2], [1, 0]]
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # imported on first use (galcolor._lazy): the command's options need no torch
    from .arguments import DEFAULT_SKY_WEIGHT, add_train_arguments
    from .augment import (DIHEDRAL_ELEMENTS, Augment, band_as_lightness, dihedral, dihedral_inverse,
                          stretch_lightness, zoom)
    from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
    from .command import train_command
    from .data import InMemoryPairs, SimulatedPairs, WithTransform, item_from_rgb
    from .history import HISTORY_COLUMNS, plot_history, write_history
    from .knots import KnotInjection
    from .losses import ab_error_sums, loss_weight
    from .trainer import Trainer, TrainingError, WarmupCosine, resolve_device

__getattr__, __dir__ = lazy_exports(__name__, {
    "DEFAULT_SKY_WEIGHT": ".arguments", "add_train_arguments": ".arguments",
    **dict.fromkeys(["DIHEDRAL_ELEMENTS", "Augment", "band_as_lightness", "dihedral", "dihedral_inverse",
                     "stretch_lightness", "zoom"], ".augment"),
    **dict.fromkeys(["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"], ".checkpoint"),
    "train_command": ".command",
    **dict.fromkeys(["InMemoryPairs", "SimulatedPairs", "WithTransform", "item_from_rgb"], ".data"),
    **dict.fromkeys(["HISTORY_COLUMNS", "plot_history", "write_history"], ".history"),
    "KnotInjection": ".knots",
    **dict.fromkeys(["ab_error_sums", "loss_weight"], ".losses"),
    **dict.fromkeys(["Trainer", "TrainingError", "WarmupCosine", "resolve_device"], ".trainer")})

__all__ = [
    "Augment",
    "DIHEDRAL_ELEMENTS",
    "dihedral",
    "dihedral_inverse",
    "zoom",
    "stretch_lightness",
    "band_as_lightness",
    "loss_weight",
    "ab_error_sums",
    "DEFAULT_SKY_WEIGHT",
    "Trainer",
    "TrainingError",
    "WarmupCosine",
    "resolve_device",
    "save_checkpoint",
    "load_checkpoint",
    "CHECKPOINT_FORMAT",
    "SimulatedPairs",
    "InMemoryPairs",
    "WithTransform",
    "KnotInjection",
    "item_from_rgb",
    "write_history",
    "plot_history",
    "HISTORY_COLUMNS",
    "add_train_arguments",
    "train_command",
]
