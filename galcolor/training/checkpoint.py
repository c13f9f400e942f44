"""Training checkpoints: atomic writes, safe loading, and the random number generator states.

A checkpoint is a plain dict saved with :func:`torch.save`, holding only
tensors, numbers, strings, lists and dicts, so that it loads with
``torch.load(..., weights_only=True)``: opening a checkpoint never runs
pickled code. See :func:`save_checkpoint` for the keys.

Examples
--------
>>> import tempfile, pathlib, torch
>>> from galcolor.training.checkpoint import save_checkpoint, load_checkpoint
>>> path = pathlib.Path(tempfile.mkdtemp()) / "last.pt"
>>> save_checkpoint({"epoch": 1, "model": {"weight": torch.ones(2)}}, path)
>>> load_checkpoint(path)["epoch"]
1
>>> _ = path.write_bytes(path.read_bytes()[:100])  # truncate it
>>> load_checkpoint(path)
Traceback (most recent call last):
...
galcolor.exceptions.FileFormatError: .../last.pt: not a readable galcolor training checkpoint ...
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._version import __version__
from .._atomic import atomic_write
from ..exceptions import FileFormatError

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "save_checkpoint",
    "load_checkpoint",
    "rng_state",
    "set_rng_state",
]

#: Value of the ``format`` key of every galcolor training checkpoint.
CHECKPOINT_FORMAT = "galcolor-training-checkpoint"

#: Version of the checkpoint layout; bumped when keys change meaning.
CHECKPOINT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """Write a checkpoint atomically: a reader (or a crash) never sees half a file.

    ``format``, ``format_version`` and ``galcolor_version`` keys are added.

    Parameters
    ----------
    state : dict
        What to save; only tensors, numbers, strings, None, lists and dicts
        (anything else would not load with ``weights_only=True``). The
        :class:`~galcolor.training.Trainer` saves ``epoch``, ``model``,
        ``model_config``, ``model_name``, ``optimizer``, ``scheduler``,
        ``best_metric``, ``best_epoch``, ``epochs_without_improvement``,
        ``history``, ``trainer`` (its settings) and ``rng`` (one
        :func:`rng_state` per process).
    path : str or os.PathLike
        Destination; its folder is created if needed.
    """
    payload = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION,
               "galcolor_version": __version__, **state}
    with atomic_write(path) as temporary:
        torch.save(payload, temporary)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, safely.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (``last.pt``, ``best.pt``).
    map_location : str or torch.device, optional
        Where tensors are loaded (default the CPU).

    Returns
    -------
    dict

    Raises
    ------
    galcolor.FileFormatError
        (an ``OSError``) naming the file if it is missing, truncated or
        corrupt, holds pickled objects that ``weights_only=True`` refuses,
        or is not a galcolor training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors...
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FileFormatError(
            f"{path}: not a readable galcolor training checkpoint (truncated or corrupt?): {message}"
        ) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FileFormatError(
            f"{path}: not a galcolor training checkpoint (no format={CHECKPOINT_FORMAT!r} key)")
    version = state.get("format_version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise FileFormatError(
            f"{path}: checkpoint format version {version!r} is newer than this galcolor "
            f"understands ({CHECKPOINT_VERSION}); upgrade galcolor"
        )
    return state


def rng_state(*generators: torch.Generator) -> dict[str, Any]:
    """The states of every random number generator training uses, as tensors and lists.

    Parameters
    ----------
    *generators : torch.Generator
        Extra generators (data order, augmentation), saved in order.

    Returns
    -------
    dict
        ``torch`` (ByteTensor), ``cuda`` (list of ByteTensor, one per
        visible GPU; empty without CUDA), ``numpy`` (dict of the legacy
        global MT19937 state), ``python`` (dict of :mod:`random`'s state),
        ``generators`` (list of ByteTensor). Nothing is a pickled object,
        so it survives ``torch.load(..., weights_only=True)``.

    Examples
    --------
    >>> import torch
    >>> state = rng_state()
    >>> first = torch.rand(3)
    >>> set_rng_state(state)
    >>> torch.equal(torch.rand(3), first)
    True
    """
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    version, mt_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)),
                  "position": int(position), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached_gaussian)},
        "python": {"version": int(version), "state": [int(v) for v in mt_state], "gauss_next": gauss_next},
        "generators": [generator.get_state() for generator in generators],
    }


def set_rng_state(state: dict[str, Any], *generators: torch.Generator) -> None:
    """Restore states saved by :func:`rng_state` (in the same generator order).

    CUDA states are restored when there are as many GPUs as when they were
    saved; on another machine they are left alone.
    """
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32),
                         numpy_state["position"], numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss_next"]))
    saved = state.get("generators") or []
    if len(saved) != len(generators):
        raise ValueError(f"{len(saved)} generator states saved, {len(generators)} generators given")
    for generator, generator_state in zip(generators, saved):
        generator.set_state(generator_state.cpu())
