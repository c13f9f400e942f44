"""One input through the whole chain: load, colorize, find star-forming regions, or a failure record.

:func:`process` is the sequence that the ``galcolor regions`` command, the
survey pipeline, the demo and the region benchmark's harness share: each
input is loaded (or taken as it is: a :class:`~galcolor.Cutout`, a
:class:`~galcolor.Colorization`, or a galcolor FITS color product),
colorized in batches, and searched for regions in its predicted color, its
true color, or both. "No region" is a result (an empty catalog), not a
warning per image; anything that goes wrong with one input becomes its
:attr:`Processed.error` and the others go on.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits
from astropy.table import QTable

from .colorization import COLOR_PLANES, Colorization
from .colorizer import Colorizer, check_colorizable
from .exceptions import InputError
from .io import Cutout, load
from .io.load import file_kind
from .regions import NoRegionsWarning, RegionClassifier, RegionParameters, ScoreCalibration, find_star_forming_regions

__all__ = ["Processed", "process", "is_color_product", "COLORS"]

#: Which color :func:`process` searches for regions.
COLORS = ("predicted", "true", "both")


@dataclass
class Processed:
    """What :func:`process` made of one input.

    Attributes
    ----------
    source : str
        The input's name (its path, or what the loader calls an array).
    colorization : galcolor.Colorization or None
        The predicted color (None for ``color="true"``, or when it failed).
    regions : astropy.table.QTable or None
        Regions in the predicted color (may be empty).
    true_regions : astropy.table.QTable or None
        Regions in the input's own color, for ``color="true"`` or ``"both"``.
    cutout : galcolor.Cutout or None
        The loaded input (None for a color product).
    error : BaseException or None
        Why this input failed; None when it did not.
    """

    source: str
    colorization: Colorization | None = None
    regions: QTable | None = None
    true_regions: QTable | None = None
    cutout: Cutout | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.error is None

    @property
    def message(self) -> str:
        """The failure as one line that names the input ("" when none)."""
        if self.error is None:
            return ""
        text = str(self.error) or repr(self.error)
        return text if self.source in text else f"{self.source}: {text}"


def is_color_product(path: str | Path) -> bool:
    """True for a FITS file written by :meth:`galcolor.Colorization.to_fits` (it has A, B and their errors).

    Examples
    --------
    >>> from galcolor.process import is_color_product
    >>> is_color_product("notes.txt")
    False
    """
    try:
        if file_kind(path) != "fits":
            return False
        with fits.open(path, memmap=False) as hdus:
            names = {hdu.name for hdu in hdus}
    except (OSError, ValueError):  # FileFormatError too: not a FITS name
        return False
    return set(COLOR_PLANES) <= names


def _source_name(item: Any) -> str:
    if isinstance(item, (Cutout, Colorization)):
        return str(item.source)
    if isinstance(item, (str, Path)):
        return str(item)
    return "array input"


def process(
    inputs: Iterable[Any],
    *,
    colorizer: Colorizer | None = None,
    params: RegionParameters | None = None,
    calibration: RegionClassifier | ScoreCalibration | Mapping[str, Any] | None = None,
    color: str = "predicted",
    load_options: dict[str, Any] | None = None,
    batch_size: int = 16,
    colorize_only: bool = False,
    strict: bool = False,
) -> list[Processed]:
    """Load, colorize and find the star-forming regions of many inputs; record failures.

    Parameters
    ----------
    inputs : iterable
        Paths, arrays, HDUs, :class:`~galcolor.Cutout` (true color needs
        ``truth_rgb``), :class:`~galcolor.Colorization`, or paths of galcolor
        FITS color products (read, not colorized again).
    colorizer : galcolor.Colorizer, optional
        Default: ``galcolor.Colorizer()`` (the shipped model), made only when
        some input needs colorizing.
    params : RegionParameters, optional
        Parameters of :func:`~galcolor.regions.find_star_forming_regions`.
    calibration : RegionClassifier, ScoreCalibration or dict, optional
        Score model for every input (a dict: one per kind of evidence,
        e.g. ``{"predicted": ..., "true": ...}`` with ``color="both"``);
        default: the shipped one for the evidence in hand.
    color : {"predicted", "true", "both"}
        Search the predicted color, the input's own color, or both.
    load_options : dict, optional
        ``band``, ``hdu``, ``stretch`` for :func:`galcolor.load`.
    batch_size : int, optional
        Inputs colorized together (one network call for many cutouts).
    colorize_only : bool, optional
        Colorize without searching for regions.
    strict : bool, optional
        Raise the first failure instead of recording it (for inputs that
        cannot fail unless galcolor has a bug, such as simulated galaxies).

    Returns
    -------
    list of Processed
        One per input, in order.

    Examples
    --------
    >>> from galcolor.datasets import simulate
    >>> from galcolor.process import process
    >>> cutouts = [galaxy.to_cutout("r") for galaxy in simulate(2, size=64, seed=3)]
    >>> done = process(cutouts + ["missing.fits"], color="true")
    >>> [item.ok for item in done], done[-1].message.startswith("missing.fits")
    ([True, True, False], True)
    >>> done[0].true_regions.meta["color"]
    'true'
    """
    if color not in COLORS:
        raise InputError(f"color must be one of {COLORS}, got {color!r}")
    params = params or RegionParameters()
    load_options = dict(load_options or {})
    items = list(inputs)
    done: list[Processed] = []
    for start in range(0, len(items), batch_size):
        batch = [_prepare(item, color, load_options) for item in items[start:start + batch_size]]
        waiting = [entry for entry in batch if entry.ok and entry.colorization is None and color != "true"]
        if waiting:
            colorizer = colorizer or Colorizer()
            _colorize(colorizer, waiting)
        if not colorize_only:
            for entry in batch:
                if entry.ok:
                    _find(entry, color, params, calibration)
        if strict:
            for entry in batch:
                if entry.error is not None:
                    raise entry.error
        done += batch
    return done


def _prepare(item: Any, color: str, load_options: dict[str, Any]) -> Processed:
    entry = Processed(source=_source_name(item))
    try:
        if isinstance(item, Colorization):
            entry.colorization = item
        elif isinstance(item, Cutout):
            entry.cutout = item
        elif isinstance(item, (str, Path)) and is_color_product(item):
            entry.colorization = Colorization.read_fits(item)
        else:
            entry.cutout = load(item, **load_options)
        if color != "predicted" and entry.cutout is None:
            raise InputError(f"{entry.source}: a color product has no true color to search")
    except Exception as error:  # noqa: BLE001 - every failure is recorded; the run goes on
        entry.error = error
    return entry


def _colorize(colorizer: Colorizer, entries: Sequence[Processed]) -> None:
    ready = []
    for entry in entries:  # a blank or tiny cutout is refused alone, before it can fail a whole batch
        try:
            check_colorizable(entry.cutout)
            ready.append(entry)
        except InputError as error:
            entry.error = error
    entries = ready
    if not entries:
        return
    try:
        results = colorizer.colorize_cutouts([entry.cutout for entry in entries])
    except Exception:  # noqa: BLE001 - one bad cutout must not sink its batch: retry one at a time
        for entry in entries:
            try:
                entry.colorization = colorizer.colorize_cutouts([entry.cutout])[0]
            except Exception as error:  # noqa: BLE001
                entry.error = error
        return
    for entry, result in zip(entries, results):
        entry.colorization = result


def _find(entry: Processed, color: str, params: RegionParameters,
          calibration: RegionClassifier | ScoreCalibration | Mapping[str, Any] | None) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoRegionsWarning)  # an empty catalog says it
            if color in ("predicted", "both"):
                entry.regions = find_star_forming_regions(entry.colorization, params, calibration=calibration)
            if color in ("true", "both"):
                entry.true_regions = find_star_forming_regions(entry.cutout, params, calibration=calibration)
    except Exception as error:  # noqa: BLE001 - every failure is recorded; the run goes on
        entry.error = error
