"""Training of the full-resolution chroma path (:class:`~galcolor.models.detail.DetailRefiner`).

The colorizer network is frozen: its ab, resampled to the cutout's pixels,
is an input. The refiner learns the residual that the coarse path misses at
the scale of the PSF, on examples that hold, per item, the lightness, the
true ab, the coarse ab and the pixels of known knots
(``pipelines/train_detail.py examples`` makes them from SDSS frames with
injected knots and from simulated galaxies). Each item gives one window per
epoch, centred on one of its knots half of the time when it has any, turned
by a random element of the dihedral group; the loss is the L1 distance to
the true ab, weighted ``sky_weight`` on the sky, 1 on the galaxy
(L > 15) and ``knot_weight`` times that within one FWHM of a knot, where the
coarse path is wrong and which cover under 1 % of the pixels.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from galcolor.training.detail import train_refiner
>>> rng = np.random.default_rng(0)
>>> n, size = 4, 40
>>> lightness = np.full((n, size, size), 30.0) + rng.normal(0, 1, (n, size, size))
>>> ab = np.zeros((n, 2, size, size)); ab[:, 1, 18:22, 18:22] = -20.0  # a blue knot
>>> knots = np.zeros((n, size, size), bool); knots[:, 16:24, 16:24] = True
>>> arrays = {"real_lightness": lightness, "real_ab": ab, "real_coarse": np.zeros_like(ab),
...           "real_knots": knots, "real_valid": np.ones_like(knots)}
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.savez(folder / "examples.npz", **arrays)
>>> refiner = train_refiner(folder / "examples.npz", folder / "run", epochs=2, window=32, batch_size=2,
...                         val_share=0.25, progress=False)
>>> sorted(path.name for path in (folder / "run").iterdir())
['checkpoint.pt', 'detail.pt', 'history.csv']
"""

from __future__ import annotations

import ast
import csv
import math
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .._atomic import atomic_write
from ..dihedral import dihedral
from ..exceptions import InputError
from ..geometry import GALAXY_MIN_LIGHTNESS
from ..models.detail import DetailRefiner
from ..models.weights import save_weights

__all__ = ["DetailExamples", "train_refiner"]

_PLANES = ("lightness", "ab", "coarse", "knots", "valid")


class DetailExamples:
    """The items of an examples file, grouped by size (``real_*``, ``simulated_*`` arrays).

    Parameters
    ----------
    path : str, os.PathLike or sequence of them
        One or more ``.npz`` files written by ``pipelines/train_detail.py``
        (``examples`` or ``frames``): per group ``{group}_lightness``
        (N, H, W), ``{group}_ab`` and ``{group}_coarse`` (N, 2, H, W),
        ``{group}_knots`` and ``{group}_valid`` (N, H, W) bool; optionally
        ``recipe``. A group name may appear in one file only.

    Attributes
    ----------
    groups : dict
        Group name -> its planes.
    recipe : dict
        Group name -> the recipe of the file it came from.
    """

    def __init__(self, path: str | os.PathLike | Sequence[str | os.PathLike]) -> None:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        self.groups: dict[str, dict[str, np.ndarray]] = {}
        self.recipe: dict[str, Any] = {}
        for one in paths:
            self._read(one)
        if not self.groups:
            raise InputError(f"{', '.join(map(str, paths)) or 'no file'}: no examples")

    def _read(self, path: str | os.PathLike) -> None:
        try:
            with np.load(path) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: not a readable examples file ({error})") from None
        groups = sorted({key.rsplit("_", 1)[0] for key in arrays if key != "recipe"})
        for group in groups:
            if group in self.groups:
                raise InputError(f"{path}: group {group!r} is in an earlier examples file too")
            missing = [plane for plane in _PLANES if f"{group}_{plane}" not in arrays]
            if missing:
                raise InputError(f"{path}: group {group!r} has no {', '.join(missing)}")
            planes = {plane: arrays[f"{group}_{plane}"] for plane in _PLANES}
            n = len(planes["lightness"])
            if any(len(value) != n for value in planes.values()):
                raise InputError(f"{path}: the planes of group {group!r} differ in length")
            self.groups[group] = planes
        recipe = arrays.get("recipe")
        if recipe is not None:
            for group in groups:
                self.recipe[group] = ast.literal_eval(str(recipe))

    def items(self) -> list[tuple[str, int]]:
        """Every item as ``(group, index)``."""
        return [(group, index) for group, planes in self.groups.items() for index in range(len(planes["lightness"]))]

    def window(self, group: str, index: int, size: int, rng: np.random.Generator,
               knot_share: float = 0.5) -> dict[str, torch.Tensor]:
        """One ``size`` x ``size`` window of an item (the whole item when smaller), randomly turned."""
        planes = self.groups[group]
        height, width = planes["lightness"].shape[-2:]
        size_y, size_x = min(size, height), min(size, width)
        knots = planes["knots"][index]
        if knots.any() and rng.uniform() < knot_share:
            rows, cols = np.nonzero(knots)
            pick = rng.integers(rows.size)
            top = int(np.clip(rows[pick] - size_y // 2 + rng.integers(-size_y // 4, size_y // 4 + 1),
                              0, height - size_y))
            left = int(np.clip(cols[pick] - size_x // 2 + rng.integers(-size_x // 4, size_x // 4 + 1),
                               0, width - size_x))
        else:
            top, left = int(rng.integers(0, height - size_y + 1)), int(rng.integers(0, width - size_x + 1))
        where = (slice(top, top + size_y), slice(left, left + size_x))
        out = {"lightness": torch.from_numpy(planes["lightness"][index][where].astype(np.float32))[None],
               "ab": torch.from_numpy(planes["ab"][index][(slice(None), *where)].astype(np.float32)),
               "coarse": torch.from_numpy(planes["coarse"][index][(slice(None), *where)].astype(np.float32)),
               "knots": torch.from_numpy(planes["knots"][index][where])[None],
               "valid": torch.from_numpy(planes["valid"][index][where])[None]}
        turns, flip = int(rng.integers(4)), bool(rng.integers(2))  # turned, then maybe mirrored:
        element = 4 + (-turns) % 4 if flip else turns  # the same as dihedral's mirror-then-turn element
        # a* and b* are colors, not directions: they do not turn with the image
        return {name: dihedral(value, element) for name, value in out.items()}


def _weights(batch: dict[str, torch.Tensor], sky_weight: float, knot_weight: float) -> torch.Tensor:
    galaxy = (batch["lightness"] > GALAXY_MIN_LIGHTNESS).float()
    weight = (sky_weight + (1.0 - sky_weight) * galaxy) * batch["valid"].float()
    return weight * (1.0 + (knot_weight - 1.0) * batch["knots"].float())


def _collate(windows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    shapes = {tuple(window["lightness"].shape) for window in windows}
    if len(shapes) > 1:  # items smaller than the window: crop every window to the smallest
        height = min(shape[-2] for shape in shapes)
        width = min(shape[-1] for shape in shapes)
        windows = [{name: value[..., :height, :width] for name, value in window.items()} for window in windows]
    return {name: torch.stack([window[name] for window in windows]) for name in windows[0]}


def _evaluate(refiner: DetailRefiner, examples: DetailExamples, items: list[tuple[str, int]], window: int,
              batch_size: int) -> dict[str, float]:
    """Mean absolute error of the coarse and the refined ab on the galaxy and at the knots of held-out items."""
    rng = np.random.default_rng(12345)
    sums = {"galaxy_coarse": 0.0, "galaxy_refined": 0.0, "knots_coarse": 0.0, "knots_refined": 0.0}
    counts = {"galaxy": 0.0, "knots": 0.0}
    refiner.eval()
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            batch = _collate([examples.window(group, index, window, rng) for group, index in
                              items[start:start + batch_size]])
            refined = refiner(batch["lightness"], batch["coarse"])
            galaxy = ((batch["lightness"] > GALAXY_MIN_LIGHTNESS) & batch["valid"]).float()
            knots = (batch["knots"] & batch["valid"]).float()
            for name, mask in (("galaxy", galaxy), ("knots", knots)):
                counts[name] += float(mask.sum())
                for kind, ab in (("coarse", batch["coarse"]), ("refined", refined)):
                    sums[f"{name}_{kind}"] += float(((ab - batch["ab"]).abs().mean(1, keepdim=True) * mask).sum())
    return {key: value / max(counts[key.split("_")[0]], 1.0) for key, value in sums.items()}


def train_refiner(examples: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike, *,
                  epochs: int = 12, knot_weight: float = 8.0, sky_weight: float = 0.25, width: int = 8,
                  dilations: tuple[int, ...] = (2, 4, 8), batch_size: int = 16, lr: float = 2e-3,
                  window: int = 96, val_share: float = 0.05, seed: int = 0, command: str = "",
                  progress: bool = True) -> DetailRefiner:
    """Fit a :class:`~galcolor.models.detail.DetailRefiner` on an examples file; resumable.

    Parameters
    ----------
    examples : str, os.PathLike or sequence of them
        See :class:`DetailExamples`.
    out : str or os.PathLike
        Folder of ``detail.pt`` (the weights, written at the end),
        ``checkpoint.pt`` (after every epoch: a run started again with the
        same ``out`` and the same schedule resumes from it; another number of
        epochs raises :class:`~galcolor.InputError`) and ``history.csv`` (per epoch: the
        training loss, and the mean absolute ab error of the coarse and the refined
        ab on the galaxy pixels and at the knots of the held-out items).
    epochs, batch_size, lr, window : optional
        Adam with a cosine decay of ``lr`` over ``epochs`` epochs of one
        ``window``-pixel window per item.
    knot_weight, sky_weight : float, optional
        Loss weights (see the module docstring).
    width, dilations : optional
        The refiner's hidden channels and the dilations of its residual blocks.
    val_share : float, optional
        Share of the items held out (every ``round(1 / val_share)``-th).
    seed : int, optional
        Seeds the initialisation and every epoch's windows.
    command : str, optional
        The command line, recorded with the weights.
    progress : bool, optional
        A progress bar per epoch.

    Returns
    -------
    DetailRefiner
        The trained refiner, in eval mode.
    """
    from tqdm.auto import tqdm

    if epochs < 1 or batch_size < 1 or window < 8 or not lr > 0 or not 0 < val_share < 1:
        raise InputError("epochs and batch_size must be >= 1, window >= 8, lr > 0 and 0 < val_share < 1")
    data = DetailExamples(examples)
    items = data.items()
    every = max(2, round(1.0 / val_share))
    held_out = items[::every]
    training = [item for number, item in enumerate(items) if number % every]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    refiner = DetailRefiner(width=width, dilations=dilations)
    optimizer = torch.optim.Adam(refiner.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(training) / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch,
                                                           eta_min=lr * 0.02)
    history: list[dict[str, float]] = []
    first_epoch = 0
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        planned = int(state["scheduler"].get("T_max", epochs * steps_per_epoch))
        if planned != epochs * steps_per_epoch:
            raise InputError(f"{checkpoint_path}: a run of {planned} steps ({planned / steps_per_epoch:g} epochs of "
                             f"{steps_per_epoch} steps) is resumed with {epochs} epochs: its learning-rate schedule "
                             "would not fit; resume with the same --epochs, batch size and examples, or use a new "
                             "out folder")
        refiner.load_state_dict(state["refiner"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = [dict(row) for row in state["history"]]
        first_epoch = int(state["epoch"]) + 1
    sources = [str(examples)] if isinstance(examples, (str, os.PathLike)) else [str(one) for one in examples]
    recipe = {"examples": sources, "examples_recipe": data.recipe, "n_training": len(training),
              "n_held_out": len(held_out), "epochs": epochs, "knot_weight": knot_weight,
              "refiner": DetailRefiner(width=width, dilations=dilations).config(), "sky_weight": sky_weight,
              "batch_size": batch_size, "lr": lr, "window": window, "seed": seed, "command": command}
    for epoch in range(first_epoch, epochs):
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(training))
        refiner.train()
        started, total, count = time.time(), 0.0, 0
        for start in tqdm(range(0, len(order), batch_size), desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                          disable=not progress):
            batch = _collate([data.window(*training[number], window, rng) for number in order[start:start + batch_size]])
            weight = _weights(batch, sky_weight, knot_weight)
            refined = refiner(batch["lightness"], batch["coarse"])
            loss = (weight * (refined - batch["ab"]).abs().mean(1, keepdim=True)).sum() / weight.sum().clamp_min(1e-6)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total, count = total + float(loss.detach()), count + 1
        row = {"epoch": epoch + 1, "loss": total / max(count, 1), "seconds": time.time() - started,
               **_evaluate(refiner, data, held_out, window, batch_size)}
        history.append(row)
        state = {"refiner": refiner.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "history": history, "epoch": epoch}
        with atomic_write(checkpoint_path) as temporary:
            torch.save(state, temporary)
        with atomic_write(out / "history.csv") as temporary:
            with open(temporary, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
                writer.writerows(history)
        if progress:
            print(", ".join(f"{key} {value:.4g}" for key, value in row.items()), flush=True)
    refiner.eval()
    save_weights(refiner, out / "detail.pt", extra={"training": recipe, "history": history})
    return refiner
