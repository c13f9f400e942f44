"""The galcolor command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from astropy.io import fits

import galcolor
from galcolor.cli import main


def test_info_on_the_embedded_example(capsys):
    assert main(["info", "--example"]) == 0
    out = capsys.readouterr().out
    assert "galcolor-example.fits" in out
    assert "128 x 128" in out
    assert "band          r (of g, r, i" in out
    assert "RA 150.116300 deg, Dec +2.201000 deg" in out
    assert "0.396 arcsec/pixel" in out
    assert "masked        0.00 %" in out
    assert "stretch       asinh (sky=" in out


def test_info_reports_failures_and_still_describes_the_rest(tmp_path, capsys, fits_2d):
    broken = tmp_path / "broken.fits"
    broken.write_text("not fits")
    assert main(["info", str(broken), str(fits_2d)]) == 1
    captured = capsys.readouterr()
    assert "broken.fits: not a readable FITS file" in captured.err
    assert str(fits_2d) in captured.out


def test_info_json_output(capsys, fits_2d):
    assert main(["info", "--json", str(fits_2d)]) == 0
    summary = json.loads(capsys.readouterr().out)[0]
    assert summary["shape"] == [48, 64] and summary["band"] == "r"
    assert abs(summary["ra_deg"] - 150.0) < 1e-6 and abs(summary["pixel_scale_arcsec"] - 0.396) < 1e-6
    assert summary["mask_fraction"] == 0.0


def test_info_band_and_hdu_options(tmp_path, capsys):
    path = tmp_path / "cube.fits"
    header = fits.Header({"BANDS": "gri"})
    fits.PrimaryHDU(np.random.default_rng(0).normal(size=(3, 8, 8)).astype(np.float32), header=header).writeto(path)
    assert main(["info", "--json", "--band", "i", "--hdu", "0", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["band"] == "i"
    assert main(["info", "--json", "--band", "0", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["band"] == "g"


def test_info_without_inputs_is_a_usage_error(capsys):
    assert main(["info"]) == 2
    assert "give at least one INPUT" in capsys.readouterr().err


def test_python_dash_m_galcolor():
    result = subprocess.run([sys.executable, "-m", "galcolor", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"galcolor {galcolor.__version__}"


def test_simulate_writes_cube_band_jpeg_and_truth(tmp_path, capsys):
    from astropy.table import QTable
    from PIL import Image

    assert main(["simulate", "-n", "2", "-o", str(tmp_path), "--size", "48", "--seed", "4"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["sim-4-000000.jpg", "sim-4-000000_gri.fits", "sim-4-000000_r.fits", "sim-4-000000_truth.ecsv",
                     "sim-4-000001.jpg", "sim-4-000001_gri.fits", "sim-4-000001_r.fits", "sim-4-000001_truth.ecsv"]
    cube = galcolor.load(tmp_path / "sim-4-000000_gri.fits")
    single = galcolor.load(tmp_path / "sim-4-000000_r.fits")
    assert cube.band == single.band == "r" and single.shape == (48, 48)
    truth = QTable.read(tmp_path / "sim-4-000000_truth.ecsv")
    assert truth.meta["seed"] == 4 and "is_star_forming" in truth.colnames
    # The JPEG is the composite shown north up: row 0 of the JPEG is the top
    # row (last FITS row) of the composite.
    from galcolor.datasets import simulate

    expected = simulate(1, size=48, seed=4)[0].rgb[::-1]
    jpeg = np.asarray(Image.open(tmp_path / "sim-4-000000.jpg")) / 255.0
    assert np.abs(jpeg - expected).mean() < 0.02  # JPEG quality 95 artefacts only
    assert "wrote 2 simulated galaxies" in capsys.readouterr().out


def test_fetch_kaggle_without_credentials_fails_cleanly(tmp_path, monkeypatch, capsys):
    for variable in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    assert main(["fetch", "kaggle", "--dest", str(tmp_path / "data")]) == 1
    error = capsys.readouterr().err
    assert "KAGGLE_USERNAME" in error and "kaggle.json" in error


def test_warnings_print_as_one_line_naming_the_file(tmp_path, capsys):
    import numpy as np
    from astropy.io import fits

    path = tmp_path / "galaxy_r.fits"  # the name says r, the header says g
    data = np.random.default_rng(0).normal(10.0, 1.0, (32, 32)).astype(np.float32)
    fits.PrimaryHDU(data, header=fits.Header({"FILTER": "g"})).writeto(path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the suite turns warnings into errors; a user's shell shows them
        assert main(["colorize", str(path), "-o", str(tmp_path / "out"), "--no-tta", "--quiet"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    warned = [line for line in err if "FILTER" in line]
    assert len(warned) == 1
    assert warned[0].startswith("galcolor: GalcolorWarning: ") and str(path) in warned[0]
    assert not any("sys.exit" in line or "warnings.warn" in line for line in err)


def test_a_colorize_run_that_writes_nothing_leaves_no_empty_folder(tmp_path, capsys):
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    target = tmp_path / "out"
    assert main(["colorize", str(broken), "-o", str(target), "--no-tta", "--quiet"]) == 1
    assert not target.exists()
    assert "nothing written" in capsys.readouterr().out
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["colorize", str(broken), "-o", str(existing), "--no-tta", "--quiet"]) == 1
    assert existing.is_dir()  # a folder the user made is theirs to keep


def test_help_imports_neither_torch_nor_astropy() -> None:
    # ``galcolor --help`` took 4.6 s importing torch, astropy and photutils
    # before printing a line; each command now imports what it runs on.
    code = ("import sys, contextlib, io\n"
            "from galcolor.cli import main\n"
            "for argv in (['--help'], ['train', '--help'], ['regions', '--help'], ['pipeline', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "        main(argv)\n"
            "heavy = sorted({name.split('.')[0] for name in sys.modules} & {'torch', 'astropy', 'photutils', 'skimage', 'scipy'})\n"
            "print(heavy)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_astropy_warnings_print_as_one_clean_line_naming_the_file(tmp_path):
    # astropy's logger printed its warnings its own way, over several lines
    # ("WARNING: ... [galcolor.colorizer]"), once the command had imported it
    path = tmp_path / "odd_card.fits"
    fits.writeto(path, (100 * np.exp(-np.hypot(*np.mgrid[-24:24, -24:24]) / 5)).astype(np.float32))
    data = bytearray(path.read_bytes())
    end = data.index(b"END     ")
    data[end:end + 160] = b"BAD!KEY = 5 / garbage".ljust(80) + b"END".ljust(80)
    path.write_bytes(bytes(data))
    # a fresh interpreter: there the command imports astropy after main() began
    done = subprocess.run([sys.executable, "-m", "galcolor", "colorize", str(path), "-o", str(tmp_path / "out"),
                           "--no-tta", "--quiet"], capture_output=True, text=True, check=True)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("galcolor: ") and "odd_card.fits" in line for line in lines), lines
