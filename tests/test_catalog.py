"""The region catalog: one schema, and five formats that all give it back intact."""

from __future__ import annotations

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import MaskedColumn, QTable

import galcolor
from galcolor import catalog
from galcolor.catalog import FORMATS, REGION_COLUMNS, RegionFlag
from galcolor.exceptions import FileFormatError, InputError

README = Path(__file__).resolve().parents[1] / "catalogs" / "README.md"

# One file name per format, plus the other extensions that select a format.
PRIMARY_FILES = {
    "fits": "regions.fits",
    "ecsv": "regions.ecsv",
    "votable": "regions.xml",
    "parquet": "regions.parquet",
    "csv": "regions.csv",
}
EVERY_EXTENSION = [(name, f"regions{suffix}") for name, suffixes in FORMATS.items() for suffix in suffixes]

# How each format's file begins: proof that the extension chose the writer.
MAGIC = {
    "fits": b"SIMPLE  =",
    "ecsv": b"# %ECSV",
    "votable": b"<?xml",
    "parquet": b"PAR1",
    "csv": b"# galcolor-meta: ",
}


def sample_meta() -> dict:
    """Run metadata as a pipeline writes it: nested, with every JSON type."""
    return {
        "source": "NGC0628_r.fits",
        "model": "unet-small",
        "weights_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "galcolor_version": galcolor.__version__,
        "date": "2025-03-14T09:26:53+00:00",
        "color": "predicted",
        "parameters": {
            "nsigma": 3.0,
            "min_area_pix": 12,
            "deblend": True,
            "psf_fwhm_pix": 3.2,
            "bands": ["g", "r", "i"],
            "background": None,
            "note": "it's a \"quoted\" <xml> & json-looking {value}: [1, 2]",
        },
    }


def sample_regions() -> QTable:
    """Three realistic regions; the third comes from an image without a WCS.

    Some floats need all 17 significant digits (1/3, 0.1 + 0.2), so a writer
    that rounds them shows up; the third source looks like a number (an SDSS
    objID) and must still read back as text.
    """
    table = QTable(meta=sample_meta())
    table["id"] = np.array([1, 2, 3], dtype=np.int64)
    table["galaxy_id"] = np.array([1, 1, 2], dtype=np.int64)
    table["source"] = ["NGC0628_r.fits", "NGC0628_r.fits", "1237648720693755918"]
    table["x"] = [101.37462918301, 87.25, 12.0] * u.pix
    table["y"] = [64.812, 70.00390625, 30.5] * u.pix
    table["ra"] = [24.17393750, 24.17021667, np.nan] * u.deg
    table["dec"] = [15.78363889, 15.78011111, np.nan] * u.deg
    table["area"] = [42.0, 17.0, 9.0] * u.pix**2
    table["flux_fraction"] = [0.0213, 0.0087, 0.0041]
    table["r_gal"] = [36.4, 22.9, 1.7] * u.pix
    table["r_gal_norm"] = [1 / 3, 0.1 + 0.2, 2 / 7]
    table["a_mean"] = [-1.8, -0.6, 2.25]
    table["a_err"] = [0.4, 0.7, 0.9]
    table["b_mean"] = [-9.75, -3.1, 4.0]
    table["b_err"] = [0.8, 1.1, 1.6]
    table["blue_excess"] = [11.2, 4.6, -0.5]
    table["significance"] = [14.0, 4.2, -0.3125]
    table["a_excess"] = [0.5, -1.25, np.nan]
    table["mirror_blue_excess"] = [12.5, 3.875, -0.75]
    table["mirror_a_excess"] = [0.25, -1.5, np.nan]
    table["light_significance"] = [40.0, 6.5, 3.25]
    table["contrast"] = [0.75, 0.125, 0.0625]
    table["size_psf"] = [1.0, 1.5, 0.875]
    table["elongation"] = [1.125, 2.0, 1.0]
    table["origin"] = np.array([3, 1, 2], dtype=np.int32)
    table["score"] = [0.93, 0.41, 0.07]
    table["flags"] = np.array(
        [0, RegionFlag.EDGE | RegionFlag.DEBLENDED, RegionFlag.NUCLEUS | RegionFlag.LOW_SNR_COLOR],
        dtype=np.int32,
    )
    return table


def values_of(column) -> np.ndarray:
    return np.asarray(getattr(column, "value", column))


def assert_schema(table: QTable) -> None:
    """Names, order, dtypes (text as str), units, column kinds and descriptions."""
    assert table.colnames == [column.name for column in REGION_COLUMNS]
    for column in REGION_COLUMNS:
        got = table[column.name]
        if column.dtype.kind == "U":
            assert got.dtype.kind == "U", column.name
        else:
            assert got.dtype == column.dtype, column.name
        assert got.unit == column.unit, column.name
        assert isinstance(got, u.Quantity) == (column.unit is not None), column.name
        assert not hasattr(got, "mask"), column.name
        assert got.info.description == column.description, column.name


def assert_same_values(got: QTable, expected: QTable) -> None:
    """Ints and text exactly; floats bit for bit (NaN included): every format
    stores float64 in binary or as repr text, so nothing may be rounded."""
    for column in REGION_COLUMNS:
        have, want = values_of(got[column.name]), values_of(expected[column.name])
        if column.dtype.kind == "f":
            assert np.array_equal(have, want.astype(np.float64), equal_nan=True), column.name
        else:
            assert have.tolist() == want.tolist(), column.name


# --- the schema ------------------------------------------------------------------


def test_schema_lists_the_documented_columns_in_order():
    assert [column.name for column in REGION_COLUMNS] == [
        "id", "galaxy_id", "source", "x", "y", "ra", "dec", "area", "flux_fraction",
        "r_gal", "r_gal_norm", "a_mean", "a_err", "b_mean", "b_err", "blue_excess",
        "significance", "a_excess", "mirror_blue_excess", "mirror_a_excess", "light_significance", "contrast", "size_psf", "elongation", "origin",
        "score", "flags",
    ]


def test_schema_types_and_units():
    schema = {column.name: column for column in REGION_COLUMNS}
    assert schema["id"].dtype == np.int64 and schema["galaxy_id"].dtype == np.int64
    assert schema["flags"].dtype == np.int32 and schema["origin"].dtype == np.int32
    assert schema["source"].dtype.kind == "U"
    assert {name: column.unit for name, column in schema.items() if column.unit is not None} == {
        "x": u.pix, "y": u.pix, "ra": u.deg, "dec": u.deg, "area": u.pix**2, "r_gal": u.pix,
    }
    floats = [name for name, column in schema.items() if column.dtype == np.float64]
    assert len(floats) == 22  # every other column is float64


def test_schema_records_are_frozen():
    with pytest.raises(AttributeError):
        REGION_COLUMNS[0].name = "region"


def test_every_column_has_a_one_line_description():
    for column in REGION_COLUMNS:
        assert column.description and "\n" not in column.description, column.name


def test_region_flag_bits():
    assert {flag.name: flag.value for flag in RegionFlag} == {
        "EDGE": 1, "MASKED": 2, "DEBLENDED": 4, "NUCLEUS": 8, "LOW_SNR_COLOR": 16,
    }
    flags = np.array([0, 5, 24], dtype=np.int32)
    assert ((flags & RegionFlag.DEBLENDED) != 0).tolist() == [False, True, False]
    assert RegionFlag(24) == RegionFlag.NUCLEUS | RegionFlag.LOW_SNR_COLOR


def test_readme_documents_every_column_and_flag():
    """catalogs/README.md is written by hand; this keeps it from drifting."""
    text = README.read_text()
    for column in REGION_COLUMNS:
        assert f"`{column.name}`" in text, column.name
        assert column.description in text, column.name
    for flag in RegionFlag:
        assert f"`{flag.name}`" in text, flag.name


# --- empty_table and conform -----------------------------------------------------


def test_empty_table_has_the_full_schema_and_no_rows():
    regions = catalog.empty_table(meta={"color": "true"})
    assert len(regions) == 0
    assert_schema(regions)
    assert regions.meta == {"color": "true"}


def test_conform_gives_the_schema_and_leaves_the_input_alone():
    table = sample_regions()
    table["id"] = table["id"].astype(np.int32)
    table["flags"] = table["flags"].astype(np.int64)
    regions = catalog.conform(table)
    assert_schema(regions)
    assert_same_values(regions, sample_regions())
    assert table["id"].dtype == np.int32  # input untouched
    regions.meta["parameters"]["nsigma"] = 5.0
    assert table.meta["parameters"]["nsigma"] == 3.0  # meta copied, deeply


def test_conform_takes_the_columns_by_name_as_well_as_a_table():
    table = sample_regions()
    columns = {name: table[name] for name in reversed(table.colnames)}
    regions = catalog.conform(columns)
    assert_schema(regions)
    assert_same_values(regions, sample_regions())
    assert regions.meta == {}
    for column in REGION_COLUMNS:
        assert regions[column.name].info.description == column.description
    columns["x"] = columns["x"][:2]
    with pytest.raises(InputError, match="different lengths"):
        catalog.conform(columns)
    with pytest.raises(InputError, match="mapping of columns, got list"):
        catalog.conform([table])


def test_conform_puts_columns_in_schema_order():
    table = sample_regions()
    shuffled = table[list(reversed(table.colnames))]
    assert catalog.conform(shuffled).colnames == [column.name for column in REGION_COLUMNS]


def test_conform_attaches_the_schema_unit_to_plain_columns():
    table = sample_regions()
    table["x"] = table["x"].value  # a plain float column, no unit
    regions = catalog.conform(table)
    assert regions["x"].unit == u.pix
    assert np.array_equal(regions["x"].value, sample_regions()["x"].value)


def test_conform_converts_compatible_units():
    table = sample_regions()
    table["ra"] = table["ra"].to(u.rad)
    table["flux_fraction"] = table["flux_fraction"] * 100 * u.percent
    regions = catalog.conform(table)
    assert regions["ra"].unit == u.deg
    # deg -> rad -> deg is two float64 multiplications: a few ulp at most.
    np.testing.assert_allclose(regions["ra"].value, sample_regions()["ra"].value, rtol=1e-15)
    assert np.isnan(regions["ra"].value[2])
    assert regions["flux_fraction"].unit is None
    np.testing.assert_allclose(regions["flux_fraction"], sample_regions()["flux_fraction"], rtol=1e-15)


@pytest.mark.parametrize("name, unit", [("ra", u.pix), ("score", u.deg)])
def test_conform_names_the_column_with_an_incompatible_unit(name, unit):
    table = sample_regions()
    table[name] = values_of(table[name]) * unit
    with pytest.raises(InputError, match=rf"column '{name}' must be .*got unit {unit}"):
        catalog.conform(table)


def test_conform_names_missing_columns():
    table = sample_regions()
    del table["ra"], table["flags"]
    with pytest.raises(InputError, match="missing catalog column.*ra, flags"):
        catalog.conform(table)


def test_conform_refuses_extra_columns_unless_asked_to_keep_them():
    table = sample_regions()
    table["peak_snr"] = [30.0, 8.0, 2.5]
    with pytest.raises(InputError, match="peak_snr.*extra='keep'"):
        catalog.conform(table)
    regions = catalog.conform(table, extra="keep")
    assert regions.colnames == [column.name for column in REGION_COLUMNS] + ["peak_snr"]


def test_conform_fills_masked_floats_with_nan_and_masked_text_with_empty_strings():
    table = sample_regions()
    table["b_err"] = MaskedColumn([0.8, 1.1, 1.6], mask=[False, True, False])
    table["source"] = MaskedColumn(["a.fits", "b.fits", "c.fits"], mask=[False, False, True])
    regions = catalog.conform(table)
    assert_schema(regions)
    assert np.array_equal(regions["b_err"], [0.8, np.nan, 1.6], equal_nan=True)
    assert regions["source"].tolist() == ["a.fits", "b.fits", ""]


def test_conform_refuses_integer_columns_that_would_change():
    table = sample_regions()
    table["id"] = [1.0, 2.5, 3.0]
    with pytest.raises(InputError, match="'id' must hold integers"):
        catalog.conform(table)
    table = sample_regions()
    table["flags"] = MaskedColumn([0, 1, 2], mask=[False, True, False])
    with pytest.raises(InputError, match="'flags' has 1 missing value"):
        catalog.conform(table)
    table = sample_regions()
    table["flags"] = np.array([0, 2**40, 1], dtype=np.int64)
    with pytest.raises(InputError, match="'flags' has values outside the int32 range"):
        catalog.conform(table)


# --- write and read: every format ------------------------------------------------


@pytest.mark.parametrize("format_name", list(PRIMARY_FILES))
def test_round_trip_keeps_values_dtypes_units_descriptions_and_meta(tmp_path, format_name):
    path = catalog.write(sample_regions(), tmp_path / PRIMARY_FILES[format_name])
    regions = catalog.read(path)
    assert_schema(regions)
    assert_same_values(regions, sample_regions())
    assert regions.meta == sample_meta()


@pytest.mark.parametrize("format_name", list(PRIMARY_FILES))
def test_empty_catalog_round_trips(tmp_path, format_name):
    path = catalog.write(catalog.empty_table(meta=sample_meta()), tmp_path / PRIMARY_FILES[format_name])
    regions = catalog.read(path)
    assert len(regions) == 0
    assert_schema(regions)
    assert regions.meta == sample_meta()


def test_every_writer_produces_the_same_schema(tmp_path):
    def schema_of(table):
        return [(name, table[name].dtype.kind if table[name].dtype.kind == "U" else table[name].dtype,
                 table[name].unit) for name in table.colnames]

    schemas = {
        name: schema_of(catalog.read(catalog.write(sample_regions(), tmp_path / file)))
        for name, file in PRIMARY_FILES.items()
    }
    assert all(schema == schemas["ecsv"] for schema in schemas.values()), schemas


@pytest.mark.parametrize("format_name, file", EVERY_EXTENSION)
def test_extension_selects_the_format(tmp_path, format_name, file):
    path = catalog.write(sample_regions(), tmp_path / file)
    head = path.read_bytes()[:20]
    if file.endswith(".gz"):
        assert head.startswith(b"\x1f\x8b")  # gzip
    else:
        assert head.startswith(MAGIC[format_name])
    assert_same_values(catalog.read(path), sample_regions())


@pytest.mark.parametrize("format_name", [*PRIMARY_FILES, "ascii.ecsv", "ascii.csv"])
def test_explicit_format_overrides_the_extension(tmp_path, format_name):
    path = catalog.write(sample_regions(), tmp_path / "regions.dat", format=format_name)
    regions = catalog.read(path, format=format_name)
    assert_same_values(regions, sample_regions())
    assert regions.meta == sample_meta()


@pytest.mark.parametrize("format_name", list(PRIMARY_FILES))
def test_text_reads_back_verbatim_even_when_it_looks_like_a_number_or_is_empty(tmp_path, format_name):
    # Zero-padded frame numbers (a JPEG folder) would become ints in CSV, and
    # ECSV/CSV write "" like a missing value: both must come back as written.
    table = sample_regions()
    table["source"] = ["0042", "", "0007"]
    regions = catalog.read(catalog.write(table, tmp_path / PRIMARY_FILES[format_name]))
    assert regions["source"].tolist() == ["0042", "", "0007"]
    assert regions["source"].dtype.kind == "U"


def test_csv_keeps_meta_on_a_comment_line_and_floats_at_full_precision(tmp_path):
    path = catalog.write(sample_regions(), tmp_path / "regions.csv")
    first, header = path.read_text().splitlines()[:2]
    assert json.loads(first.removeprefix("# galcolor-meta: ")) == sample_meta()
    assert header.split(",") == [column.name for column in REGION_COLUMNS]
    assert repr(1 / 3) in path.read_text()


def test_fits_keeps_meta_as_json_in_one_header_keyword(tmp_path):
    from astropy.io import fits

    path = catalog.write(sample_regions(), tmp_path / "regions.fits")
    with fits.open(path) as hdulist:
        assert json.loads(hdulist[1].header["GCMETA"]) == sample_meta()


def test_meta_that_is_not_plain_data_is_refused_before_writing(tmp_path):
    table = sample_regions()
    table.meta["parameters"]["folder"] = tmp_path
    with pytest.raises(InputError, match=r"meta\['parameters'\]\['folder'\]"):
        catalog.write(table, tmp_path / "regions.ecsv")
    assert list(tmp_path.iterdir()) == []


def test_numpy_scalars_and_tuples_in_meta_are_written_as_plain_numbers_and_lists(tmp_path):
    table = sample_regions()
    table.meta["parameters"] = {"nsigma": np.float64(3.0), "shape": (128, 128), "flag": np.bool_(True)}
    regions = catalog.read(catalog.write(table, tmp_path / "regions.ecsv"))
    assert regions.meta["parameters"] == {"nsigma": 3.0, "shape": [128, 128], "flag": True}
    assert type(regions.meta["parameters"]["nsigma"]) is float


def test_fits_refuses_non_ascii_text_and_names_the_column(tmp_path):
    table = sample_regions()
    table["source"] = ["M31 (Andromède).fits", "b.fits", "c.fits"]
    with pytest.raises(InputError, match="ASCII.*'source' row 0"):
        catalog.write(table, tmp_path / "regions.fits")
    # Formats that hold Unicode keep it.
    regions = catalog.read(catalog.write(table, tmp_path / "regions.ecsv"))
    assert regions["source"][0] == "M31 (Andromède).fits"


# --- atomic writes and overwriting -----------------------------------------------


def test_write_leaves_only_the_catalog_behind(tmp_path):
    catalog.write(sample_regions(), tmp_path / "regions.fits")
    assert [path.name for path in tmp_path.iterdir()] == ["regions.fits"]


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "regions.ecsv"
    catalog.write(catalog.empty_table(), path)
    with pytest.raises(FileExistsError, match="regions.ecsv.*overwrite=True"):
        catalog.write(sample_regions(), path)
    assert len(catalog.read(path)) == 0
    catalog.write(sample_regions(), path, overwrite=True)
    assert len(catalog.read(path)) == 3
    assert [entry.name for entry in tmp_path.iterdir()] == ["regions.ecsv"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "regions.ecsv"
    catalog.write(catalog.empty_table(), path)
    before = path.read_bytes()

    def write_half_then_fail(self, output, **kwargs):
        Path(output).write_text("# %ECSV 1.0\n# trunc")
        raise OSError("disk full")

    monkeypatch.setattr(QTable, "write", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        catalog.write(sample_regions(), path, overwrite=True)
    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["regions.ecsv"]


# --- errors ----------------------------------------------------------------------


def test_unknown_extension_names_the_path_and_the_known_formats(tmp_path):
    path = tmp_path / "regions.txt"
    with pytest.raises(InputError) as caught:
        catalog.write(sample_regions(), path)
    message = str(caught.value)
    assert str(path) in message
    assert all(name in message for name in FORMATS)
    assert not path.exists()
    with pytest.raises(InputError, match="regions.txt"):
        catalog.read(path)


def test_unknown_format_name_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown catalog format 'hdf5'.*fits, ecsv, votable, parquet, csv"):
        catalog.write(sample_regions(), tmp_path / "regions.h5", format="hdf5")


def test_reading_a_table_that_is_not_a_catalog_names_the_file(tmp_path):
    path = tmp_path / "photometry.ecsv"
    QTable({"id": [1, 2], "mag_r": [17.2, 18.9]}).write(path, format="ascii.ecsv")
    with pytest.raises(FileFormatError) as caught:
        catalog.read(path)
    message = str(caught.value)
    assert str(path) in message and "not a galcolor region catalog" in message
    assert "galaxy_id" in message and "flags" in message


def test_reading_a_missing_or_corrupt_file_names_it(tmp_path):
    with pytest.raises(FileFormatError, match="absent.fits: file not found"):
        catalog.read(tmp_path / "absent.fits")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"not parquet at all")
    with pytest.raises(FileFormatError, match="corrupt.parquet: not a readable parquet catalog"):
        catalog.read(corrupt)


def test_merge_of_conformed_catalogs_equals_merge_of_raw_ones() -> None:
    # merge passes over catalogs already in the schema instead of rebuilding them
    raw = sample_regions()
    conformed = catalog.conform(raw)
    assert catalog._conforms(conformed, "error") and not catalog._conforms(raw, "error")
    fast = catalog.merge([conformed, conformed])
    slow = catalog.merge([raw, raw])
    assert fast.colnames == slow.colnames and fast.meta == slow.meta
    for name in fast.colnames:
        np.testing.assert_array_equal(values_of(fast[name]), values_of(slow[name]))
        assert getattr(fast[name], "unit", None) == getattr(slow[name], "unit", None)
        assert fast[name].info.description == slow[name].info.description
    # the inputs are not modified
    assert catalog.merge([conformed]).meta["sources"] and len(conformed) == 3 and list(conformed["id"]) == [1, 2, 3]
    # a text column of another width, a masked value or a missing description is rebuilt
    masked = conformed.copy()
    masked["blue_excess"] = MaskedColumn(np.asarray(conformed["blue_excess"]), mask=[False, True, False])
    assert not catalog._conforms(masked, "error")
    undescribed = conformed.copy()
    undescribed["score"].info.description = None
    assert not catalog._conforms(undescribed, "error")
    extra = conformed.copy()
    extra["cutout_id"] = ["a", "b", "c"]
    assert catalog._conforms(extra, "keep") and not catalog._conforms(extra, "error")


def test_merge_stacks_text_of_any_width_and_keeps_extra_columns() -> None:
    # catalogs in the schema are stacked column by column; any other column goes through astropy's vstack
    short, long = catalog.conform(sample_regions()), catalog.conform(sample_regions())
    long["source"] = ["a-much-longer-file-name.fits"] * len(long)
    merged = catalog.merge([short, long])
    assert list(merged["source"]) == list(short["source"]) + ["a-much-longer-file-name.fits"] * 3
    assert list(merged["id"]) == [1, 2, 3, 4, 5, 6] and merged["x"].unit == short["x"].unit
    assert merged["score"].info.description == short["score"].info.description
    tagged = short.copy()
    tagged["cutout_id"] = ["a", "b", "c"]
    kept = catalog.merge([tagged, tagged], extra="keep")
    assert kept.colnames[-1] == "cutout_id" and list(kept["cutout_id"]) == ["a", "b", "c"] * 2
    with pytest.raises(InputError, match="cutout_id"):
        catalog.merge([tagged])


def test_a_catalog_written_before_the_optional_columns_reads_with_them_nan(tmp_path):
    # mirror_blue_excess and mirror_a_excess came after catalogs were written
    # without them: those files still read, the new columns NaN.
    optional = [column.name for column in REGION_COLUMNS if column.optional]
    assert optional == ["mirror_blue_excess", "mirror_a_excess"]
    old = sample_regions()
    old.remove_columns(optional)
    path = tmp_path / "old.ecsv"
    old.write(path, format="ascii.ecsv")
    regions = catalog.read(path)
    assert regions.colnames == [column.name for column in REGION_COLUMNS]
    assert np.isnan(regions["mirror_blue_excess"]).all() and len(regions) == 3
    assert regions["mirror_a_excess"].description.startswith("a* at the region's point-symmetric")
    without_flags = sample_regions()
    del without_flags["flags"]
    with pytest.raises(InputError, match=r"missing catalog column\(s\): flags$"):
        catalog.conform(without_flags)
