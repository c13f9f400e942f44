"""Survey-scale runs: colorize + star-forming regions over many cutouts on Dask.

:func:`run_pipeline` pushes a survey's cutouts through the same calls an
astronomer makes by hand (:func:`galcolor.load` → :class:`galcolor.Colorizer`
→ :func:`galcolor.find_star_forming_regions`) on a :mod:`dask.distributed`
cluster: a :class:`~distributed.LocalCluster` on this machine by default, or
any running cluster given by its scheduler address.

How a run is organised
----------------------
- The inputs (a folder, a glob, a list of files, or a manifest table) are
  numbered in a fixed order and cut into **parts** of ``batch_size``
  cutouts. One Dask task processes one part.
- Each worker process loads the model **once** (the first task it runs) and
  keeps it for every later task; cutouts of a part share batched forward
  passes.
- A task writes its part's results atomically under ``parts/``: the regions
  (``part-NNNNNN.regions.parquet``), then the per-galaxy rows
  (``part-NNNNNN.galaxies.parquet``), whose presence marks the part done.
  It returns only a few numbers, so the client's memory does not grow with
  the number of cutouts, and at most a few tasks per worker thread are in
  flight at a time.
- A rerun of the same command skips the finished parts, so a run killed at
  any moment (``kill -9`` included) finishes with exactly the catalog an
  uninterrupted run writes: no row lost, none duplicated. A rerun with
  different inputs or parameters into the same folder is refused.
- A cutout that cannot be read or processed becomes a ``failed`` row with
  its error, and the run goes on (``strict=True`` stops it instead).
- At the end the parts are merged into the products below. Merging holds the
  catalogs (not the images) in memory: about 0.5 kB per region and per
  cutout.

Products in the output folder
-----------------------------
``regions.parquet``, ``regions.fits``
    Every region of every cutout, in the schema of :mod:`galcolor.catalog`
    plus a ``cutout_id`` column; ids renumbered 1..N in input order.
``galaxies.parquet``, ``galaxies.csv``
    One row per cutout (:data:`GALAXY_COLUMNS`): id, source, status,
    number of regions, summed score, mean color of the central galaxy.
``failures.csv``
    The cutouts that failed: path, error type, message.
``run.json``
    The run record: parameters, model and weights sha256, galcolor version,
    counts, throughput, and per-worker model loads and peak memory.
``products/`` (``products=True``)
    Each cutout's color FITS product (:meth:`galcolor.Colorization.to_fits`).
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from astropy.table import QTable

from ._version import __version__
from ._atomic import atomic_write
from ._json import plain_json
from .exceptions import GalcolorError, InputError
from .catalog import GALAXY_COLUMNS, RUN_REGION_COLUMNS, CatalogColumn, conform, empty_table, merge, write
from .geometry import central_galaxy_mask
from .io import load
from .io.load import is_readable_name
from .process import process
from .regions import RegionParameters

__all__ = [
    "GALAXY_COLUMNS",
    "FAILURE_COLUMNS",
    "PipelineError",
    "PipelineResult",
    "read_inputs",
    "cutout_ids",
    "run_pipeline",
    "read_run",
]

#: Columns of ``failures.csv``.
FAILURE_COLUMNS: tuple[str, ...] = ("cutout_id", "path", "error_type", "message")

#: File endings of a manifest table.
MANIFEST_SUFFIXES = (".csv", ".parquet")

_MANIFEST_COLUMNS = ("path", "id", "ra", "dec", "band", "hdu")
_PART = "part-{:06d}"
#: How long to wait for a scheduler given by address.
SCHEDULER_TIMEOUT = "30s"
_RUN_RECORD = "run.json"

#: The region finder's defaults, which the pipeline's keyword arguments take.
_REGION_DEFAULTS = RegionParameters()


class PipelineError(GalcolorError, RuntimeError):
    """A pipeline run could not start or finish (bad inputs, a mismatched rerun, ``strict`` failures)."""


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` wrote and measured.

    Attributes
    ----------
    output : pathlib.Path
        The run folder.
    regions, galaxies, failures, record : pathlib.Path
        The merged region catalog (Parquet; a FITS copy sits beside it), the
        per-galaxy table (Parquet; CSV beside it), ``failures.csv`` and
        ``run.json``.
    n_inputs, n_processed, n_failed, n_regions : int
        Counts over the whole run (earlier, resumed parts included).
    n_resumed_parts : int
        Parts found finished from an earlier run and not recomputed.
    seconds : float
        Wall time of this call.
    cutouts_per_second : float
        Cutouts processed by this call per second of wall time (NaN when
        every part was already done).
    record_data : dict
        The contents of ``run.json``.
    """

    output: Path
    regions: Path
    galaxies: Path
    failures: Path
    record: Path
    n_inputs: int
    n_processed: int
    n_failed: int
    n_regions: int
    n_resumed_parts: int
    seconds: float
    cutouts_per_second: float
    record_data: dict = field(repr=False, default_factory=dict)

    def summary(self) -> str:
        """One line for a terminal: processed, failed, regions, speed."""
        speed = "" if math.isnan(self.cutouts_per_second) else f", {self.cutouts_per_second:.2f} cutouts/s"
        resumed = f" ({self.n_resumed_parts} part(s) resumed)" if self.n_resumed_parts else ""
        return (f"{self.n_processed} of {self.n_inputs} cutout(s) processed, {self.n_failed} failed, "
                f"{self.n_regions} region(s){resumed}{speed}; catalogs in {self.output}")


# --------------------------------------------------------------------- inputs


def cutout_ids(paths: Sequence[str | os.PathLike]) -> list[str]:
    """One id per path: the file name without its extensions, made unique.

    Repeated names get ``-2``, ``-3``, ... in input order.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Input files.

    Returns
    -------
    list of str

    Examples
    --------
    >>> cutout_ids(["a/ngc1300_r.fits", "b/ngc1300_r.fits.gz", "m51.jpg"])
    ['ngc1300_r', 'ngc1300_r-2', 'm51']
    """
    stems: list[str] = []
    seen: dict[str, int] = {}
    for path in paths:
        name = Path(path).name
        for ending in (".gz", ".bz2", ".fz"):
            name = name.removesuffix(ending)
        stem = Path(name).stem or "image"
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def _is_cutout_file(path: Path) -> bool:
    return is_readable_name(path.name) and path.is_file()


def _check_one_kind_per_galaxy(folder: Path, files: list[str]) -> None:
    """Refuse a ``galcolor simulate`` folder, which holds every galaxy three times.

    ``galcolor simulate`` writes, per galaxy ``X``, ``X_truth.ecsv`` and
    three images of it (``X_<band>.fits``, ``X_<bands>.fits``, ``X.jpg``);
    a run over the whole folder would queue each galaxy once per kind.
    """
    prefixes = {truth.name.removesuffix("_truth.ecsv") for truth in folder.glob("*_truth.ecsv")}
    if not prefixes:
        return
    kinds: dict[str, int] = {}
    for name in (Path(file).name for file in files):
        for prefix in prefixes:
            rest = name[len(prefix):] if name.startswith(prefix) else ""
            if rest == ".jpg" or (rest.startswith("_") and rest.endswith(".fits")):
                kinds[rest] = kinds.get(rest, 0) + 1
    if len(kinds) > 1:
        choices = ", ".join(f"'{folder / ('*' + rest)}' ({count})" for rest, count in sorted(kinds.items()))
        raise PipelineError(f"{folder}: galcolor simulate's output holds each of its {len(prefixes)} galaxies "
                            f"as {len(kinds)} kinds of image; give one kind: {choices}")


def _expand(item: str | os.PathLike) -> list[str]:
    text = str(item)
    path = Path(text)
    if path.is_dir():
        files = sorted(str(child) for child in path.iterdir() if _is_cutout_file(child))
        _check_one_kind_per_galaxy(path, files)
        return files
    if any(character in text for character in "*?["):
        matches = sorted(match for match in glob.glob(text, recursive=True) if _is_cutout_file(Path(match)))
        if not matches:
            raise PipelineError(f"{text}: the pattern matches no image or FITS file")
        return matches
    # a plain file, existing or not: a missing one becomes a failure, not a crash
    return [text]


def _read_manifest(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except Exception as error:  # pandas/pyarrow raise many types
        raise PipelineError(f"{path}: not a readable manifest ({type(error).__name__}: {error})") from error
    table.columns = [str(name).strip().lower() for name in table.columns]
    if "path" not in table.columns:
        raise PipelineError(f"{path}: a manifest needs a 'path' column (found: {', '.join(table.columns)})")
    unknown = [name for name in table.columns if name not in _MANIFEST_COLUMNS]
    table = table.drop(columns=unknown)
    # relative paths are relative to the manifest, like survey archives ship them
    table["path"] = [str(value) if os.path.isabs(str(value)) else str(path.parent / str(value))
                     for value in table["path"]]
    return table


def read_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> pd.DataFrame:
    """The cutouts of a run, in the order they are processed.

    Parameters
    ----------
    inputs : str, os.PathLike or iterable of them
        A manifest table (``.csv`` or ``.parquet`` with a ``path`` column
        and optional ``id``, ``ra``, ``dec``, ``band``, ``hdu``; relative
        paths are taken relative to the manifest), a folder (its image and
        FITS files, sorted by name), a glob pattern (``**`` recurses), a
        file, or a list mixing folders, patterns and files.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``id`` (unique; by default the file name without
        its extensions), ``ra``, ``dec`` (float, NaN when not given),
        ``band``, ``hdu`` (``None`` when not given).

    Raises
    ------
    galcolor.pipeline.PipelineError
        No inputs, an unreadable manifest, a pattern that matches nothing,
        or repeated ids in a manifest.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from galcolor.io import write_example_fits
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_example_fits(folder / "b.fits"), write_example_fits(folder / "a.fits")
    >>> read_inputs(folder)["id"].tolist()
    ['a', 'b']
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    frames: list[pd.DataFrame] = []
    for item in items:
        path = Path(item)
        if path.suffix.lower() in MANIFEST_SUFFIXES:
            if not path.is_file():
                raise PipelineError(f"{path}: manifest not found")
            frames.append(_read_manifest(path))
        else:
            frames.append(pd.DataFrame({"path": _expand(item)}))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"path": []})
    if table.empty:
        raise PipelineError(f"no cutouts to process in {', '.join(str(item) for item in items) or 'the inputs'}")
    table["path"] = table["path"].astype(str)
    given = table["id"] if "id" in table.columns else pd.Series([None] * len(table))
    defaults = cutout_ids(table["path"].tolist())
    table["id"] = [str(value) if _given(value) else default for value, default in zip(given, defaults)]
    repeated = table["id"][table["id"].duplicated()].unique().tolist()
    if repeated:
        raise PipelineError(f"repeated cutout id(s) in the inputs: {', '.join(map(str, repeated[:5]))}"
                            + (" ..." if len(repeated) > 5 else ""))
    for name in ("ra", "dec"):
        table[name] = pd.to_numeric(table[name], errors="coerce") if name in table.columns else np.nan
    bands = table["band"] if "band" in table.columns else [None] * len(table)
    hdus = table["hdu"] if "hdu" in table.columns else [None] * len(table)
    # object columns: None stays None (not NaN), HDUs may mix numbers and names
    table["band"] = pd.Series([str(value) if _given(value) else None for value in bands], dtype=object)
    table["hdu"] = pd.Series([_hdu_value(value) for value in hdus], dtype=object)
    return table[list(_MANIFEST_COLUMNS)].reset_index(drop=True)


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and str(value) != ""


def _hdu_value(value: Any) -> int | str | None:
    if not _given(value):
        return None
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        return text


def _fingerprint(table: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for row in table.itertuples(index=False):
        digest.update(json.dumps([row.path, row.id, _json_float(row.ra), _json_float(row.dec), row.band, row.hdu],
                                 default=str).encode())
    return digest.hexdigest()


def _describe_inputs(inputs: Any, limit: int = 10) -> list[str]:
    """The inputs as given, for the run record (a long list of files is cut short)."""
    items = [str(item) for item in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    return items if len(items) <= limit else items[:limit] + [f"... and {len(items) - limit} more"]


def _default_name(inputs: Any) -> str:
    """A run name from the first input: the manifest's or folder's name."""
    first = str(inputs if isinstance(inputs, (str, os.PathLike)) else next(iter(inputs), "run"))
    prefix = re.split(r"[*?\[]", first)[0]
    path = Path(prefix) if prefix else Path("run")
    if prefix and not prefix.endswith(("/", os.sep)) and not path.is_dir() and path != Path(first):
        path = path.parent  # "folder/gal*.fits": name it after the folder
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        return path.stem or "run"
    return (cutout_ids([path])[0] if path.is_file() else path.name) or "run"


def _json_float(value: Any) -> float | None:
    return plain_json(None if value is None else float(value))


# --------------------------------------------------------------------- workers

_WORKER_LOCK = threading.Lock()
_WORKER_STATE: dict[str, Any] = {"colorizers": {}, "model_loads": 0}


def _worker_colorizer(settings: dict[str, Any]):
    """The colorizer of this worker process: loaded by the first task, reused by the rest."""
    key = json.dumps(settings, sort_keys=True)
    with _WORKER_LOCK:
        colorizer = _WORKER_STATE["colorizers"].get(key)
        if colorizer is None:
            import torch

            from ._memory import limit_heap_growth
            from .colorizer import Colorizer

            limit_heap_growth()
            if settings.get("torch_threads"):
                torch.set_num_threads(int(settings["torch_threads"]))
            colorizer = Colorizer(settings["model"], device=settings["device"], tta=settings["tta"],
                                  stretch=settings["stretch"], batch_size=settings["network_batch"])
            _WORKER_STATE["colorizers"][key] = colorizer
            _WORKER_STATE["model_loads"] += 1
    return colorizer


def _memory_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    import resource

    import psutil

    current = psutil.Process().memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    if sys.platform == "darwin":
        peak /= 1024  # bytes on macOS
    return current, peak


def _galaxy_row(record: dict[str, Any], part: int) -> dict[str, Any]:
    return {"cutout_id": record["id"], "source": record["path"], "status": "ok", "n_regions": 0,
            "summed_score": 0.0, "mean_a": np.nan, "mean_b": np.nan,
            # _iter_batches gives None for a position the manifest does not have
            "ra": np.nan if record["ra"] is None else record["ra"],
            "dec": np.nan if record["dec"] is None else record["dec"],
            "part": part, "error_type": "", "error": ""}


def _fail(row: dict[str, Any], error: BaseException) -> None:
    row.update(status="failed", error_type=type(error).__name__, error=str(error) or repr(error),
               n_regions=0, summed_score=0.0, mean_a=np.nan, mean_b=np.nan)


def _color_summary(result, row: dict[str, Any]) -> None:
    galaxy = central_galaxy_mask(result.lightness, result.mask)
    if galaxy.any():
        row["mean_a"] = float(result.ab[..., 0][galaxy].mean())
        row["mean_b"] = float(result.ab[..., 1][galaxy].mean())
    if math.isnan(row["ra"]) and result.wcs is not None:
        height, width = result.shape
        try:
            sky = result.wcs.pixel_to_world((width - 1) / 2, (height - 1) / 2)
            row["ra"], row["dec"] = float(sky.icrs.ra.deg), float(sky.icrs.dec.deg)
        except Exception:  # a WCS that cannot be evaluated leaves NaN, as in the catalog
            pass


def _product_name(cutout_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", cutout_id) + "_galcolor.fits"


def process_part(part: int, records: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """Process one part of a run and write its files; the Dask task.

    Public so that a cluster's workers can import it; call
    :func:`run_pipeline` rather than this.

    Parameters
    ----------
    part : int
        The part number (names its files).
    records : list of dict
        Rows of :func:`read_inputs` (``path``, ``id``, ``ra``, ``dec``,
        ``band``, ``hdu``).
    settings : dict
        The run's parameters (built by :func:`run_pipeline`).

    Returns
    -------
    dict
        Counts, seconds, the worker, its model loads so far and its memory.

    Raises
    ------
    galcolor.pipeline.PipelineError
        With ``settings["strict"]``, when a cutout fails (the part is not
        written, so a rerun retries it).
    """
    started = time.perf_counter()
    colorizer = _worker_colorizer(settings["colorizer"])
    folder = Path(settings["parts"])
    rows = [_galaxy_row(record, part) for record in records]
    cutouts: dict[int, Any] = {}
    for index, record in enumerate(records):
        try:
            cutouts[index] = load(record["path"], band=record["band"] or settings["band"],
                                  hdu=record["hdu"] if record["hdu"] is not None else settings["hdu"],
                                  stretch=settings["colorizer"]["stretch"])
        except Exception as error:  # every failure is recorded; the run goes on
            _fail(rows[index], error)
    # the whole part in one colorize call; a cutout that fails is retried alone (galcolor.process)
    done = dict(zip(cutouts, process(list(cutouts.values()), colorizer=colorizer,
                                     params=RegionParameters(**settings["regions"]),
                                     batch_size=max(1, len(cutouts)))))
    del cutouts
    tables = []
    for index, entry in sorted(done.items()):
        row = rows[index]
        if not entry.ok:
            _fail(row, entry.error)
            continue
        result, table = entry.colorization, entry.regions
        try:
            _color_summary(result, row)
            if settings["products"]:
                result.to_fits(Path(settings["products"]) / _product_name(row["cutout_id"]), overwrite=True)
        except Exception as error:
            _fail(row, error)
            continue
        table["cutout_id"] = np.asarray([row["cutout_id"]] * len(table), dtype=str)
        # the schema's description: the table stays conformed, and merge takes it as it is
        table["cutout_id"].info.description = RUN_REGION_COLUMNS[-1].description
        row["n_regions"] = len(table)
        row["summed_score"] = float(np.sum(table["score"])) if len(table) else 0.0
        tables.append(table)
    del done
    failed = [row for row in rows if row["status"] == "failed"]
    if failed and settings["strict"]:
        first = failed[0]
        raise PipelineError(f"{first['source']}: {first['error_type']}: {first['error']} "
                            f"(strict run: {len(failed)} failure(s) in part {part})")
    regions = merge(tables, schema=RUN_REGION_COLUMNS)
    _write_part(regions, folder / f"{_PART.format(part)}.regions.parquet", part)
    galaxies = conform(QTable.from_pandas(pd.DataFrame(rows, columns=[column.name for column in GALAXY_COLUMNS])),
                       schema=GALAXY_COLUMNS)
    # the galaxies file marks the part done, so it is written last
    _write_part(galaxies, folder / f"{_PART.format(part)}.galaxies.parquet", part)
    current, peak = _memory_mb()
    return {"part": part, "n": len(records), "failed": len(failed), "regions": len(regions),
            "seconds": time.perf_counter() - started, "worker": f"{socket.gethostname()}:{os.getpid()}",
            "model_loads": _WORKER_STATE["model_loads"], "rss_mb": current, "peak_rss_mb": peak,
            "model": colorizer.model_name, "weights_sha256": colorizer.weights_sha256,
            "device": str(colorizer.device)}


def _write_part(table: QTable, path: Path, part: int) -> None:
    """One part file (a conformed table): its columns' values, written atomically with pyarrow.

    Part files are the run's own intermediate, read back by
    :func:`_read_parts`, which conforms them to the schema again. astropy's
    Parquet writer also serialises every column's description and unit into
    a YAML header, in pure Python: 40 ms of each part file, against 1 ms for
    the values.
    """
    import pyarrow
    import pyarrow.parquet

    arrays = {name: np.asarray(getattr(table[name], "value", table[name])) for name in table.colnames}
    data = pyarrow.table(arrays, metadata={"galcolor_part": json.dumps({"part": part})})
    with atomic_write(path) as temporary:
        pyarrow.parquet.write_table(data, temporary)


# --------------------------------------------------------------------- driver


def _done_parts(folder: Path, n_parts: int) -> set[int]:
    done = set()
    for path in folder.glob("part-*.galaxies.parquet"):
        match = re.fullmatch(r"part-(\d+)\.galaxies\.parquet", path.name)
        if match and int(match.group(1)) < n_parts:
            done.add(int(match.group(1)))
    return done


def _check_previous(record_path: Path, config: dict[str, Any]) -> dict[str, Any] | None:
    if not record_path.is_file():
        return None
    try:
        previous = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PipelineError(f"{record_path}: unreadable run record ({error}); remove the folder to start over") \
            from error
    old = previous.get("config", {})
    changed = sorted(key for key in set(old) | set(config) if old.get(key) != config.get(key))
    if changed:
        raise PipelineError(
            f"{record_path.parent} holds a run with different {', '.join(changed)}; "
            "rerun with the same inputs and parameters to resume, or choose another output folder")
    return previous


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_write(path) as temporary:
        temporary.write_text(json.dumps(data, indent=1, default=str) + "\n")


def _iter_batches(table: pd.DataFrame, batch_size: int, skip: set[int]) -> Iterator[tuple[int, list[dict]]]:
    for part, start in enumerate(range(0, len(table), batch_size)):
        if part in skip:
            continue
        records = table.iloc[start:start + batch_size].to_dict("records")
        yield part, [{**record, "ra": _json_float(record["ra"]), "dec": _json_float(record["dec"])}
                     for record in records]


def _run_local(batches, settings, threads: int) -> Iterator[dict[str, Any]]:
    """The same tasks, in this process (``workers=0``): for debugging and notebooks.

    PyTorch runs with the workers' thread count meanwhile, so that the
    numbers are those a one-thread worker computes.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for part, records in batches:
            yield process_part(part, records, settings)
    finally:
        torch.set_num_threads(before)


def _run_dask(batches, settings, client, max_in_flight) -> Iterator[dict[str, Any]]:
    """Submit parts with at most ``max_in_flight`` running or queued; yield results as they finish."""
    from distributed import as_completed

    iterator = iter(batches)
    pending = as_completed()

    def submit(part: int, records: list[dict]) -> None:
        pending.add(client.submit(process_part, part, records, settings, pure=False,
                                  key=f"galcolor-part-{settings['run_key']}-{part}"))

    try:
        for part, records in iterator:
            submit(part, records)
            if pending.count() >= max_in_flight:
                break
        for future in pending:
            try:
                yield future.result()
            finally:
                future.release()
            following = next(iterator, None)
            if following is not None:
                submit(*following)
    finally:
        for future in list(pending.futures):
            future.cancel()


def run_pipeline(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    output: str | os.PathLike | None = None,
    *,
    model: str | os.PathLike = "default",
    device: str = "auto",
    tta: bool = True,
    stretch: str = "auto",
    band: str | int | None = None,
    hdu: int | str | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    threads_per_worker: int = 1,
    scheduler: str | None = None,
    strict: bool = False,
    products: bool = False,
    min_significance: float = _REGION_DEFAULTS.min_significance,
    min_area: int = _REGION_DEFAULTS.min_area,
    min_score: float = _REGION_DEFAULTS.min_score,
    galaxies: str = _REGION_DEFAULTS.galaxies,
    candidates: str = _REGION_DEFAULTS.candidates,
    color_evidence: bool = _REGION_DEFAULTS.color_evidence,
    progress: bool = True,
) -> PipelineResult:
    """Colorize a survey's cutouts, find their star-forming regions and write catalogs.

    See the module docstring for how a run is organised and what it writes.

    Parameters
    ----------
    inputs : str, os.PathLike or iterable of them
        A manifest, folder, glob or files (:func:`read_inputs`).
    output : str or os.PathLike, optional
        The run folder (created). Default ``catalogs/<name>`` with the name
        of the first input (manifest or folder name without extension).
    model, device, tta, stretch
        As for :class:`galcolor.Colorizer`. ``model`` is a name or a weights
        file, which every worker must be able to read.
    band, hdu : optional
        Passed to :func:`galcolor.load` when the manifest gives none.
    batch_size : int, optional
        Cutouts per part (one Dask task); default 32.
    workers : int, optional
        Worker processes of the local cluster (default: the CPU cores over
        ``threads_per_worker``). ``0`` runs every part in this process,
        without Dask. Ignored with ``scheduler``.
    threads_per_worker : int, optional
        Threads per local worker (default 1); each task's PyTorch uses this
        many threads too, so workers × threads should not exceed the cores.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) to use
        instead of a local cluster. Its workers need galcolor installed and
        access to the input and output paths.
    strict : bool, optional
        Fail the run at the first failed cutout (default: record and go on).
    products : bool, optional
        Also write each cutout's color FITS product under ``products/``.
    min_significance, min_area, min_score, galaxies, candidates, color_evidence
        As for :func:`galcolor.find_star_forming_regions`.
    progress : bool, optional
        A tqdm bar over cutouts.

    Returns
    -------
    PipelineResult

    Raises
    ------
    galcolor.pipeline.PipelineError
        No inputs; the output folder holds a run with other inputs or
        parameters; a strict run met a failure; the model cannot be loaded.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from galcolor.io import write_example_fits
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for seed in range(3):
    ...     _ = write_example_fits(folder / "cutouts" / f"gal{seed}.fits", seed=seed)
    >>> result = run_pipeline(folder / "cutouts", folder / "run", workers=0, tta=False,
    ...                       batch_size=2, progress=False)
    >>> result.n_processed, result.n_failed
    (3, 0)
    >>> import pandas as pd
    >>> pd.read_parquet(result.galaxies)["status"].tolist()
    ['ok', 'ok', 'ok']
    """
    from tqdm import tqdm

    started = time.perf_counter()
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    if int(threads_per_worker) < 1:
        raise InputError(f"threads_per_worker must be at least 1, got {threads_per_worker}")
    if workers is not None and int(workers) < 0:
        raise InputError(f"workers must be 0 or more, got {workers}")
    if not isinstance(model, (str, os.PathLike)):
        raise InputError("the pipeline takes a model name or weights file (workers load it), "
                         f"not a {type(model).__name__}")
    table = read_inputs(inputs)
    if output is None:
        output = Path("catalogs") / _default_name(inputs)
    output = Path(output)
    parts_folder = output / "parts"
    parts_folder.mkdir(parents=True, exist_ok=True)
    products_folder = output / "products" if products else None
    if products_folder is not None:
        products_folder.mkdir(exist_ok=True)
    n_parts = math.ceil(len(table) / int(batch_size))
    # every parameter of the region finder, so that the run record can make the catalog again
    regions_options = RegionParameters(min_significance=float(min_significance), min_area=int(min_area),
                                       min_score=float(min_score), galaxies=galaxies, candidates=candidates,
                                       color_evidence=bool(color_evidence)).to_dict()
    config = {"inputs_sha256": _fingerprint(table), "n_inputs": len(table), "batch_size": int(batch_size),
              "model": str(model), "tta": bool(tta), "stretch": str(stretch), "band": band, "hdu": hdu,
              "regions": regions_options, "products": bool(products)}
    record_path = output / _RUN_RECORD
    previous = _check_previous(record_path, config)
    local = scheduler is None
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // int(threads_per_worker))
    settings = {
        "parts": str(parts_folder.resolve()), "products": str(products_folder.resolve()) if products_folder else None,
        "strict": bool(strict), "band": band, "hdu": hdu, "regions": regions_options,
        "run_key": config["inputs_sha256"][:12],
        "colorizer": {"model": str(model), "device": device, "tta": bool(tta), "stretch": stretch,
                      "network_batch": 8,
                      "torch_threads": int(threads_per_worker) if local and workers else None},
    }
    for stale in parts_folder.glob(".part-*.tmp-*"):
        stale.unlink(missing_ok=True)  # left by a killed run; never read
    done = _done_parts(parts_folder, n_parts)
    record: dict[str, Any] = {
        "galcolor_version": __version__, "config": config,
        "engine": ("in-process" if local and workers == 0 else
                   ("dask LocalCluster" if local else f"dask scheduler {scheduler}")),
        "workers": workers if local else None, "threads_per_worker": int(threads_per_worker) if local else None,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sessions": (previous or {}).get("sessions", 0) + 1,
        "inputs": _describe_inputs(inputs),
    }
    _write_json(record_path, {**record, "status": "running"})
    batches = _iter_batches(table, int(batch_size), done)
    remaining = int(len(table) - sum(min(int(batch_size), len(table) - part * int(batch_size)) for part in done))
    stats: list[dict[str, Any]] = []
    client = cluster = None
    computing = time.perf_counter()
    try:
        if remaining == 0:
            results = iter(())
        elif local and workers == 0:
            results = _run_local(batches, settings, int(threads_per_worker))
        else:
            import logging

            from distributed import Client, LocalCluster

            if local:
                import dask

                # Dask's statistical profiler keeps one call tree per second of work, up to
                # 1000 of them: ~80 MB per worker of memory that grew with run time.
                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    cluster = LocalCluster(n_workers=int(workers), threads_per_worker=int(threads_per_worker),
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.CRITICAL)
                client = Client(cluster)
            else:
                try:
                    client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
                except (OSError, TimeoutError) as error:
                    raise PipelineError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from error
            threads = sum(client.nthreads().values()) or 1
            results = _run_dask(batches, settings, client, max_in_flight=2 * threads)
        with tqdm(total=remaining, desc="pipeline", unit="cutout", disable=not progress,
                  smoothing=0.1) as bar:
            for item in results:
                stats.append(item)
                bar.update(item["n"])
                if item["failed"]:
                    bar.set_postfix(failed=sum(entry["failed"] for entry in stats))
    except PipelineError:
        _write_json(record_path, {**record, "status": "failed"})
        raise
    except Exception as error:  # a model that will not load, a worker killed by the OS, ...
        _write_json(record_path, {**record, "status": "failed"})
        raise PipelineError(f"pipeline run in {output} stopped: {type(error).__name__}: {error}; "
                            "finished parts are kept: rerun the same command to resume") from error
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    computed = time.perf_counter() - computing
    merged = _merge(output, parts_folder, n_parts, record)
    n_new = sum(item["n"] for item in stats)
    workers_seen: dict[str, dict[str, Any]] = {}
    for item in stats:
        entry = workers_seen.setdefault(item["worker"], {"parts": 0, "cutouts": 0, "model_loads": 0,
                                                         "peak_rss_mb": 0.0, "rss_mb_first": item["rss_mb"],
                                                         "rss_mb_last": 0.0, "memory_trace": []})
        entry["parts"] += 1
        entry["cutouts"] += item["n"]
        entry["model_loads"] = max(entry["model_loads"], item["model_loads"])
        entry["peak_rss_mb"] = max(entry["peak_rss_mb"], item["peak_rss_mb"])
        entry["rss_mb_last"] = item["rss_mb"]
        _trace(entry["memory_trace"], [entry["cutouts"], round(item["rss_mb"], 1)])
    speed = n_new / computed if n_new and computed > 0 else float("nan")
    models = sorted({(item["model"], item["weights_sha256"], item["device"]) for item in stats})
    previous_model = (previous or {}).get("model", {})
    record.update({
        "status": "complete", "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": ({"name": models[0][0], "weights_sha256": models[0][1], "device": models[0][2]}
                  if models else previous_model),
        "counts": {"inputs": len(table), "parts": n_parts, "parts_resumed": len(done),
                   "processed": merged["processed"], "failed": merged["failed"], "regions": merged["regions"]},
        "this_session": {"cutouts": n_new, "seconds": computed, "cutouts_per_second": speed,
                         "total_seconds": time.perf_counter() - started},
        "worker_stats": workers_seen,
        "products": {key: str(value) for key, value in merged["paths"].items()},
    })
    if len(models) > 1:
        record["warning"] = f"workers loaded different models: {models}"
    _write_json(record_path, record)
    return PipelineResult(
        output=output, regions=merged["paths"]["regions"], galaxies=merged["paths"]["galaxies"],
        failures=merged["paths"]["failures"], record=record_path, n_inputs=len(table),
        n_processed=merged["processed"], n_failed=merged["failed"], n_regions=merged["regions"],
        n_resumed_parts=len(done), seconds=time.perf_counter() - started, cutouts_per_second=speed,
        record_data=record)


def _trace(trace: list, point: list, limit: int = 400) -> None:
    """Append (cutouts done by the worker, resident MB after the part); halve the list when it reaches ``limit``."""
    trace.append(point)
    if len(trace) >= limit:
        del trace[1::2]


def _read_parts(paths: Sequence[Path], schema: Sequence[CatalogColumn]) -> QTable:
    """The part files of a run (written by :func:`process_part`), stacked in order and conformed to ``schema``.

    Read with pyarrow, columns only: astropy's Parquet reader parses each
    file's YAML header in pure Python, 60 ms for a part of 32 cutouts, which
    the merge paid serially after the workers were done; a part's metadata
    (its number) is not needed, the merged products get their own.
    """
    import pyarrow
    import pyarrow.parquet

    if not paths:
        return empty_table(schema=schema)
    names = [column.name for column in schema]
    # a part written before an optional column existed (a resumed run) lacks it: null there, NaN once conformed
    parts = [table.select([name for name in names if name in table.column_names])
             for table in (pyarrow.parquet.read_table(path) for path in paths)]
    stacked = pyarrow.concat_tables(parts, promote_options="default")
    return conform({name: stacked.column(name).to_numpy(zero_copy_only=False) for name in names
                    if name in stacked.column_names}, schema=schema)


def _merge(output: Path, parts_folder: Path, n_parts: int, record: dict[str, Any]) -> dict[str, Any]:
    """Join the parts into the run's products (atomically)."""
    missing = sorted(set(range(n_parts)) - _done_parts(parts_folder, n_parts))
    if missing:
        raise PipelineError(f"{len(missing)} part(s) of the run in {output} are not finished "
                            f"(first: {_PART.format(missing[0])}); rerun to complete them")
    galaxy_table = _read_parts([parts_folder / f"{_PART.format(part)}.galaxies.parquet" for part in range(n_parts)],
                               GALAXY_COLUMNS)
    galaxies = galaxy_table.to_pandas()
    regions = merge([_read_parts([parts_folder / f"{_PART.format(part)}.regions.parquet" for part in range(n_parts)],
                                 RUN_REGION_COLUMNS)], schema=RUN_REGION_COLUMNS)
    regions.meta = {"run": output.name, "galcolor_version": __version__,
                    "model": record.get("config", {}).get("model"),
                    "parameters": record.get("config", {}).get("regions"),
                    "n_cutouts": len(galaxies), "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    paths = {"regions": output / "regions.parquet", "regions_fits": output / "regions.fits",
             "galaxies": output / "galaxies.parquet", "galaxies_csv": output / "galaxies.csv",
             "failures": output / "failures.csv"}
    write(regions, paths["regions"], overwrite=True, schema=RUN_REGION_COLUMNS)
    write(regions, paths["regions_fits"], overwrite=True, schema=RUN_REGION_COLUMNS)
    galaxy_table.meta = {key: regions.meta[key] for key in ("run", "galcolor_version", "model", "parameters",
                                                              "n_cutouts", "created")}
    write(galaxy_table, paths["galaxies"], overwrite=True, schema=GALAXY_COLUMNS)
    write(galaxy_table, paths["galaxies_csv"], overwrite=True, schema=GALAXY_COLUMNS)
    failed = galaxies[galaxies["status"] == "failed"]
    failures = pd.DataFrame({"cutout_id": failed["cutout_id"], "path": failed["source"],
                             "error_type": failed["error_type"], "message": failed["error"]},
                            columns=list(FAILURE_COLUMNS))
    with atomic_write(paths["failures"]) as temporary:
        failures.to_csv(temporary, index=False)
    return {"paths": paths, "processed": int((galaxies["status"] == "ok").sum()), "failed": len(failed),
            "regions": len(regions)}


def read_run(output: str | os.PathLike) -> dict[str, Any]:
    """The run record (``run.json``) of a pipeline output folder.

    Parameters
    ----------
    output : str or os.PathLike
        The run folder.

    Returns
    -------
    dict

    Raises
    ------
    galcolor.pipeline.PipelineError
        No readable run record in the folder.

    Examples
    --------
    >>> import tempfile
    >>> read_run(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    galcolor.pipeline.PipelineError: ...run.json: no pipeline run record
    """
    path = Path(output) / _RUN_RECORD
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: no pipeline run record") from None
    except (OSError, json.JSONDecodeError) as error:
        raise PipelineError(f"{path}: unreadable run record ({error})") from error
