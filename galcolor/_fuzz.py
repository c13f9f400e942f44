"""Hostile inputs for galcolor's loaders, and the rule each outcome is judged by (issue 29).

:func:`cases` yields seeded cases: real FITS, JPEG and PNG files mutated as a
careless disk or a hostile user would (bit flips, truncation, spliced or
zeroed blocks, FITS header cards edited or made unparsable, NAXIS and
BSCALE/BLANK lies, a gzip or bz2 member cut short, a wrong suffix, an empty
file), files of formats the shared data lack, made from scratch and often
mutated too (:data:`SYNTHESIZED`: 16-bit and palette PNGs, CMYK and
progressive JPEGs, TIFFs of odd sample formats, a PNG declaring 20,000 x
20,000 pixels, a FITS header of 50,000 x 50,000 pixels without data), paths
that are no file (a directory, a symbolic link loop, a dangling link), and
arrays of odd shapes, dtypes and values (NaN, Inf, constant, huge).
:func:`run_case` puts one through :func:`galcolor.load` and sorts the
outcome: loaded, refused with a :class:`~galcolor.GalcolorError` naming the
file ("array input" for arrays), or a defect (an error of another type, a
message without the name, a warning without it, the input modified, a hang).
:func:`run_batch` puts a set of files through the batch tools (``galcolor
colorize`` and :func:`~galcolor.pipeline.run_pipeline`): the good ones
written, every bad one reported by name, the exit status and the failures
table right, and the region catalog read back whole.
``benchmarks/bench_fuzz.py`` runs thousands; the test suite runs a small
fixed sample.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import logging
import os
import signal
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .exceptions import GalcolorError

__all__ = ["FuzzCase", "cases", "run_case", "run_batch", "OUTCOMES", "DEFECTS", "SYNTHESIZED"]

#: Outcomes of a case; the last five are defects.
OUTCOMES = ("loaded", "refused", "foreign exception", "unnamed error", "unnamed warning", "input modified", "hang")
DEFECTS = OUTCOMES[2:]

_CARD = 80
_BLOCK = 2880


@dataclass
class FuzzCase:
    """One hostile input: a file written under ``folder`` or an array."""

    name: str
    mutation: str
    path: Path | None = None
    array: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _fits_card(text: str) -> bytes:
    return text.ljust(_CARD)[:_CARD].encode("ascii", "replace")


def _header_cards(data: bytes) -> int:
    """Number of 80-byte cards up to and including END in the first header (0 if none)."""
    for index in range(0, min(len(data), 40 * _BLOCK), _CARD):
        if data[index:index + 8] == b"END     ":
            return index // _CARD + 1
    return 0


def _mutate_bytes(data: bytes, rng: np.random.Generator, is_fits: bool) -> tuple[bytes, str]:
    """One random mutation of a file's bytes, and its name."""
    buffer = bytearray(data)
    choices = ["bitflip", "truncate", "splice", "zero", "suffix"]
    if is_fits:
        choices += ["card-garbage", "card-lie", "card-lie", "bscale"]
    else:
        choices += ["head-bitflip"]
    kind = str(rng.choice(choices))
    size = len(buffer)
    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 64))):
            position = int(rng.integers(0, size))
            buffer[position] ^= 1 << int(rng.integers(0, 8))
    elif kind == "head-bitflip":  # the decoder's tables: the first kilobytes
        for _ in range(int(rng.integers(1, 16))):
            position = int(rng.integers(0, min(size, 4096)))
            buffer[position] ^= 1 << int(rng.integers(0, 8))
    elif kind == "truncate":
        buffer = buffer[:int(rng.integers(0, size))]
    elif kind == "splice":
        length = int(rng.integers(1, max(2, size // 8)))
        source, target = (int(rng.integers(0, max(1, size - length))) for _ in range(2))
        buffer[target:target + length] = data[source:source + length]
    elif kind == "zero":
        length = int(rng.integers(1, max(2, size // 4)))
        start = int(rng.integers(0, max(1, size - length)))
        buffer[start:start + length] = bytes(length)
    elif kind in ("card-garbage", "card-lie", "bscale"):
        cards = _header_cards(data)
        if cards < 2:
            kind = "bitflip"
            buffer[int(rng.integers(0, size))] ^= 0xFF
        else:
            card = int(rng.integers(1, cards - 1))
            if kind == "card-garbage":
                text = "".join(chr(int(c)) for c in rng.integers(32, 127, _CARD))
            elif kind == "card-lie":
                key = str(rng.choice(["NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "BITPIX", "NAXIS1", "NAXIS2"]))
                value = str(rng.choice(["0", "-1", "50000", "7", "3.5", "'r'", "99999999", "16", "-64"]))
                text = f"{key:<8}= {value:>20}"
                # overwrite the card that holds this key, if any, else the chosen one
                for index in range(cards):
                    if data[index * _CARD:index * _CARD + 8].decode("ascii", "replace").strip() == key:
                        card = index
                        break
            else:
                text = str(rng.choice(["BSCALE  =                    0", "BSCALE  =                  nan",
                                       "BZERO   =                1E300", "BLANK   =                  'x'",
                                       "BLANK   =                    0", "BSCALE  =              -1E-300"]))
            buffer[card * _CARD:(card + 1) * _CARD] = _fits_card(text)
    return bytes(buffer), kind


def _array_case(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """An array of an odd shape, dtype or content."""
    kind = str(rng.choice(["shape", "dtype", "nan", "inf", "constant", "huge", "tiny", "negative", "rgb-range"]))
    side = int(rng.integers(1, 48))
    if kind == "shape":
        shapes = [(0,), (5,), (0, 5), (5, 0), (side, side, 4), (side, side, 1), (2, side, side),
                  (side, side, 3, 2), (1, 1), (1, side), (side, 1, 3)]
        shape = shapes[int(rng.integers(0, len(shapes)))]
        return rng.normal(size=shape), f"shape {shape}"
    if kind == "dtype":
        dtype = str(rng.choice(["bool", "complex128", "int64", "float16", "uint8", "uint16", "int8", "object"]))
        values = rng.integers(0, 200, (side, side))
        return values.astype(dtype), f"dtype {dtype}"
    image = rng.normal(10.0, 2.0, (side, side))
    if kind == "nan":
        image[rng.uniform(size=image.shape) < rng.uniform()] = np.nan
    elif kind == "inf":
        image[rng.uniform(size=image.shape) < rng.uniform()] = rng.choice([np.inf, -np.inf])
    elif kind == "constant":
        image[:] = float(rng.choice([0.0, 1.0, -5.0, 1e30]))
    elif kind == "huge":
        image *= 1e300
    elif kind == "tiny":
        image *= 1e-300
    elif kind == "negative":
        image = -np.abs(image)
    elif kind == "rgb-range":
        image = rng.normal(0.5, 2.0, (side, side, 3))
    return image, kind


#: Inputs made from scratch (formats and paths the shared files lack), often mutated after.
SYNTHESIZED = ("png 16-bit grey", "png 16-bit rgb", "png palette", "png grey+alpha", "jpeg cmyk",
               "jpeg progressive", "tiff float32", "tiff int16", "tiff complex", "tiff bilevel", "tiff float64 rgb",
               "tiff stack", "png 20000 x 20000", "fits 50000 x 50000 header without data", "directory",
               "symbolic link loop", "dangling symbolic link")


def _galaxy_image(rng: np.random.Generator) -> np.ndarray:
    """A small exponential blob with noise, values in [0, 1] (H, W)."""
    side = int(rng.integers(8, 96))
    y, x = np.mgrid[:side, :side]
    scale = float(rng.uniform(1.0, side / 3.0))
    image = np.exp(-np.hypot(x - side / 2.0, y - side / 2.0) / scale) + 0.02 * rng.normal(size=(side, side))
    return np.clip(image, 0.0, 1.0)


def _synthesize(kind: str, rng: np.random.Generator, stem: Path) -> Path:
    """Write one :data:`SYNTHESIZED` input next to ``stem``; return its path."""
    import png
    import tifffile
    from PIL import Image

    grey = _galaxy_image(rng)
    rgb = np.clip(grey[..., None] * rng.uniform(0.3, 1.2, 3), 0.0, 1.0)
    if kind == "png 16-bit grey":
        path = stem.with_suffix(".png")
        Image.fromarray((grey * 65535).astype(np.uint16)).save(path)
    elif kind == "png 16-bit rgb":
        path = stem.with_suffix(".png")
        with open(path, "wb") as stream:
            png.Writer(grey.shape[1], grey.shape[0], bitdepth=16, greyscale=False).write(
                stream, (rgb * 65535).astype(np.uint16).reshape(grey.shape[0], -1).tolist())
    elif kind in ("png palette", "png grey+alpha", "jpeg cmyk", "jpeg progressive"):
        image = Image.fromarray((rgb * 255).astype(np.uint8))
        path = stem.with_suffix(".jpg" if kind.startswith("jpeg") else ".png")
        if kind == "png palette":
            image.convert("P").save(path)
        elif kind == "png grey+alpha":
            image.convert("LA").save(path)
        elif kind == "jpeg cmyk":
            image.convert("CMYK").save(path)
        else:
            image.save(path, progressive=True)
    elif kind.startswith("tiff"):
        path = stem.with_suffix(".tif")
        data = {"tiff float32": grey.astype(np.float32), "tiff int16": (grey * 2000 - 300).astype(np.int16),
                "tiff complex": (grey + 1j * grey).astype(np.complex64), "tiff bilevel": grey > 0.3,
                "tiff float64 rgb": rgb.astype(np.float64),
                "tiff stack": np.stack([grey] * int(rng.integers(2, 6))).astype(np.float32)}[kind]
        tifffile.imwrite(path, data, photometric="rgb" if kind == "tiff float64 rgb" else "minisblack")
    elif kind == "png 20000 x 20000":  # a decompression bomb: a few kB declaring 400 million pixels
        path = stem.with_suffix(".png")
        Image.new("L", (20000, 20000)).save(path)
    elif kind == "fits 50000 x 50000 header without data":
        path = stem.with_suffix(".fits")
        cards = ["SIMPLE  =                    T", "BITPIX  =                  -32", "NAXIS   =                    2",
                 "NAXIS1  =                50000", "NAXIS2  =                50000", "END"]
        path.write_bytes(b"".join(_fits_card(card) for card in cards).ljust(_BLOCK, b" "))
    elif kind == "directory":
        path = stem.with_suffix(".fits")
        path.mkdir()
    elif kind == "symbolic link loop":
        path = stem.with_suffix(".fits")
        path.symlink_to(path.name)
    else:  # a link to a file that is not there
        path = stem.with_suffix(".jpg")
        path.symlink_to(stem.name + "-missing.jpg")
    return path


def cases(sources: Sequence[str | os.PathLike], folder: str | os.PathLike, n: int, *, seed: int = 0,
          array_share: float = 0.15, synthesized_share: float = 0.1) -> Iterator[FuzzCase]:
    """``n`` seeded hostile cases: mutated copies of ``sources`` written into ``folder``, synthesized inputs
    (:data:`SYNTHESIZED`, half of the files among them then mutated too) and arrays."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    originals = [(Path(path), Path(path).read_bytes()) for path in sources]
    for number in range(n):
        if rng.uniform() < array_share:
            array, mutation = _array_case(rng)
            yield FuzzCase(f"array-{number:05d}", f"array: {mutation}", array=array)
            continue
        if rng.uniform() < synthesized_share:
            kind = str(rng.choice(SYNTHESIZED))
            target = _synthesize(kind, rng, folder / f"case-{number:05d}")
            mutation = kind
            if target.is_file() and not target.is_symlink() and rng.uniform() < 0.5:
                mutated, how = _mutate_bytes(target.read_bytes(), rng, target.suffix == ".fits")
                if how != "suffix":
                    target.write_bytes(mutated)
                    mutation = f"{kind}, {how}"
            yield FuzzCase(target.name, f"synthesized: {mutation}", path=target,
                           meta={"sha256": _file_sha256(target)})
            continue
        path, data = originals[int(rng.integers(0, len(originals)))]
        suffix = "".join(path.suffixes[-2:]) if path.suffix in (".gz", ".bz2") else path.suffix
        is_fits = suffix.startswith(".fit")
        container = str(rng.choice(["plain"] * 6 + ["gzip", "bz2", "empty"]))
        if container == "empty":
            mutated, mutation = b"", "empty file"
        else:
            mutated, mutation = _mutate_bytes(data, rng, is_fits)
        if mutation == "suffix":  # the right bytes under the wrong name
            suffix = str(rng.choice([".fits", ".jpg", ".png", ".tiff", ".fits.gz"]))
            mutated = data
        if container == "gzip":
            mutated = gzip.compress(mutated)
            mutated = mutated[:int(rng.integers(1, len(mutated) + 1))]  # often cut short
            suffix, mutation = suffix + ".gz", mutation + ", gzip member cut short"
        elif container == "bz2":
            mutated = bz2.compress(mutated)
            mutated = mutated[:int(rng.integers(1, len(mutated) + 1))]
            suffix, mutation = suffix + ".bz2", mutation + ", bz2 stream cut short"
        target = folder / f"case-{number:05d}{suffix}"
        target.write_bytes(mutated)
        yield FuzzCase(target.name, f"{path.name}: {mutation}", path=target,
                       meta={"sha256": hashlib.sha256(mutated).hexdigest()})


def _file_sha256(path: Path) -> str | None:
    """The bytes' checksum of a regular file; None for a directory, a link or nothing."""
    if path.is_symlink() or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same(before: np.ndarray, after: np.ndarray) -> bool:
    try:
        return bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
    except TypeError:  # object arrays
        return bool(np.array_equal(before, after))


class _LogRecords(logging.Handler):
    """Log records of warning level or more that reach the root logger: a bare stderr line counts as a warning."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException, so that no ``except Exception`` of the loaders swallows it."""


def _alarm(signum, frame):  # pragma: no cover - only when a case hangs
    raise _Timeout()


def run_case(case: FuzzCase, *, timeout: int = 30, deep: bool = False, colorizer: Any = None) -> dict[str, Any]:
    """Load one case (and, with ``deep``, colorize it and search it for regions); return its outcome.

    The outcome is ``loaded`` or ``refused`` when galcolor behaved, else the
    first defect seen (:data:`DEFECTS`), with the exception or warning.
    """
    from .io import load

    name = case.name if case.path is None else str(case.path)
    expected = "array input" if case.array is not None else name
    before = None if case.array is None else case.array.copy()
    record: dict[str, Any] = {"case": case.name, "mutation": case.mutation, "outcome": "loaded", "detail": ""}
    handler = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    logged = _LogRecords()
    logging.getLogger().addHandler(logged)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                cutout = load(case.path if case.array is None else case.array)
                if deep:
                    from .regions import find_star_forming_regions

                    result = colorizer.colorize_cutouts([cutout])[0]
                    find_star_forming_regions(result)
            except GalcolorError as error:
                message = str(error)
                named = expected in message or (case.path is not None and case.path.name in message)
                record.update(outcome="refused" if named else "unnamed error",
                              detail=f"{type(error).__name__}: {message}"[:300])
            except _Timeout:
                record.update(outcome="hang", detail=f"over {timeout} s")
            except Exception as error:  # noqa: BLE001 - what the harness is looking for
                record.update(outcome="foreign exception", detail=f"{type(error).__name__}: {error}"[:300])
        if record["outcome"] in ("loaded", "refused"):
            said = [(warning.category.__name__, str(warning.message)) for warning in caught]
            said += [(f"log {entry.name}", entry.getMessage()) for entry in logged.records]
            for category, text in said:
                if expected not in text and (case.path is None or case.path.name not in text):
                    record.update(outcome="unnamed warning", detail=f"{category}: {text}"[:300])
                    break
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, handler)
        logging.getLogger().removeHandler(logged)
    if case.path is not None and _file_sha256(case.path) != case.meta.get("sha256"):
        record.update(outcome="input modified", detail="the file's bytes changed")
    if before is not None and not _same(before, case.array):
        record.update(outcome="input modified", detail="the array changed")
    return record


def run_batch(paths: Sequence[str | os.PathLike], folder: str | os.PathLike, *, refused: Sequence[str] = (),
              model: str = "default", timeout: int = 900, catalog_cases: int = 40, seed: int = 0) -> dict[str, Any]:
    """Put a mix of good and bad files through ``galcolor colorize`` and :func:`~galcolor.pipeline.run_pipeline`.

    The contract checked: every file ``refused`` by :func:`run_case` is
    reported by name (a ``FAILED`` line of the command; a row of
    ``failures.csv``), every file not reported has its product, the exit
    status is 1 exactly when something failed, nothing else reaches stderr
    (no traceback, no bare warning line), the run's counts add up and its
    region catalog reads back with as many rows as the run says; then
    ``catalog_cases`` mutated copies of that catalog (FITS, Parquet, ECSV)
    are read with :func:`galcolor.catalog.read`: each read, or refused with
    a galcolor error naming it, and any warning naming it. Folders among
    ``paths`` are left to the command (``run_pipeline`` reads folders).

    Returns
    -------
    dict
        ``n_files``, and ``problems``: one line per broken promise (empty:
        none).
    """
    import subprocess
    import sys

    import pandas as pd

    from . import catalog
    from .pipeline import cutout_ids, run_pipeline

    folder = Path(folder)
    paths = [Path(path) for path in paths]
    problems: list[str] = []
    out = folder / "colorize"
    command = [sys.executable, "-m", "galcolor", "colorize", *map(str, paths), "-o", str(out), "--no-tta",
               "--quiet", "--format", "fits", "--model", model]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("galcolor colorize: FAILED ")]
    for line in lines:
        if not line.startswith("galcolor"):
            problems.append(f"colorize: stray stderr line: {line[:200]}")
    reported = {path for path in paths if any(f"FAILED {path}:" in line for line in failed)}
    for path, stem in zip(paths, cutout_ids(paths)):  # the command's own product names
        if path.name in refused and path not in reported:
            problems.append(f"colorize: {path.name} was refused by load but not reported")
        product = out / f"{stem}_galcolor.fits"
        if path not in reported and not product.is_file():
            problems.append(f"colorize: {path.name} neither reported nor written")
    if done.returncode != (1 if failed else 0):
        problems.append(f"colorize: exit status {done.returncode} with {len(failed)} failure(s)")
    files = [path for path in paths if not path.is_dir()]
    try:
        result = run_pipeline(files, folder / "pipeline", model=model, tta=False, workers=0, progress=False)
    except Exception as error:  # noqa: BLE001 - a crash of the batch tool is what is looked for
        problems.append(f"run_pipeline raised {type(error).__name__}: {error}"[:300])
        return {"n_files": len(paths), "problems": problems}
    failures = pd.read_csv(result.failures)
    listed = set(failures["path"].astype(str))
    for path in files:
        if path.name in refused and str(path) not in listed:
            problems.append(f"run_pipeline: {path.name} was refused by load but is not in failures.csv")
    if result.n_processed + result.n_failed != result.n_inputs:
        problems.append(f"run_pipeline: {result.n_processed} processed + {result.n_failed} failed "
                        f"!= {result.n_inputs} inputs")
    if len(failures) != result.n_failed:
        problems.append(f"run_pipeline: {len(failures)} rows in failures.csv, {result.n_failed} failed")
    regions = catalog.read(result.regions)  # a run's regions: RUN_REGION_COLUMNS, with cutout_id
    if len(regions) != result.n_regions:
        problems.append(f"run_pipeline: the catalog reads back {len(regions)} rows of {result.n_regions}")
    rng = np.random.default_rng(seed)
    written = {}
    for suffix in (".fits", ".parquet", ".ecsv"):
        written[suffix] = catalog.write(regions, folder / f"catalog{suffix}",
                                        schema=catalog.RUN_REGION_COLUMNS).read_bytes()
    for number in range(catalog_cases):
        suffix = str(rng.choice(sorted(written)))
        data, mutation = _mutate_bytes(written[suffix], rng, suffix == ".fits")
        target = folder / f"catalog-case-{number:03d}{suffix}"
        target.write_bytes(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                catalog.read(target)
            except GalcolorError as error:
                if target.name not in str(error):
                    problems.append(f"catalog.read ({mutation}): an error without the file name: {error}"[:300])
            except Exception as error:  # noqa: BLE001 - what the harness is looking for
                problems.append(f"catalog.read ({mutation}): {type(error).__name__}: {error}"[:300])
        for warning in caught:
            if target.name not in str(warning.message):
                problems.append(f"catalog.read ({mutation}): a warning without the file name: "
                                f"{warning.message}"[:300])
                break
    return {"n_files": len(paths), "catalog_cases": catalog_cases, "problems": problems}
