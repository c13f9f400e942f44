"""Hostile inputs for galcolor's loaders, and the rule each outcome is judged by (issue 29).

:func:`cases` yields seeded cases: real FITS, JPEG and PNG files mutated as a
careless disk or a hostile user would (bit flips, truncation, spliced or
zeroed blocks, FITS header cards edited or made unparsable, NAXIS and
BSCALE/BLANK lies, a gzip or bz2 member cut short, a wrong suffix, an empty
file) and arrays of odd shapes, dtypes and values (NaN, Inf, constant,
huge). :func:`run_case` puts one through :func:`galcolor.load` and sorts the
outcome: loaded, refused with a :class:`~galcolor.GalcolorError` naming the
file ("array input" for arrays), or a defect (an error of another type, a
message without the name, a warning without it, the input modified, a hang).
``benchmarks/bench_fuzz.py`` runs thousands; the test suite runs a small
fixed sample.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import signal
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .exceptions import GalcolorError

__all__ = ["FuzzCase", "cases", "run_case", "OUTCOMES", "DEFECTS"]

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


def cases(sources: Sequence[str | os.PathLike], folder: str | os.PathLike, n: int, *, seed: int = 0,
          array_share: float = 0.15) -> Iterator[FuzzCase]:
    """``n`` seeded hostile cases: mutated copies of ``sources`` written into ``folder``, and arrays."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    originals = [(Path(path), Path(path).read_bytes()) for path in sources]
    for number in range(n):
        if rng.uniform() < array_share:
            array, mutation = _array_case(rng)
            yield FuzzCase(f"array-{number:05d}", f"array: {mutation}", array=array)
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


def _same(before: np.ndarray, after: np.ndarray) -> bool:
    try:
        return bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
    except TypeError:  # object arrays
        return bool(np.array_equal(before, after))


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
            for warning in caught:
                text = str(warning.message)
                if expected not in text and (case.path is None or case.path.name not in text):
                    record.update(outcome="unnamed warning",
                                  detail=f"{warning.category.__name__}: {text}"[:300])
                    break
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, handler)
    if case.path is not None and case.path.exists():
        if hashlib.sha256(case.path.read_bytes()).hexdigest() != case.meta.get("sha256"):
            record.update(outcome="input modified", detail="the file's bytes changed")
    if before is not None and not _same(before, case.array):
        record.update(outcome="input modified", detail="the array changed")
    return record
