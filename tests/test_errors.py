"""Bad input gets a clear galcolor error naming the file and the problem."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

import galcolor
from galcolor import FileFormatError, GalcolorError, InputError

from .conftest import galaxy_image


def test_error_classes_are_also_builtin_exceptions():
    assert issubclass(InputError, ValueError) and issubclass(InputError, GalcolorError)
    assert issubclass(FileFormatError, OSError) and issubclass(FileFormatError, GalcolorError)


def test_truncated_fits_file(tmp_path):
    full = tmp_path / "full.fits"
    fits.PrimaryHDU(np.stack([galaxy_image(shape=(64, 64))] * 3)).writeto(full)
    cut = tmp_path / "truncated.fits"
    cut.write_bytes(full.read_bytes()[: 2880 * 10])
    with pytest.raises(FileFormatError, match=r"truncated\.fits: .*truncated"):
        galcolor.load(cut)


def test_truncated_decals_cube_from_shared_data(shared_data):
    path = shared_data / "corrupt" / "truncated_decals.fits"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(FileFormatError, match=r"truncated_decals\.fits: HDU 0 cannot be read, file is truncated"):
        galcolor.load(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.fits"
    path.touch()
    with pytest.raises(FileFormatError, match=r"empty\.fits: file is empty \(0 bytes\)"):
        galcolor.load(path)


def test_text_file_named_fits(tmp_path):
    path = tmp_path / "notes.fits"
    path.write_text("this is not a FITS file\n" * 20)
    with pytest.raises(FileFormatError, match=r"notes\.fits: not a readable FITS file"):
        galcolor.load(path)


def test_jpeg_cut_in_half(tmp_path):
    whole = tmp_path / "whole.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole)
    half = tmp_path / "half.jpg"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(FileFormatError, match=r"half\.jpg: cannot read image .*truncated"):
        galcolor.load(half)


def test_png_full_of_garbage(tmp_path):
    path = tmp_path / "garbage.png"
    path.write_bytes(b"\x00\x01" * 500)
    with pytest.raises(FileFormatError, match=r"garbage\.png: cannot read image"):
        galcolor.load(path)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 5), (4, 4, 4), (4, 4, 2), (3, 8, 8)])
def test_arrays_of_the_wrong_dimensionality(shape):
    with pytest.raises(InputError, match=r"array input: expected a 2-D image \(H, W\) or an RGB image "
                                         r"\(H, W, 3\), got shape " + str(shape).replace("(", r"\(").replace(")", r"\)")):
        galcolor.load(np.ones(shape))


@pytest.mark.parametrize("shape", [(0,), (0, 0), (0, 5), (4, 0, 3)])
def test_empty_arrays(shape):
    with pytest.raises(InputError, match="array input: image is empty"):
        galcolor.load(np.ones(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_image_with_no_finite_pixels(bad):
    with pytest.raises(InputError, match="array input: image has no finite, unmasked pixels"):
        galcolor.load(np.full((8, 8), bad))


def test_all_nan_fits_names_the_file(tmp_path):
    path = tmp_path / "blank.fits"
    fits.writeto(path, np.full((8, 8), np.nan, dtype=np.float32))
    with pytest.raises(InputError, match=r"blank\.fits: band .* has no finite, valid pixels"):
        galcolor.load(path)


def test_fits_without_image_data(tmp_path):
    path = tmp_path / "header_only.fits"
    fits.PrimaryHDU().writeto(path)
    with pytest.raises(InputError, match=r"header_only\.fits: no HDU holds a 2-D image or 3-D cube"):
        galcolor.load(path)


@pytest.mark.parametrize("name", ["galaxy.hdf5", "galaxy.txt", "galaxy", "galaxy.jpg.gz"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"1234")
    with pytest.raises(FileFormatError, match=rf"{name}: unknown file type"):
        galcolor.load(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileFormatError, match=r"nowhere\.fits: file not found"):
        galcolor.load(tmp_path / "nowhere.fits")
    folder = tmp_path / "folder.fits"
    folder.mkdir()
    with pytest.raises(FileFormatError, match=r"folder\.fits: is a directory"):
        galcolor.load(folder)
    plain = tmp_path / "cutouts"  # no extension: still a directory, not an "unknown file type"
    plain.mkdir()
    with pytest.raises(FileFormatError, match=r"cutouts: is a directory"):
        galcolor.load(plain)
    with pytest.raises(FileFormatError, match=r"nothing\.fits: file not found"):
        galcolor.load(tmp_path / "nothing.fits")


def test_unsupported_source_types():
    with pytest.raises(InputError, match="cannot load a dict"):
        galcolor.load({"not": "an image"})
    with pytest.raises(InputError, match="pixel type bool"):
        galcolor.load(np.zeros((4, 4), dtype=bool))


def test_constant_image_is_valid():
    cutout = galcolor.load(np.full((10, 12), 3.0, dtype=np.float32))
    assert cutout.shape == (10, 12)
    assert np.ptp(cutout.lightness) == 0.0


def test_hdu_argument_on_a_jpeg(tmp_path):
    path = tmp_path / "color.jpg"
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)
    with pytest.raises(InputError, match=r"color\.jpg: hdu= only applies to FITS files"):
        galcolor.load(path, hdu=1)
