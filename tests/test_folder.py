"""galcolor.datasets.folder.ImageFolder: color image folders as (L, ab) training pairs."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from astropy.io import fits
from PIL import Image
from torch.utils.data import DataLoader

import galcolor
from galcolor import FileFormatError, GalcolorWarning, InputError
from galcolor.color import rgb_to_lab_numpy
from galcolor.datasets.folder import GALAXY_MIN_LIGHTNESS, ImageFolder, hash_split

from .conftest import galaxy_image, requires_shared_data

# Resizing a constant image and converting it in float32 moves Lab values by
# ~1e-4 at most; 1e-3 is the color core's own agreement with scikit-image.
LAB_TOLERANCE = 1e-3

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def save_rgb(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)
    return path


def solid(color, shape=(32, 32)) -> np.ndarray:
    return np.broadcast_to(np.asarray(color, dtype=np.uint8), shape + (3,)).copy()


def noisy_galaxy(shape=(40, 40), seed=0) -> np.ndarray:
    """A warm blob on dark noisy sky, uint8 RGB."""
    rng = np.random.default_rng(seed)
    height, width = shape
    y, x = np.mgrid[0:height, 0:width]
    blob = np.exp(-np.hypot(x - width / 2, y - height / 2) / 5.0)
    rgb = blob[..., None] * np.array([250.0, 200.0, 150.0]) + rng.uniform(0, 20, shape + (3,))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def lab_of(color) -> np.ndarray:
    return rgb_to_lab_numpy(np.asarray(color, dtype=np.float64) / 255.0)


def color_folder(root: Path, n: int = 3, shape=(40, 40)) -> Path:
    for index in range(n):
        save_rgb(root / f"galaxy{index:02d}.png", noisy_galaxy(shape, seed=index))
    return root


def write_manifest(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def broken_files(root: Path) -> list[Path]:
    """A truncated JPEG and a text file named .jpg."""
    full = root / "full.jpg"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full)
    data = full.read_bytes()
    full.unlink()
    truncated = root / "b_truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    text = root / "d_text.jpg"
    text.write_text("this is not a JPEG\n")
    return [truncated, text]


# ---------------------------------------------------------------- item format


def test_items_have_the_documented_shapes_dtypes_and_ranges(tmp_path):
    data = ImageFolder(color_folder(tmp_path, n=3, shape=(40, 52)), size=24)
    assert len(data) == 3
    for index in range(len(data)):
        item = data[index]
        assert set(item) == {"lightness", "ab", "galaxy_mask", "valid_mask", "index"}
        assert item["lightness"].shape == (1, 24, 24) and item["lightness"].dtype == torch.float32
        assert item["ab"].shape == (2, 24, 24) and item["ab"].dtype == torch.float32
        assert item["galaxy_mask"].shape == (1, 24, 24) and item["galaxy_mask"].dtype == torch.bool
        assert item["valid_mask"].shape == (1, 24, 24) and item["valid_mask"].dtype == torch.bool
        assert item["index"] == index and isinstance(item["index"], int)
        lightness = item["lightness"]
        assert 0.0 <= lightness.min() and lightness.max() <= 100.0
        # sRGB gamut in Lab: |a*|, |b*| < 128.
        assert torch.isfinite(item["ab"]).all() and item["ab"].abs().max() < 128
        assert item["valid_mask"].all()
        assert torch.equal(item["galaxy_mask"], lightness > GALAXY_MIN_LIGHTNESS)
        # The blob is bright (L ~ 80) and the sky dark (L < 10): both are present.
        assert 0 < item["galaxy_mask"].float().mean() < 1


@pytest.mark.parametrize("color", [RED, BLUE, (250, 210, 170), (40, 60, 200), (128, 128, 128)])
def test_ab_of_a_pure_color_image_is_its_lab_color(tmp_path, color):
    save_rgb(tmp_path / "solid.png", solid(color, (48, 48)))
    item = ImageFolder(tmp_path, size=16)[0]
    expected = lab_of(color)
    assert np.abs(item["lightness"].numpy() - expected[0]).max() <= LAB_TOLERANCE
    assert np.abs(item["ab"].numpy() - expected[1:, None, None]).max() <= LAB_TOLERANCE


def test_lightness_matches_galcolor_load_at_native_size(tmp_path):
    """Same pixels in, same L out: at size = image size nothing is resampled."""
    path = save_rgb(tmp_path / "galaxy.png", noisy_galaxy((32, 32)))
    item = ImageFolder(tmp_path, size=32)[0]
    assert np.abs(item["lightness"][0].numpy() - galcolor.load(path).lightness).max() <= LAB_TOLERANCE


def test_items_batch_through_a_dataloader(tmp_path):
    data = ImageFolder(color_folder(tmp_path, n=5), size=16)
    batches = list(DataLoader(data, batch_size=2, num_workers=0))
    assert [len(batch["index"]) for batch in batches] == [2, 2, 1]
    assert batches[0]["ab"].shape == (2, 2, 16, 16) and batches[0]["galaxy_mask"].dtype == torch.bool
    assert torch.cat([batch["index"] for batch in batches]).tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- crop and resize


def red_centre_blue_border(shape=(64, 64)) -> np.ndarray:
    height, width = shape
    pixels = solid(BLUE, shape)
    pixels[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = RED
    return pixels


@pytest.mark.parametrize("crop", [0.5, 32])
def test_crop_keeps_the_centre(tmp_path, crop):
    save_rgb(tmp_path / "framed.png", red_centre_blue_border())
    item = ImageFolder(tmp_path, size=16, crop=crop)[0]
    # The crop is taken before anti-aliasing, so not even a blurred blue edge survives.
    assert np.abs(item["ab"].numpy() - lab_of(RED)[1:, None, None]).max() <= LAB_TOLERANCE


def test_without_crop_the_whole_frame_is_kept(tmp_path):
    save_rgb(tmp_path / "framed.png", red_centre_blue_border())
    ab = ImageFolder(tmp_path, size=16)[0]["ab"].numpy()
    assert np.abs(ab[:, 0, 0] - lab_of(BLUE)[1:]).max() <= LAB_TOLERANCE
    assert np.abs(ab[:, 8, 8] - lab_of(RED)[1:]).max() <= LAB_TOLERANCE


def test_a_non_square_frame_gives_its_central_square_undistorted(tmp_path):
    pixels = solid(BLUE, (40, 80))
    pixels[:, 20:60] = RED  # the central 40x40 square
    save_rgb(tmp_path / "wide.png", pixels)
    item = ImageFolder(tmp_path, size=20)[0]
    assert np.abs(item["ab"].numpy() - lab_of(RED)[1:, None, None]).max() <= LAB_TOLERANCE
    half = ImageFolder(tmp_path, size=20, crop=0.5)[0]  # half of the shorter side: 20 px
    assert np.abs(half["ab"].numpy() - lab_of(RED)[1:, None, None]).max() <= LAB_TOLERANCE


def test_an_int_crop_larger_than_the_image_is_a_failure_not_a_crash(tmp_path):
    save_rgb(tmp_path / "a_small.png", solid(RED, (16, 16)))
    save_rgb(tmp_path / "b_large.png", solid(BLUE, (64, 64)))
    data = ImageFolder(tmp_path, size=16, crop=32)
    with pytest.warns(GalcolorWarning, match="a_small.png"):
        item = data[0]
    assert item["index"] == 1
    assert data.failures == [(str(tmp_path / "a_small.png"), "crop of 32 px does not fit in the 16x16 image")]


@pytest.mark.parametrize("size, expected_bad", [(16, 1), (128, 4)])
def test_masked_pixels_stay_masked_after_resizing(tmp_path, size, expected_bad):
    rgba = np.concatenate([noisy_galaxy((64, 64)), np.full((64, 64, 1), 255, np.uint8)], axis=2)
    rgba[10, 21, 3] = 0  # one transparent pixel
    save_rgb(tmp_path / "holed.png", rgba)
    item = ImageFolder(tmp_path, size=size)[0]
    invalid = ~item["valid_mask"][0]
    # Downsampling 4x: the one output pixel over (10, 21) is (2, 5); upsampling
    # 2x: the 2x2 block at (20:22, 42:44).
    assert int(invalid.sum()) == expected_bad
    scale = size / 64
    assert invalid[int(10 * scale), int(21 * scale)]
    assert not item["galaxy_mask"][0][invalid].any()
    assert (item["lightness"][0][invalid] == 0).all() and (item["ab"][:, invalid] == 0).all()


@pytest.mark.parametrize("kwargs", [
    {"crop": 1.5}, {"crop": 0.0}, {"crop": 0}, {"crop": True}, {"crop": "half"},
    {"size": 0}, {"size": 12.5}, {"split": "test"}, {"val_fraction": 1.5}, {"transform": 3},
])
def test_invalid_arguments_are_value_errors_naming_the_argument(tmp_path, kwargs):
    color_folder(tmp_path, n=1)
    name = next(iter(kwargs))
    with pytest.raises(InputError, match=name):
        ImageFolder(tmp_path, **kwargs)
    assert issubclass(InputError, ValueError)


# ---------------------------------------------------------------- files found


def test_files_are_found_recursively_in_sorted_order_skipping_hidden_and_other_files(tmp_path):
    for name in ["b.png", "a.jpg", "sub/c.PNG", "sub/deeper/d.tif", ".hidden.png", ".cache/e.png"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(solid(RED, (8, 8))).save(path, format="TIFF" if name.endswith("tif") else None)
    (tmp_path / "notes.txt").write_text("not an image")
    data = ImageFolder(tmp_path, size=8)
    assert data.records.file.tolist() == ["a.jpg", "b.png", "sub/c.PNG", "sub/deeper/d.tif"]
    assert data.records.path.tolist() == [str(tmp_path / name) for name in data.records.file]
    flat = ImageFolder(tmp_path, size=8, recursive=False)
    assert flat.records.file.tolist() == ["a.jpg", "b.png"]


def test_an_empty_folder_or_a_missing_root_is_an_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(InputError, match="no JPEG, PNG, TIFF or FITS files"):
        ImageFolder(tmp_path)
    with pytest.raises(FileFormatError, match="not a folder"):
        ImageFolder(tmp_path / "missing")


def test_repr_and_len(tmp_path):
    data = ImageFolder(color_folder(tmp_path, n=2), size=16, crop=0.5)
    assert len(data) == 2
    assert repr(data) == (
        f"ImageFolder(root={str(tmp_path)!r}, files=2, split=None, size=16, crop=0.5, "
        f"manifest=None, failures=0)"
    )


def test_indexing_follows_python_rules(tmp_path):
    data = ImageFolder(color_folder(tmp_path, n=3), size=8)
    assert data[-1]["index"] == 2 and data[np.int64(1)]["index"] == 1
    with pytest.raises(IndexError):
        data[3]
    with pytest.raises(IndexError):
        data[-4]


def test_transform_is_applied_to_every_item(tmp_path):
    def flip(item):
        return {**item, "lightness": item["lightness"].flip(-1), "flipped": True}

    color_folder(tmp_path, n=2)
    plain, flipped = ImageFolder(tmp_path, size=16)[1], ImageFolder(tmp_path, size=16, transform=flip)[1]
    assert flipped["flipped"] and flipped["index"] == 1
    assert torch.equal(flipped["lightness"], plain["lightness"].flip(-1))
    assert torch.equal(flipped["ab"], plain["ab"])


# ---------------------------------------------------------------- splits


def test_hash_split_is_a_fixed_function_of_the_file_name():
    # Pinned values: SHA-256, not Python's salted hash(), so they hold in any
    # process. At val_fraction=0.5 a name is "val" when its digest is below
    # 2**255, i.e. its first byte is below 128.
    names = [f"{index}.jpg" for index in range(8)]
    assert [hash_split(name, 0.5) for name in names] == PINNED_HALF_SPLIT
    by_first_byte = ["val" if hashlib.sha256(name.encode()).digest()[0] < 128 else "train" for name in names]
    assert by_first_byte == PINNED_HALF_SPLIT
    assert {hash_split(name, 0.0) for name in names} == {"train"}
    assert {hash_split(name, 1.0) for name in names} == {"val"}


PINNED_HALF_SPLIT = ["val", "val", "train", "train", "train", "val", "val", "train"]


def test_splits_are_deterministic_disjoint_and_cover_every_file(tmp_path):
    names = [f"g{index:03d}.png" for index in range(60)]
    for name in names:
        save_rgb(tmp_path / name, solid(RED, (4, 4)))
    everything = ImageFolder(tmp_path, size=4)
    train = ImageFolder(tmp_path, size=4, split="train", val_fraction=0.25)
    val = ImageFolder(tmp_path, size=4, split="val", val_fraction=0.25)
    again = ImageFolder(tmp_path, size=4, split="val", val_fraction=0.25)
    assert val.records.file.tolist() == again.records.file.tolist()
    assert set(train.records.file).isdisjoint(val.records.file)
    assert sorted(train.records.file.tolist() + val.records.file.tolist()) == everything.records.file.tolist()
    assert val.records.file.tolist() == [n for n in names if hash_split(n, 0.25) == "val"]
    # Binomial(60, 0.25): mean 15, sd 3.4; 5..25 is ~3 sd either side.
    assert 5 <= len(val) <= 25


def test_split_depends_on_the_file_name_not_the_folder(tmp_path):
    for name in ["x1.png", "x2.png", "x3.png", "x4.png"]:
        save_rgb(tmp_path / "one" / name, solid(RED, (4, 4)))
        save_rgb(tmp_path / "two" / "nested" / name, solid(RED, (4, 4)))
    one = ImageFolder(tmp_path / "one", size=4, val_fraction=0.5)
    two = ImageFolder(tmp_path / "two", size=4, val_fraction=0.5)
    assert one.records.split.tolist() == two.records.split.tolist()


def test_an_empty_split_is_an_error(tmp_path):
    color_folder(tmp_path, n=3)
    assert len(ImageFolder(tmp_path, split="train", val_fraction=0.0)) == 3
    with pytest.raises(InputError, match="0 in split 'val'"):
        ImageFolder(tmp_path, split="val", val_fraction=0.0)


# ---------------------------------------------------------------- manifests


def manifest_folder(root: Path) -> Path:
    rows = []
    for index, (survey, split) in enumerate([("sdss", "train"), ("sdss", " VAL "), ("decals", "train"),
                                             ("decals", "val"), ("hsc", "test"), ("sdss", "train")]):
        name = f"img{5 - index}.png"  # manifest order is not file order
        save_rgb(root / name, solid(RED, (8, 8)))
        rows.append({"file": name, "survey": survey, "split": split, "width": 8})
    save_rgb(root / "not_listed.png", solid(BLUE, (8, 8)))
    return write_manifest(root / "MANIFEST.csv", rows)


def test_manifest_lists_the_files_and_its_columns_become_records(tmp_path):
    manifest = manifest_folder(tmp_path)
    data = ImageFolder(tmp_path, size=8, manifest=manifest)
    assert data.records.columns.tolist() == ["path", "file", "split", "survey", "width"]
    assert data.records.file.tolist() == [f"img{index}.png" for index in range(6)]  # sorted
    assert "not_listed.png" not in data.records.file.tolist()
    assert data.records.set_index("file").loc["img4.png", "survey"] == "sdss"
    assert repr(data).endswith("manifest='MANIFEST.csv', failures=0)")


def test_manifest_split_column_overrides_the_hash(tmp_path):
    manifest = manifest_folder(tmp_path)
    # With val_fraction=0 the hash would put every file in train.
    val = ImageFolder(tmp_path, size=8, manifest=manifest, split="val", val_fraction=0.0)
    train = ImageFolder(tmp_path, size=8, manifest=manifest, split="train", val_fraction=0.0)
    assert val.records.file.tolist() == ["img2.png", "img4.png"]  # " VAL " counts as val
    assert train.records.file.tolist() == ["img0.png", "img3.png", "img5.png"]
    # "test" belongs to neither split but is served with split=None.
    assert len(ImageFolder(tmp_path, size=8, manifest=manifest)) == 6


def test_where_filters_on_manifest_columns_before_the_split(tmp_path):
    manifest = manifest_folder(tmp_path)
    sdss = ImageFolder(tmp_path, size=8, manifest=manifest, where=lambda r: r.survey == "sdss")
    assert sdss.records.file.tolist() == ["img0.png", "img4.png", "img5.png"]
    both = ImageFolder(tmp_path, size=8, manifest=pd.read_csv(manifest), split="val",
                       where=lambda r: r.survey.isin(["decals", "hsc"]))
    assert both.records.file.tolist() == ["img2.png"]
    with pytest.raises(InputError, match="0 kept by where="):
        ImageFolder(tmp_path, manifest=manifest, where=lambda r: r.survey == "hst")
    with pytest.raises(InputError, match="one bool per record"):
        ImageFolder(tmp_path, manifest=manifest, where=lambda r: [True])


def test_a_second_path_column_in_the_manifest_is_kept_renamed(tmp_path):
    color_folder(tmp_path, n=1)
    manifest = write_manifest(tmp_path / "m.csv", [{"file": "galaxy00.png", "path": "/archive/g0.fits"}])
    records = ImageFolder(tmp_path, manifest=manifest).records
    assert records.columns.tolist() == ["path", "file", "split", "manifest_path"]
    assert records.path[0] == str(tmp_path / "galaxy00.png") and records.manifest_path[0] == "/archive/g0.fits"


def test_manifest_without_split_column_uses_the_name_hash(tmp_path):
    color_folder(tmp_path, n=8)
    names = [f"galaxy{index:02d}.png" for index in range(8)]
    manifest = write_manifest(tmp_path / "list.csv", [{"path": name} for name in names])
    data = ImageFolder(tmp_path, size=8, manifest=manifest, val_fraction=0.5)
    assert data.records.split.tolist() == [hash_split(name, 0.5) for name in names]


def test_bad_manifests_are_reported(tmp_path):
    color_folder(tmp_path, n=2)
    with pytest.raises(FileFormatError, match="manifest not found"):
        ImageFolder(tmp_path, manifest=tmp_path / "nope.csv")
    no_name = write_manifest(tmp_path / "no_name.csv", [{"survey": "sdss"}])
    with pytest.raises(InputError, match=r"file-name column named one of \['file', 'path', 'filename'\]"):
        ImageFolder(tmp_path, manifest=no_name)
    twice = write_manifest(tmp_path / "twice.csv", [{"file": "galaxy00.png"}, {"file": "galaxy00.png"}])
    with pytest.raises(InputError, match="more than once.*galaxy00.png"):
        ImageFolder(tmp_path, manifest=twice)


def test_a_listed_file_that_is_missing_is_a_failure(tmp_path):
    color_folder(tmp_path, n=1)
    manifest = write_manifest(tmp_path / "m.csv", [{"file": "galaxy00.png"}, {"file": "gone.png"}])
    data = ImageFolder(tmp_path, size=8, manifest=manifest)
    with pytest.warns(GalcolorWarning, match="gone.png: file not found"):
        assert data[1]["index"] == 0  # wraps around to the first file
    assert data.failures == [(str(tmp_path / "gone.png"), "file not found")]


# ---------------------------------------------------------------- bad files


def test_corrupt_files_are_skipped_with_a_warning_and_counted_and_the_epoch_completes(tmp_path):
    for name in ["a_good.png", "c_good.png", "e_good.png"]:
        save_rgb(tmp_path / name, noisy_galaxy((24, 24)))
    truncated, text = broken_files(tmp_path)
    data = ImageFolder(tmp_path, size=16)
    assert len(data) == 5
    with pytest.warns(GalcolorWarning) as caught:
        batches = list(DataLoader(data, batch_size=2, num_workers=0))
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 2
    assert messages[0].startswith(f"ImageFolder skipped {truncated}: cannot read image")
    assert messages[1].startswith(f"ImageFolder skipped {text}: cannot read image")
    assert [path for path, _ in data.failures] == [str(truncated), str(text)]
    # Every index yields an item; a bad file is replaced by the next good one.
    served = torch.cat([batch["index"] for batch in batches]).tolist()
    assert served == [0, 2, 2, 4, 4]
    # Failed files are not retried: a second epoch is silent (GalcolorWarning is an error here).
    assert len(list(DataLoader(data, batch_size=2))) == 3
    assert len(data.failures) == 2
    assert repr(data).endswith("failures=2)")


def test_a_failing_last_file_wraps_around_to_the_first(tmp_path):
    save_rgb(tmp_path / "a.png", noisy_galaxy((16, 16)))
    (tmp_path / "z.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    data = ImageFolder(tmp_path, size=8)
    with pytest.warns(GalcolorWarning, match="z.png"):
        assert data[1]["index"] == 0


def test_indexing_raises_when_every_file_fails(tmp_path):
    broken_files(tmp_path)
    data = ImageFolder(tmp_path, size=8)
    with pytest.warns(GalcolorWarning), \
            pytest.raises(InputError, match="none of the 2 files could be loaded"):
        data[0]


def test_grey_images_and_single_band_fits_are_not_training_pairs(tmp_path, fits_2d):
    save_rgb(tmp_path / "pngs" / "b_color.png", noisy_galaxy((32, 32)))
    Image.fromarray(noisy_galaxy((32, 32))[..., 0]).save(tmp_path / "pngs" / "a_grey.png")
    data = ImageFolder(tmp_path / "pngs", size=16)
    with pytest.warns(GalcolorWarning, match=r"a_grey.png: has no color \(a grey image"):
        assert data[0]["index"] == 1
    single = ImageFolder(fits_2d.parent, size=16, recursive=False)
    with pytest.warns(GalcolorWarning, match="galaxy_r.fits: has no color"), \
            pytest.raises(InputError, match="none of the 1 files"):
        single[0]
    assert len(single.failures) == 1


def test_fits_cube_with_three_bands_gives_a_color_pair(tmp_path):
    size = 48
    base = galaxy_image(shape=(size, size), sky=0.0, noise=0.01, peak=5.0)
    g, r, i = base.copy(), base.copy(), base.copy()
    i[:, : size // 2] *= 3.0  # reddest band bright on the left
    g[:, size // 2:] *= 3.0  # bluest band bright on the right
    header = fits.Header()
    header["BANDS"] = "gri"
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.stack([g, r, i]), header=header).writeto(path)

    item = ImageFolder(tmp_path, size=size)[0]
    truth = galcolor.load(path).truth_rgb
    # At native size the pair is exactly the Lab of the Lupton composite.
    lab = rgb_to_lab_numpy(truth)
    assert np.abs(item["lightness"][0].numpy() - lab[..., 0]).max() <= LAB_TOLERANCE
    assert np.abs(item["ab"].numpy() - lab[..., 1:].transpose(2, 0, 1)).max() <= LAB_TOLERANCE
    assert item["galaxy_mask"][0, size // 2, size // 2] and not item["galaxy_mask"][0, 0, 0]
    # i -> R, g -> B: the left of the galaxy is redder (higher b*) than the right.
    b = item["ab"][1]
    centre = item["galaxy_mask"][0]
    left = b[:, : size // 2][centre[:, : size // 2]].mean()
    right = b[:, size // 2:][centre[:, size // 2:]].mean()
    assert left > right
    resized = ImageFolder(tmp_path, size=16, crop=0.5)[0]
    assert resized["ab"].shape == (2, 16, 16) and resized["galaxy_mask"].any()


# ---------------------------------------------------------------- real data


@requires_shared_data()
def test_sdss_galaxy_zoo_folders(shared_data):
    train = ImageFolder(shared_data / "sdss-gz" / "train", size=64, crop=0.5)
    val = ImageFolder(shared_data / "sdss-gz" / "val", size=64, crop=0.5)
    assert (len(train), len(val)) == (6704, 500)
    for index in (0, len(train) - 1):
        item = train[index]
        assert item["index"] == index and item["valid_mask"].all()
        galaxy = item["galaxy_mask"][0]
        # The galaxy is in the centre of the crop; the crop corners are mostly sky.
        assert galaxy[28:36, 28:36].all()
        chroma = item["ab"].norm(dim=0)[galaxy]
        # DESIGN.md: galaxy-pixel chroma has median ~12, 99th percentile ~67.
        assert float(chroma.median()) < 67
    assert not train.failures


@requires_shared_data()
def test_hash_split_of_the_sdss_training_folder(shared_data):
    root = shared_data / "sdss-gz" / "train"
    train = ImageFolder(root, split="train")
    val = ImageFolder(root, split="val")
    assert len(train) + len(val) == 6704 and set(train.records.file).isdisjoint(val.records.file)
    # Binomial(6704, 0.1): sd 24.6 files; +-0.02 is ~5 sd.
    assert 0.08 < len(val) / 6704 < 0.12


@requires_shared_data()
def test_multisurvey_with_its_manifest(shared_data):
    root = shared_data / "multisurvey"
    manifest = pd.read_csv(root / "MANIFEST.csv")
    data = ImageFolder(root, size=64, crop=0.5, manifest=root / "MANIFEST.csv")
    assert len(data) == len(manifest) == 591
    assert {"path", "file", "split", "survey", "width", "height"} <= set(data.records.columns)
    assert data.records.survey.value_counts().to_dict() == manifest.survey.value_counts().to_dict()
    decals = ImageFolder(root, manifest=root / "MANIFEST.csv", where=lambda r: r.survey == "decals")
    assert len(decals) == (manifest.survey == "decals").sum() and set(decals.records.survey) == {"decals"}
    # One file of each frame size (424, 320 and 512 px) loads into a pair: the
    # fractional crop adapts to the frame. (All surveys' files are JPEGs read
    # the same way, so one per size is enough.)
    firsts = data.records.drop_duplicates("width").index
    assert sorted(data.records.width[firsts]) == [320, 424, 512]
    for index in firsts:
        item = data[index]
        assert item["index"] == index and item["ab"].shape == (2, 64, 64)
    assert not data.failures


def test_cache_serves_identical_items_without_reloading(tmp_path, monkeypatch):
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[8:24, 8:24] = (240, 200, 160)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    data = ImageFolder(tmp_path, size=16, cache=True)
    first = data[0]
    first["ab"].zero_()  # a consumer modifying its item must not touch the cache
    calls = []
    monkeypatch.setattr(data, "_pair", lambda path: calls.append(path))
    second = data[0]
    assert calls == []
    assert float(second["ab"].abs().max()) > 1.0
