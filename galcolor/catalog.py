"""The star-forming-region catalog: one schema, written and read in five formats.

A region catalog is an astropy :class:`~astropy.table.QTable` with the columns
of :data:`REGION_COLUMNS`, in that order, with their dtypes, units and
descriptions. Every writer goes through :func:`conform`, so every file galcolor
writes has the same columns whatever the format:

=========  ==========================  ==========================================
format     extensions                  where ``table.meta`` goes
=========  ==========================  ==========================================
fits       ``.fits``, ``.fits.gz``     JSON in the ``GCMETA`` header keyword
ecsv       ``.ecsv``                   the ECSV YAML header (native)
votable    ``.xml``, ``.vot``,         JSON in ``<INFO name="galcolor-meta">``
           ``.votable``
parquet    ``.parquet``                the Parquet schema metadata (native)
csv        ``.csv``                    JSON on a ``# galcolor-meta: ...`` line
=========  ==========================  ==========================================

Metadata may hold nested dicts and lists of str, int, float, bool and None;
:func:`read` gives back the dict that was written, in every format. Sky
positions are plain ``ra``/``dec`` float columns, never
:class:`~astropy.coordinates.SkyCoord` mixins, so that every format holds them.

Examples
--------
>>> import pathlib, tempfile
>>> from galcolor import catalog
>>> regions = catalog.empty_table(meta={"color": "predicted", "parameters": {"nsigma": 3.0}})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "regions.fits"
>>> catalog.write(regions, path).name
'regions.fits'
>>> back = catalog.read(path)
>>> back.colnames == [column.name for column in catalog.REGION_COLUMNS]
True
>>> back.meta
{'color': 'predicted', 'parameters': {'nsigma': 3.0}}
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import astropy.units as u
import numpy as np
from astropy.io import votable
from astropy.io.votable.tree import Info
from astropy.table import Column, QTable, Table

from ._atomic import atomic_write
from .exceptions import FileFormatError, InputError, warnings_named

__all__ = [
    "CatalogColumn",
    "REGION_COLUMNS",
    "RUN_REGION_COLUMNS",
    "GALAXY_COLUMNS",
    "RegionFlag",
    "FORMATS",
    "empty_table",
    "conform",
    "merge",
    "write",
    "read",
]


@dataclass(frozen=True)
class CatalogColumn:
    """One column of the region-catalog schema.

    Parameters
    ----------
    name : str
        Column name.
    dtype : numpy.dtype
        Storage type; text columns use ``dtype('<U')``, text of any length.
    unit : astropy.units.UnitBase or None
        Unit of the values; None for dimensionless numbers and text.
    description : str
        One sentence, stored on the column as ``column.info.description``.
    optional : bool, optional
        A float column added to the schema after catalogs were written
        without it: :func:`conform` fills it with NaN where a table lacks it,
        so that older catalogs still read.

    Examples
    --------
    >>> column = REGION_COLUMNS[3]
    >>> column.name, column.dtype, column.unit
    ('x', dtype('float64'), Unit("pix"))
    """

    name: str
    dtype: np.dtype
    unit: u.UnitBase | None
    description: str
    optional: bool = False


_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)
_FLOAT64 = np.dtype(np.float64)
_TEXT = np.dtype(str)

#: The region-catalog schema, in column order: the one definition every
#: writer uses (catalogs/README.md documents it).
REGION_COLUMNS: tuple[CatalogColumn, ...] = (
    CatalogColumn("id", _INT64, None, "Region number, unique within the catalog (1-based)."),
    CatalogColumn(
        "galaxy_id", _INT64, None, "Number of the host galaxy within its image (1 = main/central galaxy)."
    ),
    CatalogColumn("source", _TEXT, None, "Input file or description of the image the region was found in."),
    CatalogColumn("x", _FLOAT64, u.pix, "Pixel x (column) of the region centroid, 0-based."),
    CatalogColumn("y", _FLOAT64, u.pix, "Pixel y (row) of the region centroid, 0-based."),
    CatalogColumn(
        "ra", _FLOAT64, u.deg, "ICRS right ascension of the centroid (NaN when the image has no WCS)."
    ),
    CatalogColumn(
        "dec", _FLOAT64, u.deg, "ICRS declination of the centroid (NaN when the image has no WCS)."
    ),
    CatalogColumn("area", _FLOAT64, u.pix**2, "Area of the segment the region was found in (of a knot of light, "
                  "the whole segment of light, beyond the core where it is measured)."),
    CatalogColumn(
        "flux_fraction",
        _FLOAT64,
        None,
        "Fraction of the host galaxy's light in the region (background-subtracted, relative luminance).",
    ),
    CatalogColumn("r_gal", _FLOAT64, u.pix, "Galactocentric distance of the centroid."),
    CatalogColumn(
        "r_gal_norm", _FLOAT64, None, "Galactocentric distance in units of the galaxy's half-light radius."
    ),
    CatalogColumn("a_mean", _FLOAT64, None, "Mean CIELAB a* over the region."),
    CatalogColumn("a_err", _FLOAT64, None, "Uncertainty of a_mean."),
    CatalogColumn("b_mean", _FLOAT64, None, "Mean CIELAB b* over the region."),
    CatalogColumn("b_err", _FLOAT64, None, "Uncertainty of b_mean."),
    CatalogColumn(
        "blue_excess",
        _FLOAT64,
        None,
        "Local disk b* minus the region's b* (positive = bluer than the disk around it).",
    ),
    CatalogColumn(
        "significance",
        _FLOAT64,
        None,
        "Blue excess over its uncertainty (peak of the significance map in the segment).",
    ),
    CatalogColumn(
        "a_excess",
        _FLOAT64,
        None,
        "Local disk a* minus the region's a* (positive = less red than the disk around it).",
    ),
    CatalogColumn(
        "mirror_blue_excess",
        _FLOAT64,
        None,
        "b* at the region's point-symmetric counterpart in its galaxy minus the region's (positive = bluer than "
        "what lies beneath it at the same radius; the local disk's where there is no counterpart).",
        optional=True,
    ),
    CatalogColumn(
        "mirror_a_excess",
        _FLOAT64,
        None,
        "a* at the region's point-symmetric counterpart minus the region's (positive = less red).",
        optional=True,
    ),
    CatalogColumn(
        "light_significance",
        _FLOAT64,
        None,
        "Lightness contrast over its noise (peak in the segment): how clearly the region is a knot of light.",
    ),
    CatalogColumn(
        "contrast", _FLOAT64, None, "Peak of the region's luminance over the smooth galaxy model beneath it, minus 1."
    ),
    CatalogColumn(
        "size_psf", _FLOAT64, None, "FWHM of the light of the segment the region was found in (second moments of its "
        "contrast) over the PSF FWHM."
    ),
    CatalogColumn("elongation", _FLOAT64, None,
                  "Major over minor axis of the light of the segment the region was found in (1 = round)."),
    CatalogColumn(
        "origin", _INT32, None, "How the candidate was found (bits): 1 knot in the light, 2 blue patch in the color."
    ),
    CatalogColumn(
        "score", _FLOAT64, None, "Calibrated probability in [0, 1] that the region is a star-forming clump."
    ),
    CatalogColumn(
        "flags",
        _INT32,
        None,
        "Bit flags (RegionFlag): 1 EDGE, 2 MASKED, 4 DEBLENDED, 8 NUCLEUS, 16 LOW_SNR_COLOR.",
    ),
)

#: The regions of a pipeline run (``regions.parquet``/``.fits``): every
#: column of :data:`REGION_COLUMNS`, then the cutout each region belongs to.
RUN_REGION_COLUMNS: tuple[CatalogColumn, ...] = REGION_COLUMNS + (
    CatalogColumn("cutout_id", _TEXT, None,
                  "Cutout the region was found in (the cutout_id of the run's galaxies table)"),
)

#: The per-galaxy summary of a pipeline run (``galaxies.parquet``/``.csv``), one
#: row per cutout, in column order.
GALAXY_COLUMNS: tuple[CatalogColumn, ...] = (
    CatalogColumn("cutout_id", _TEXT, None, "Cutout id: the manifest's id, else the file name without its extensions"),
    CatalogColumn("source", _TEXT, None, "Input file"),
    CatalogColumn("status", _TEXT, None, "'ok', or 'failed' (see error_type and error)"),
    CatalogColumn("n_regions", _INT64, None, "Number of star-forming-region candidates in the catalog"),
    CatalogColumn("summed_score", _FLOAT64, None, "Sum of the candidates' scores: the expected number of real clumps"),
    CatalogColumn("mean_a", _FLOAT64, None, "Mean predicted CIELAB a* over the central galaxy (L > 15)"),
    CatalogColumn("mean_b", _FLOAT64, None, "Mean predicted CIELAB b* over the central galaxy (L > 15)"),
    CatalogColumn("ra", _FLOAT64, u.deg,
                  "Right ascension [deg]: the manifest's, else the WCS at the cutout centre (NaN: none)"),
    CatalogColumn("dec", _FLOAT64, u.deg,
                  "Declination [deg]: the manifest's, else the WCS at the cutout centre (NaN: none)"),
    CatalogColumn("part", _INT64, None, "Number of the part (batch) that processed the cutout"),
    CatalogColumn("error_type", _TEXT, None, "Exception class for a failed cutout (empty when ok)"),
    CatalogColumn("error", _TEXT, None, "Error message for a failed cutout (empty when ok)"),
)


class RegionFlag(enum.IntFlag):
    """Bit flags of the ``flags`` column of a region catalog.

    Attributes
    ----------
    EDGE : 1
        The segment touches the image edge or the galaxy-mask boundary.
    MASKED : 2
        The segment contains masked input pixels.
    DEBLENDED : 4
        The region was split off by deblending.
    NUCLEUS : 8
        The region lies within one PSF FWHM of the galaxy centre.
    LOW_SNR_COLOR : 16
        The color uncertainty is larger than the blue excess.

    Examples
    --------
    >>> import numpy as np
    >>> flags = np.array([0, RegionFlag.EDGE | RegionFlag.NUCLEUS, RegionFlag.NUCLEUS], dtype=np.int32)
    >>> int(flags[1])
    9
    >>> ((flags & RegionFlag.NUCLEUS) != 0).tolist()
    [False, True, True]
    >>> RegionFlag.EDGE in RegionFlag(int(flags[1]))
    True
    """

    EDGE = 1
    MASKED = 2
    DEBLENDED = 4
    NUCLEUS = 8
    LOW_SNR_COLOR = 16


#: Catalog formats and the file extensions that select them (lower case).
FORMATS: dict[str, tuple[str, ...]] = {
    "fits": (".fits", ".fits.gz"),
    "ecsv": (".ecsv",),
    "votable": (".xml", ".vot", ".votable"),
    "parquet": (".parquet",),
    "csv": (".csv",),
}

# The names astropy's unified I/O registry uses, also accepted as format=.
_ASTROPY_FORMATS = {
    "fits": "fits",
    "ecsv": "ascii.ecsv",
    "votable": "votable",
    "parquet": "parquet",
    "csv": "ascii.csv",
}

# Where metadata goes in the formats that cannot hold nested dicts themselves:
# the FITS header keyword, and the CSV comment prefix / VOTable INFO name.
_FITS_META_KEY = "GCMETA"
_META_NAME = "galcolor-meta"

# Header keywords astropy passes into ``meta`` that describe the FITS file,
# not the catalog; dropped when reading a FITS table galcolor did not write.
_FITS_HOUSEKEEPING = frozenset(
    {"EXTNAME", "EXTVER", "EXTLEVEL", "INHERIT", "CHECKSUM", "DATASUM", "comments", "history"}
)


def empty_table(meta: Mapping[str, Any] | None = None, *,
                schema: Sequence[CatalogColumn] = REGION_COLUMNS) -> QTable:
    """A region catalog with no rows: every schema column, typed and described.

    Parameters
    ----------
    meta : mapping, optional
        Catalog metadata (copied), e.g. ``{"model": ..., "parameters": {...}}``.

    Returns
    -------
    astropy.table.QTable
        Zero rows, the columns of :data:`REGION_COLUMNS` in order.

    Examples
    --------
    >>> regions = empty_table(meta={"color": "true"})
    >>> len(regions), regions.colnames[:4]
    (0, ['id', 'galaxy_id', 'source', 'x'])
    >>> regions["ra"].unit, regions["flags"].dtype, regions.meta
    (Unit("deg"), dtype('int32'), {'color': 'true'})
    """
    catalog = conform({column.name: np.zeros(0, dtype=column.dtype) for column in schema}, schema=schema)
    catalog.meta.update(copy.deepcopy(dict(meta or {})))
    return catalog


def conform(table: Table | Mapping[str, Any], *, extra: Literal["error", "keep"] = "error",
            schema: Sequence[CatalogColumn] = REGION_COLUMNS) -> QTable:
    """A new region catalog with exactly the schema's columns, types and units.

    Columns are put in schema order and cast to the schema dtypes; values with
    a unit are converted to the schema unit and plain columns get it attached;
    descriptions are set from :data:`REGION_COLUMNS`; ``meta`` is copied.
    Missing values of a masked column become NaN (floats) or ``""`` (text);
    an optional column (:attr:`CatalogColumn.optional`) the table lacks is NaN.

    Parameters
    ----------
    table : astropy.table.Table, astropy.table.QTable or mapping
        The regions, or their columns by name (arrays or Quantities of one
        length; the catalog then has no ``meta``). Column order does not
        matter.
    extra : {"error", "keep"}, optional
        What to do with columns that are not in the schema: raise (default),
        or keep them, unchanged, after the schema columns.
    schema : sequence of CatalogColumn, optional
        :data:`REGION_COLUMNS` (default) or :data:`GALAXY_COLUMNS`.

    Returns
    -------
    astropy.table.QTable
        A new table; ``table`` is not modified.

    Raises
    ------
    galcolor.InputError
        A schema column is missing, has a unit that does not convert to the
        schema unit, holds values its dtype cannot (non-integers or missing
        values in an integer column, text in a number column), or ``table``
        has extra columns and ``extra="error"``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.table import QTable
    >>> row = {column.name: [0] for column in REGION_COLUMNS}
    >>> row.update(source=["ngc628.fits"], ra=[0.5] * u.rad)
    >>> regions = conform(QTable(row))
    >>> regions["ra"].round(4), regions["x"].unit, regions["id"].dtype
    (<Quantity [28.6479] deg>, Unit("pix"), dtype('int64'))
    """
    if isinstance(table, Table):
        colnames, meta, length = table.colnames, table.meta, len(table)
    elif isinstance(table, Mapping):
        lengths = {len(np.atleast_1d(values)) for values in table.values()}
        if len(lengths) > 1:
            raise InputError(f"the columns have different lengths: {sorted(lengths)}")
        colnames, meta, length = list(table), {}, (lengths.pop() if lengths else 0)
    else:
        raise InputError(f"expected an astropy Table or QTable or a mapping of columns, got {type(table).__name__}")
    if extra not in ("error", "keep"):
        raise InputError(f"extra must be 'error' or 'keep', got {extra!r}")
    names = [column.name for column in schema]
    missing = [column.name for column in schema if column.name not in colnames and not column.optional]
    if missing:
        raise InputError(f"missing catalog column(s): {', '.join(missing)}")
    extras = [name for name in colnames if name not in names]
    if extras and extra == "error":
        raise InputError(
            f"column(s) not in the catalog schema: {', '.join(extras)} "
            "(pass extra='keep' to keep them)"
        )
    columns = []
    for column in schema:
        if column.name not in colnames:  # optional, and the table predates it
            columns.append(np.full(length, np.nan, dtype=column.dtype) * (column.unit or 1))
        else:
            columns.append(_conform_column(table[column.name], column))
    # one constructor for all columns: adding them one by one costs more than the catalog's numbers
    catalog = QTable(columns + [copy.deepcopy(table[name]) for name in extras], names=names + extras,
                     meta=copy.deepcopy(dict(meta)), copy=False)
    for column in schema:
        catalog[column.name].info.description = column.description
    return catalog


def merge(tables: Sequence[Table], *, meta: Mapping[str, Any] | None = None,
          extra: Literal["error", "keep"] = "error", schema: Sequence[CatalogColumn] = REGION_COLUMNS) -> QTable:
    """Stack region catalogs of many images into one, ids renumbered 1..N.

    Each row keeps its ``source``; the metadata is that of the first table
    (model, weights, parameters), with ``source`` replaced by the number of
    inputs and the per-input sources listed under ``sources``, updated with
    ``meta``. ``extra`` and ``schema`` (:data:`REGION_COLUMNS`, or
    :data:`RUN_REGION_COLUMNS` for regions that name their cutout) are
    passed to :func:`conform`.

    Examples
    --------
    >>> from galcolor.catalog import empty_table, merge
    >>> merged = merge([empty_table({"source": "a.fits"}), empty_table({"source": "b.fits"})])
    >>> len(merged), merged.meta["sources"]
    (0, ['a.fits', 'b.fits'])
    """
    from astropy.table import vstack

    # a catalog of find_star_forming_regions is conformed already: checked (cheaper than conforming it), so that
    # every table holds the schema's dtypes and units before its columns are stacked
    conformed = [table if _conforms(table, extra, schema) else conform(table, extra=extra, schema=schema)
                 for table in tables]
    names = [column.name for column in schema]
    if conformed and all(table.colnames == names for table in conformed):
        # schema columns only: stacked column by column and built once. vstack also merges every table's
        # metadata (deep copies), which the merged catalog replaces below: a pipeline part paid for it per row.
        merged = conform({name: np.concatenate([table[name] for table in conformed]) for name in names},
                         schema=schema)
    else:
        merged = vstack(conformed, metadata_conflicts="silent") if conformed else empty_table(schema=schema)
        merged = merged if _conforms(merged, extra, schema) else conform(merged, extra=extra, schema=schema)
    merged["id"] = np.arange(1, len(merged) + 1, dtype=np.int64)
    first = dict(conformed[0].meta) if conformed else {}
    first.pop("source", None)
    merged.meta.clear()
    merged.meta.update(first)
    merged.meta["sources"] = [str(table.meta.get("source", "")) for table in conformed]
    merged.meta["source"] = f"{len(conformed)} image(s)"
    merged.meta.update(meta or {})
    return merged


def write(
    table: Table,
    path: str | Path,
    *,
    format: str | None = None,
    overwrite: bool = False,
    extra: Literal["error", "keep"] = "error",
    schema: Sequence[CatalogColumn] = REGION_COLUMNS,
) -> Path:
    """Write a region catalog, atomically, in any of the :data:`FORMATS`.

    The table is passed through :func:`conform` first, so every file has the
    schema's columns, dtypes, units and descriptions. A reader never sees a
    half-written file: the catalog is written beside ``path`` and moved into
    place when complete.

    Parameters
    ----------
    table : astropy.table.Table or astropy.table.QTable
        The regions, with the columns of :data:`REGION_COLUMNS`. ``table.meta``
        may hold nested dicts and lists of str, int, float, bool and None
        (tuples are written as lists, numpy scalars as Python numbers).
    path : str or pathlib.Path
        Output file; its extension selects the format unless ``format`` is
        given (``.fits``, ``.fits.gz``, ``.ecsv``, ``.xml``, ``.vot``,
        ``.votable``, ``.parquet``, ``.csv``).
    format : {"fits", "ecsv", "votable", "parquet", "csv"}, optional
        The format, whatever the extension. astropy's names ``"ascii.ecsv"``
        and ``"ascii.csv"`` are accepted too.
    overwrite : bool, optional
        Replace an existing file (default: refuse).
    extra : {"error", "keep"}, optional
        Passed to :func:`conform`.
    schema : sequence of CatalogColumn, optional
        :data:`REGION_COLUMNS` (default) or :data:`GALAXY_COLUMNS`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    galcolor.InputError
        Unknown extension or format, a table :func:`conform` rejects, metadata
        that is not plain data, or non-ASCII text for FITS (which holds ASCII
        only).
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Notes
    -----
    Metadata goes where each format can hold it: natively in ECSV and Parquet,
    as a JSON string elsewhere: the ``GCMETA`` header keyword (FITS, long
    strings continue on ``CONTINUE`` cards), an ``<INFO name="galcolor-meta">``
    element (VOTable, whose astropy writer keeps only a table description) and
    a ``# galcolor-meta: {...}`` first line (CSV). CSV floats are written with
    ``repr`` so that they read back bit for bit.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> regions = empty_table(meta={"model": "unet-small", "parameters": {"nsigma": 3.0}})
    >>> write(regions, folder / "regions.csv").name
    'regions.csv'
    >>> print((folder / "regions.csv").read_text().splitlines()[0])
    # galcolor-meta: {"model": "unet-small", "parameters": {"nsigma": 3.0}}
    >>> write(regions, folder / "regions.csv")
    Traceback (most recent call last):
    ...
    FileExistsError: .../regions.csv: file exists; pass overwrite=True to replace it
    """
    path = Path(path)
    file_format = _format_of(path, format)
    catalog = conform(table, extra=extra, schema=schema)
    meta = _plain_meta(catalog.meta, "meta")
    if file_format == "fits":
        _require_ascii(catalog, path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: file exists; pass overwrite=True to replace it")
    with atomic_write(path) as temporary:
        if file_format == "votable":
            # Table.write(format="votable") keeps only ID, name, ucd, utype and
            # a DESCRIPTION it re-wraps at 70 columns, which breaks long JSON;
            # an INFO element's value attribute is stored verbatim.
            catalog.meta = {}
            document = votable.from_table(catalog)
            document.resources[0].infos.append(Info(name=_META_NAME, value=json.dumps(meta)))
            document.to_xml(str(temporary))
        elif file_format == "csv":
            catalog.meta = {"comments": [f"{_META_NAME}: {json.dumps(meta)}"]}
            float_columns = [column for column in catalog.colnames if catalog[column].dtype.kind == "f"]
            catalog.write(
                temporary,
                format="ascii.csv",
                comment="# ",
                formats={column: _float_repr for column in float_columns},
            )
        elif file_format == "fits":
            catalog.meta = {_FITS_META_KEY: json.dumps(meta)}
            catalog.write(temporary, format="fits")
        else:
            catalog.meta = meta
            catalog.write(temporary, format=_ASTROPY_FORMATS[file_format])
    return path


def read(
    path: str | Path,
    *,
    format: str | None = None,
    extra: Literal["error", "keep"] = "error",
    schema: Sequence[CatalogColumn] | None = None,
) -> QTable:
    """Read a region catalog written by :func:`write` (or any table with its columns).

    Parameters
    ----------
    path : str or pathlib.Path
        Catalog file; its extension selects the format unless ``format`` is
        given (see :func:`write`).
    format : {"fits", "ecsv", "votable", "parquet", "csv"}, optional
        The format, whatever the extension.
    extra : {"error", "keep"}, optional
        Passed to :func:`conform`.
    schema : sequence of CatalogColumn, optional
        :data:`REGION_COLUMNS`, :data:`RUN_REGION_COLUMNS` or
        :data:`GALAXY_COLUMNS`. By default a region catalog, with the
        ``cutout_id`` of a pipeline run's regions when the file has one.

    Returns
    -------
    astropy.table.QTable
        The conformed catalog: schema columns, dtypes (text as ``str``),
        units and descriptions, and ``meta`` equal to the dict that was
        written. For a file galcolor did not write, ``meta`` is what astropy
        reads, less FITS housekeeping keywords (EXTNAME, COMMENT, ...).

    Raises
    ------
    galcolor.InputError
        Unknown extension or format.
    galcolor.FileFormatError
        The file is missing, unreadable in that format, or not a region
        catalog (missing columns, incompatible units, ...); the message names
        the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "regions.parquet"
    >>> _ = write(empty_table(meta={"color": "true"}), path)
    >>> regions = read(path)
    >>> regions["area"].unit, regions.meta
    (Unit("pix2"), {'color': 'true'})
    """
    path = Path(path)
    file_format = _format_of(path, format)
    if not path.is_file():
        raise FileFormatError(f"{path}: file not found")
    with warnings_named(str(path)):  # astropy's warnings about a damaged file say which file
        try:
            table, meta = _read_csv(path, schema or RUN_REGION_COLUMNS) if file_format == "csv" else _READERS[file_format](path)
        except Exception as error:  # astropy and pyarrow raise OSError, ValueError, KeyError...
            raise FileFormatError(f"{path}: not a readable {file_format} catalog ({error})") from error
        if schema is None:
            schema = RUN_REGION_COLUMNS if "cutout_id" in table.colnames else REGION_COLUMNS
        try:
            catalog = conform(table, extra=extra, schema=schema)
        except InputError as error:
            kind = "region catalog" if schema in (REGION_COLUMNS, RUN_REGION_COLUMNS) else "catalog of this schema"
            raise FileFormatError(f"{path}: not a galcolor {kind}: {error}") from error
    catalog.meta = meta
    return catalog


def _format_of(path: Path, format: str | None) -> str:
    """The galcolor format name for ``path``, from ``format`` or the extension."""
    known = ", ".join(FORMATS)
    if format is not None:
        aliases = {astropy_name: name for name, astropy_name in _ASTROPY_FORMATS.items()}
        name = aliases.get(format.lower(), format.lower())
        if name not in FORMATS:
            raise InputError(f"{path}: unknown catalog format {format!r}; known formats: {known}")
        return name
    lowered = path.name.lower()
    for name, suffixes in FORMATS.items():
        if lowered.endswith(suffixes):
            return name
    extensions = ", ".join(suffix for suffixes in FORMATS.values() for suffix in suffixes)
    raise InputError(
        f"{path}: cannot tell the catalog format from the extension; known formats: {known} "
        f"(extensions {extensions}), or pass format="
    )


def _conforms(table: Table, extra: str, schema: Sequence[CatalogColumn] = REGION_COLUMNS) -> bool:
    """Whether :func:`conform` would give ``table`` back as it is (columns, order, dtypes, units, descriptions)."""
    if not isinstance(table, QTable) or table.has_masked_columns or table.has_masked_values:
        return False
    names = table.colnames
    if names[:len(schema)] != [column.name for column in schema] or (extra == "error" and len(names) > len(schema)):
        return False
    for column in schema:
        values = table[column.name]
        unit = getattr(values, "unit", None)
        same_type = values.dtype.kind == "U" if column.dtype.kind == "U" else values.dtype == column.dtype
        if not same_type or values.ndim != 1 or values.info.description != column.description:
            return False
        if (column.unit is None) != (unit is None) or (column.unit is not None and unit != column.unit):
            return False
        if column.unit is not None and not isinstance(values, u.Quantity):
            return False
    return True


def _conform_column(values: Any, column: CatalogColumn) -> Column | u.Quantity:
    """One input column as the schema says: dtype, unit, missing values filled."""
    name = column.name
    data, mask = _data_and_mask(values)
    if data.ndim != 1:
        raise InputError(f"column {name!r} must hold one value per row, got shape {data.shape}")
    if column.dtype.kind == "U":
        text = _as_text(data, name)
        if mask is not None:
            text[mask] = ""
        return Column(text, name=name)
    scale = _unit_scale(getattr(values, "unit", None), column)
    if scale != 1.0:
        data = data.astype(_FLOAT64) * scale
    if column.dtype.kind == "f":
        numbers = _as_numbers(data, _FLOAT64, name)
        if mask is not None:
            numbers[mask] = np.nan
    else:
        if mask is not None:
            raise InputError(
                f"column {name!r} has {int(mask.sum())} missing value(s); integers cannot be missing"
            )
        numbers = _as_integers(data, column.dtype, name)
    return Column(numbers, name=name) if column.unit is None else numbers << column.unit


def _data_and_mask(values: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Plain values and the mask (None when nothing is masked) of a table column."""
    mask = getattr(values, "mask", None)
    if isinstance(values, u.Quantity):
        data = np.asarray(getattr(values, "unmasked", values).value)
    else:
        data = np.asarray(np.ma.getdata(values))
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), data.shape)
        if not mask.any():
            mask = None
    return data, mask


def _unit_scale(unit: Any, column: CatalogColumn) -> float:
    """Factor from ``unit`` to the schema unit; 1 for a column without unit."""
    if unit is None:
        return 1.0
    target = u.dimensionless_unscaled if column.unit is None else column.unit
    try:
        return float(u.Unit(unit).to(target))
    except (u.UnitsError, ValueError, TypeError):
        wanted = "dimensionless" if column.unit is None else f"in {target} (or a unit convertible to it)"
        raise InputError(f"column {column.name!r} must be {wanted}, got unit {unit}") from None


def _as_text(data: np.ndarray, name: str) -> np.ndarray:
    """``data`` as a str array (bytes decoded as UTF-8, None as "")."""
    try:
        if data.dtype.kind == "S":
            text = np.char.decode(data, "utf-8")
        elif data.dtype.kind == "O":
            items = ["" if item is None else item.decode("utf-8") if isinstance(item, bytes) else str(item)
                     for item in data]
            text = np.array(items, dtype=_TEXT)
        else:
            text = data.astype(_TEXT)
    except UnicodeDecodeError as error:
        raise InputError(f"column {name!r} holds bytes that are not UTF-8 text ({error})") from None
    # Zero-width text (an empty column) is something FITS and VOTable cannot store.
    return text.astype("U1") if text.dtype.itemsize == 0 else text


def _as_numbers(data: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``data`` cast to ``dtype`` (a copy), numbers or numeric text only."""
    try:
        return data.astype(dtype)
    except (ValueError, TypeError):
        raise InputError(f"column {name!r} must hold numbers, got {data.dtype} values") from None


def _as_integers(data: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``data`` cast to the integer ``dtype``, refusing values that would change."""
    if data.dtype.kind not in "iub":
        numbers = _as_numbers(data, _FLOAT64, name)
        if not np.all(np.isfinite(numbers) & (numbers == np.round(numbers))):
            raise InputError(f"column {name!r} must hold integers, got non-integer or NaN values")
        data = numbers
    limits = np.iinfo(dtype)
    if data.size and (data.min() < limits.min or data.max() > limits.max):
        raise InputError(f"column {name!r} has values outside the {dtype} range [{limits.min}, {limits.max}]")
    return data.astype(dtype)


def _plain_meta(value: Any, where: str) -> Any:
    """``value`` as JSON-able plain data (dicts, lists, str, int, float, bool, None)."""
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"{where}: metadata keys must be str, got {key!r}")
            plain[key] = _plain_meta(item, f"{where}[{key!r}]")
        return plain
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain_meta(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None
    # bool before int (bool is an int); subclasses such as IntFlag become the base type.
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    raise InputError(
        f"{where}: cannot store {type(value).__name__} {value!r} in catalog metadata; "
        "use str, int, float, bool, None and lists or dicts of them"
    )


def _require_ascii(catalog: QTable, path: Path) -> None:
    """Refuse text FITS cannot hold, with a better message than astropy's."""
    for name in catalog.colnames:
        if catalog[name].dtype.kind != "U":
            continue
        for row, text in enumerate(catalog[name]):
            if not str(text).isascii():
                raise InputError(
                    f"{path}: FITS tables hold ASCII text only, but column {name!r} row {row} "
                    f"is {str(text)!r}; write ECSV, VOTable or Parquet instead"
                )


def _float_repr(value: float | u.Quantity) -> str:
    # repr is the shortest text that reads back as the same float64; spelled
    # out so that exactness does not hang on astropy's default formats.
    # Quantity columns hand over Quantity scalars, and astropy first probes
    # with np.ma.masked (conformed columns never hold it).
    if value is np.ma.masked:
        return ""
    return repr(float(getattr(value, "value", value)))


def _decode_meta(text: str, where: str) -> dict:
    """The metadata dict from the JSON text :func:`write` stored."""
    meta = json.loads(text)
    if not isinstance(meta, dict):
        raise ValueError(f"{where} is not a JSON object")
    return meta


def _read_fits(path: Path) -> tuple[QTable, dict]:
    table = QTable.read(path, format="fits", character_as_bytes=False, mask_invalid=False)
    header = dict(table.meta)
    if _FITS_META_KEY in header:
        return table, _decode_meta(header[_FITS_META_KEY], _FITS_META_KEY)
    return table, {key: value for key, value in header.items() if key not in _FITS_HOUSEKEEPING}


def _read_votable(path: Path) -> tuple[QTable, dict]:
    document = votable.parse(str(path))
    table = QTable.read(document, format="votable")
    for info in document.iter_info():
        if info.name == _META_NAME:
            return table, _decode_meta(info.value, f"INFO {_META_NAME}")
    return table, dict(table.meta)


def _read_csv(path: Path, schema: Sequence[CatalogColumn] = REGION_COLUMNS) -> tuple[QTable, dict]:
    # Read text columns as text even when every value looks like a number.
    text_columns = {column.name: str for column in schema if column.dtype.kind == "U"}
    table = QTable.read(path, format="ascii.csv", comment="#", converters=text_columns)
    comments = [line.strip() for line in table.meta.get("comments", [])]
    for line in comments:
        if line.startswith(f"{_META_NAME}:"):
            return table, _decode_meta(line[len(_META_NAME) + 1:], _META_NAME)
    return table, {"comments": comments} if comments else {}


def _read_native(format: str) -> Callable[[Path], tuple[QTable, dict]]:
    """A reader for formats that keep ``meta`` themselves (ECSV, Parquet)."""

    def reader(path: Path) -> tuple[QTable, dict]:
        table = QTable.read(path, format=format)
        return table, dict(table.meta)

    return reader


_READERS = {
    "fits": _read_fits,
    "ecsv": _read_native("ascii.ecsv"),
    "votable": _read_votable,
    "parquet": _read_native("parquet"),
    "csv": _read_csv,
}
