"""Training history: one row per epoch, written as CSV and JSON, and drawn as curves.

Examples
--------
>>> from galcolor.training.history import history_table
>>> rows = [{"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "val_ab_mae_galaxy": 7.0,
...          "val_ab_mae_whole": 3.0, "lr": 1e-3, "images_per_s": 50.0, "epoch_time_s": 4.0}]
>>> history_table(rows).loc[0, "val_ab_mae_galaxy"]
np.float64(7.0)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pandas and matplotlib cost ~0.65 s to import: not on every CLI start
    import pandas as pd
    from matplotlib.figure import Figure

from .._atomic import atomic_write
from .._json import plain_json

__all__ = ["HISTORY_COLUMNS", "history_table", "write_history", "plot_history"]

#: Columns of a training history, in order (see :class:`galcolor.training.Trainer`).
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_ab_mae_galaxy",
    "val_ab_mae_whole",
    "lr",
    "images_per_s",
    "epoch_time_s",
)


def history_table(history: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The history as a table with the :data:`HISTORY_COLUMNS` (missing values are NaN)."""
    import pandas as pd

    table = pd.DataFrame(list(history))
    for column in HISTORY_COLUMNS:
        if column not in table.columns:
            table[column] = math.nan
    others = [c for c in table.columns if c not in HISTORY_COLUMNS]
    return table[list(HISTORY_COLUMNS) + others]


def write_history(history: Sequence[dict[str, Any]], folder: str | os.PathLike,
                  name: str = "history") -> dict[str, Path]:
    """Write ``history.csv``, ``history.json`` and the ``history.png`` curves, atomically.

    Parameters
    ----------
    history : sequence of dict
        One dict per epoch (see :data:`HISTORY_COLUMNS`).
    folder : str or os.PathLike
        Output folder (created if needed).
    name : str, optional
        File name stem.

    Returns
    -------
    dict of pathlib.Path
        ``{"csv": ..., "json": ..., "png": ...}``.

    Notes
    -----
    Missing values (no validation set) are empty in the CSV and ``null`` in
    the JSON, which has no NaN.
    """
    folder = Path(folder)
    table = history_table(history)
    paths = {kind: folder / f"{name}.{kind}" for kind in ("csv", "json", "png")}
    with atomic_write(paths["csv"]) as temporary:
        table.to_csv(temporary, index=False)
    records = [{key: plain_json(value) for key, value in row.items()} for row in table.to_dict("records")]
    with atomic_write(paths["json"]) as temporary:
        temporary.write_text(json.dumps(records, indent=1) + "\n")
    figure = plot_history(history)
    with atomic_write(paths["png"]) as temporary:
        figure.savefig(temporary, dpi=100)
    return paths


def plot_history(history: Sequence[dict[str, Any]]) -> Figure:
    """Training curves: loss, validation ab MAE (galaxy pixels and whole images), learning rate.

    Parameters
    ----------
    history : sequence of dict
        One dict per epoch (see :data:`HISTORY_COLUMNS`).

    Returns
    -------
    matplotlib.figure.Figure
        Three panels side by side. The figure is not attached to pyplot, so
        it needs no display and is freed when dropped.

    Examples
    --------
    >>> rows = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_ab_mae_galaxy": 8 - e,
    ...          "val_ab_mae_whole": 3 - e / 2, "lr": 1e-3} for e in (1, 2, 3)]
    >>> [axes.get_title() for axes in plot_history(rows).axes]
    ['loss', 'validation ab MAE', 'learning rate']
    """
    import seaborn as sns  # imported here: seaborn takes ~0.5 s to import
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    table = history_table(history)
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    loss_axes, mae_axes, lr_axes = figure.subplots(1, 3)
    panels = [
        (loss_axes, "loss", {"train_loss": "train", "val_loss": "validation"}, "weighted loss"),
        (mae_axes, "validation ab MAE", {"val_ab_mae_galaxy": "galaxy pixels (L > 15)",
                                          "val_ab_mae_whole": "whole images"}, "ab MAE (Lab units)"),
        (lr_axes, "learning rate", {"lr": "end of epoch"}, "learning rate"),
    ]
    for axes, title, columns, ylabel in panels:
        long = table.melt(id_vars="epoch", value_vars=list(columns), var_name="curve", value_name="value")
        long["curve"] = long["curve"].map(columns)
        long = long.dropna(subset=["value"])
        if not long.empty:
            sns.lineplot(data=long, x="epoch", y="value", hue="curve", marker="o", ax=axes)
            axes.legend(title=None, fontsize="small")
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(ylabel)
    if table["lr"].notna().any():
        lr_axes.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    return figure
