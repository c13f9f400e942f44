"""Plain JSON values from numpy and Python data: the one sanitiser of galcolor's JSON records."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np

__all__ = ["plain_json", "read_json"]


def plain_json(value: Any) -> Any:
    """A copy of ``value`` that :func:`json.dumps` writes as strict JSON.

    numpy scalars and arrays become Python numbers and lists, tuples become
    lists, paths become strings, and NaN and infinities become None (JSON has
    no NaN; ``json.dumps`` would write a non-standard ``NaN``).

    Examples
    --------
    >>> import numpy as np
    >>> from galcolor._json import plain_json
    >>> plain_json({"a": np.float32(1.5), "b": (np.nan, 2), "c": np.arange(2)})
    {'a': 1.5, 'b': [None, 2], 'c': [0, 1]}
    """
    if isinstance(value, Mapping):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain_json(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@functools.lru_cache(maxsize=16)  # shipped calibrations are read once per process, not once per image
def read_json(path: str) -> Any:
    """The parsed JSON file at ``path`` (cached by path: for files that do not change while galcolor runs)."""
    return json.loads(Path(path).read_text())
