"""A small, fixed sample of the fuzz cases of benchmarks/bench_fuzz.py (issue 29), and the fixes it led to."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

import galcolor
from galcolor import FileFormatError, InputError
from galcolor._fuzz import DEFECTS, SYNTHESIZED, cases, run_batch, run_case


def _galaxy(size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:size, :size]
    return 100.0 * np.exp(-np.hypot(x - size / 2, y - size / 2) / 5.0) + rng.normal(0, 1, (size, size))


@pytest.fixture
def sources(tmp_path):
    image = _galaxy()
    header = fits.Header({"FILTER": "r", "EXPTIME": 53.9, "OBJECT": "fuzz"})
    fits.writeto(tmp_path / "single_r.fits", image.astype(np.float32), header=header)
    fits.writeto(tmp_path / "cube.fits", np.stack([image * 0.8, image, image * 1.3]).astype(np.float32))
    rgb = np.clip(np.stack([image * 1.2, image, image * 0.7], -1) * 2, 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "galaxy.png")
    Image.fromarray(rgb).save(tmp_path / "galaxy.jpg", quality=90)
    return [tmp_path / name for name in ("single_r.fits", "cube.fits", "galaxy.png", "galaxy.jpg")]


def test_a_fixed_sample_of_fuzz_cases_has_no_defect(sources, tmp_path):
    outcomes = []
    for case in cases(sources, tmp_path / "cases", 150, seed=7):
        record = run_case(case, timeout=30)
        outcomes.append(record["outcome"])
        assert record["outcome"] not in DEFECTS, record
    # the sample exercises both sides: hostile inputs refused, harmless mutations loaded
    assert outcomes.count("refused") > 30 and outcomes.count("loaded") > 30


def test_every_synthesized_format_and_path_is_loaded_or_refused_by_name(tmp_path):
    # 16-bit and palette PNGs, CMYK and progressive JPEGs, odd TIFFs, bombs,
    # folders and symbolic link loops: made from scratch, half then mutated
    seen = set()
    for case in cases([], tmp_path, 120, seed=3, array_share=0.0, synthesized_share=1.0):
        record = run_case(case, timeout=30)
        seen.add(case.mutation.split(": ", 1)[1].split(",")[0])
        assert record["outcome"] not in DEFECTS, record
    assert seen == set(SYNTHESIZED)


def test_a_tiff_damaged_in_its_tags_warns_by_name_not_on_bare_stderr(tmp_path, caplog):
    import tifffile

    path = tmp_path / "damaged.tif"
    tifffile.imwrite(path, _galaxy().astype(np.float32), description="x" * 40)
    data = bytearray(path.read_bytes())
    data[data.index(b"x" * 40) - 60:data.index(b"x" * 40) - 40] = bytes(range(200, 220))  # tags' neighbourhood
    path.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            galcolor.load(path)
        except galcolor.GalcolorError as error:
            assert "damaged.tif" in str(error)
    assert all("damaged.tif" in str(warning.message) for warning in caught)
    assert not [record for record in caplog.records if record.name.startswith("tifffile")]


def test_batch_tools_report_every_bad_file_and_write_every_good_one(sources, tmp_path):
    files, refused = list(sources[:3]), []  # three good files (one galaxy.*: the products are named by stem)
    for case in cases(sources, tmp_path / "cases", 12, seed=11, array_share=0.0, synthesized_share=0.3):
        record = run_case(case, timeout=30)
        files.append(case.path)
        if record["outcome"] == "refused":
            refused.append(case.path.name)
    assert 3 <= len(refused) <= len(files) - 3  # good and bad mixed
    result = run_batch(files, tmp_path / "batch", refused=refused)
    assert result["problems"] == []


def test_a_negative_axis_length_is_refused_at_once(tmp_path):
    # astropy reads the next HDU where this one's data would end: before its own start
    path = tmp_path / "lie.fits"
    fits.writeto(path, _galaxy().astype(np.float32))
    data = bytearray(path.read_bytes())
    start = data.index(b"NAXIS1  =")
    data[start:start + 80] = b"NAXIS1  =                  -64".ljust(80)
    path.write_bytes(bytes(data))
    # gzip-compressed, astropy used to read the same header forever
    import gzip

    packed = tmp_path / "lie.fits.gz"
    packed.write_bytes(gzip.compress(bytes(data)))
    began = time.perf_counter()
    with pytest.raises(FileFormatError, match=r"lie\.fits\.gz: NAXIS1 = -64; an axis length cannot be negative"):
        galcolor.load(packed)
    with pytest.raises(FileFormatError, match=r"lie\.fits: "):  # uncompressed, astropy cannot seek there
        galcolor.load(path)
    # NAXIS = 99999999: astropy built a list of that many axes before any check could run
    data = bytearray(path.read_bytes())
    start = data.index(b"NAXIS   =")
    data[start:start + 80] = b"NAXIS   =             99999999".ljust(80)
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"lie\.fits: NAXIS = 99999999; FITS allows 0 to 999 axes"):
        galcolor.load(path)
    assert time.perf_counter() - began < 5


def test_a_header_declaring_too_many_pixels_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.fits"
    fits.writeto(path, _galaxy().astype(np.float32))
    monkeypatch.setenv("GALCOLOR_MAX_PIXELS", "1000")
    with pytest.raises(InputError, match=r"big\.fits: HDU 0 declares 2,304 pixels .* GALCOLOR_MAX_PIXELS"):
        galcolor.load(path)
    monkeypatch.delenv("GALCOLOR_MAX_PIXELS")
    assert galcolor.load(path).shape == (48, 48)


def test_errors_and_warnings_of_a_load_name_the_input(tmp_path):
    # an unparsable card: astropy's warning is issued again with the file's name
    path = tmp_path / "garbage_card.fits"
    fits.writeto(path, _galaxy().astype(np.float32), header=fits.Header({"OBJECT": "x"}))
    data = bytearray(path.read_bytes())
    start = data.index(b"OBJECT  =")
    data[start:start + 80] = b"#@!~ this is not a card at all =  ' '' ".ljust(80)
    path.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        galcolor.load(path)
    assert caught and all(str(path) in str(warning.message) for warning in caught)
    # an error raised deep inside (the stretch of values too small to scale) names an array input
    with pytest.raises(InputError, match="^array input: "):
        galcolor.load(np.full((16, 16), 1e-300) * np.random.default_rng(0).normal(size=(16, 16)))
