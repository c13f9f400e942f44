"""Atomic writes: a reader sees the old file or the whole new one, never a half-written one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from galcolor._atomic import atomic_write


class Interrupted(Exception):
    """Raised inside a write to stand for a writer that fails half way."""


def test_success_moves_the_written_file_into_place_with_its_content(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_write(target) as temporary:
        temporary.write_text("done")
        assert not target.exists(), "the target appeared before the write finished"
    assert target.read_text() == "done"
    assert not temporary.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]


def test_an_existing_target_keeps_its_old_content_until_the_write_succeeds(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target) as temporary:
        temporary.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]


def test_an_exception_in_the_block_leaves_the_existing_target_untouched_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(Interrupted):
        with atomic_write(target) as temporary:
            temporary.write_text("half of the new")
            raise Interrupted
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]
    assert not list(tmp_path.glob(".out.txt.tmp-*"))


def test_an_exception_before_anything_is_written_creates_neither_target_nor_temporary(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(Interrupted):
        with atomic_write(target):
            raise Interrupted
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_is_a_hidden_file_beside_the_target_that_does_not_exist_yet(tmp_path):
    # beside: os.replace within one folder is atomic; not existing: writers such as
    # astropy refuse to overwrite a file
    target = tmp_path / "out.txt"
    with atomic_write(target) as temporary:
        assert temporary.parent == target.parent
        assert temporary.name.startswith(".out.txt.tmp-")
        assert not temporary.exists()
        temporary.write_text("done")


@pytest.mark.parametrize("name, extension", [
    ("image.png", ".png"),
    ("cutout.fits", ".fits"),
    ("cutout.fits.gz", ".fits.gz"),
    ("cutout.fits.bz2", ".fits.bz2"),
    ("CUTOUT.FITS.GZ", ".FITS.GZ"),
    ("run.v2.json", ".json"),
])
def test_the_temporary_keeps_the_extension_of_the_target(tmp_path, name, extension):
    with atomic_write(tmp_path / name) as temporary:
        random_part_and_extension = temporary.name.split(".tmp-", 1)[1]
        # exactly the extension: ".fits.gz", but ".json" (not ".v2.json") for "run.v2.json"
        assert random_part_and_extension[random_part_and_extension.index("."):] == extension
        temporary.write_bytes(b"x")


def test_writers_that_choose_the_format_by_suffix_write_a_gzipped_fits_file(tmp_path):
    target = tmp_path / "cutout.fits.gz"
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    with atomic_write(target) as temporary:
        fits.PrimaryHDU(data).writeto(temporary)  # overwrite=False: fails if the temporary exists
    assert target.read_bytes()[:2] == b"\x1f\x8b"  # gzip, chosen by astropy from ".gz"
    with fits.open(target) as hdus:
        np.testing.assert_array_equal(hdus[0].data, data)


def test_writers_that_choose_the_format_by_suffix_write_a_png_file(tmp_path):
    target = tmp_path / "image.png"
    with atomic_write(target) as temporary:
        Image.new("RGB", (4, 3), (10, 20, 30)).save(temporary)  # format from ".png"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(target) as image:
        assert image.size == (4, 3)


def test_the_parent_folder_is_created(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    with atomic_write(target) as temporary:
        temporary.write_text("done")
    assert target.read_text() == "done"


def test_a_string_path_is_accepted(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_write(str(target)) as temporary:
        assert isinstance(temporary, Path)
        temporary.write_text("done")
    assert target.read_text() == "done"
