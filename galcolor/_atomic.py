"""Atomic file writes: a reader never sees a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place on success.

    The temporary file lives in the same directory, so the final
    :func:`os.replace` is atomic on POSIX and Windows. On an exception the
    temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(target) as temporary:
    ...     _ = temporary.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the extension (".png", ".fits.gz"): writers choose formats by it.
    compressed = path.suffix.lower() in (".gz", ".bz2")
    suffix = "".join(path.suffixes[-2:]) if compressed else path.suffix
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    temporary.unlink()  # writers such as astropy refuse to overwrite
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
