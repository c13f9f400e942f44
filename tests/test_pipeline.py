"""Survey pipeline: inputs, end-to-end runs, failures, resume after a real kill, Dask scheduler path."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed
import numpy as np
import pandas as pd
import pytest

from galcolor import catalog
from galcolor.catalog import REGION_COLUMNS
from galcolor.datasets import iter_simulate
from galcolor.pipeline import (
    FAILURE_COLUMNS,
    GALAXY_COLUMNS,
    PipelineError,
    cutout_ids,
    read_inputs,
    read_run,
    run_pipeline,
)

N_GOOD = 9
# Every candidate region (min_score=0): the default model finds few confident
# clumps in predicted color, and the catalogs compared here must not be empty.
OPTIONS = dict(tta=False, device="cpu", batch_size=2, progress=False, min_score=0.0)


@pytest.fixture(scope="module")
def cutouts(tmp_path_factory) -> Path:
    """Nine simulated 64-px r-band cutouts with WCS and one truncated FITS file."""
    folder = tmp_path_factory.mktemp("cutouts")
    for galaxy in iter_simulate(N_GOOD, size=64, seed=4242):
        galaxy.band_hdu("r").writeto(folder / f"sim{galaxy.params['index']:02d}_r.fits")
    good = (folder / "sim00_r.fits").read_bytes()
    (folder / "sim05_truncated.fits").write_bytes(good[:4000])  # header complete, data cut short
    return folder


@pytest.fixture(scope="module")
def reference(cutouts, tmp_path_factory):
    """One uninterrupted in-process run over the cutouts."""
    output = tmp_path_factory.mktemp("reference") / "run"
    return run_pipeline(cutouts, output, workers=0, **OPTIONS)


def _assert_same_catalogs(first: Path, second: Path) -> None:
    """Equal regions (every column, exactly) and equal per-galaxy tables."""
    one = catalog.read(first / "regions.parquet")
    two = catalog.read(second / "regions.parquet")
    assert one.colnames == two.colnames
    assert len(one) == len(two)
    for name in one.colnames:
        np.testing.assert_array_equal(np.asarray(one[name]), np.asarray(two[name]), err_msg=name)
    pd.testing.assert_frame_equal(pd.read_parquet(first / "galaxies.parquet"),
                                  pd.read_parquet(second / "galaxies.parquet"))


# ------------------------------------------------------------------ inputs


def test_cutout_ids_strip_extensions_and_number_repeats():
    assert cutout_ids(["a/x_r.fits.gz", "b/x_r.fits", "c/y.jpg"]) == ["x_r", "x_r-2", "y"]


def test_read_inputs_folder_sorted_skips_hidden_and_other_files(tmp_path):
    for name in ("b.fits", "a.jpg", ".a.fits.tmp-123.fits", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    table = read_inputs(tmp_path)
    assert [Path(path).name for path in table["path"]] == ["a.jpg", "b.fits"]
    assert table["id"].tolist() == ["a", "b"]
    assert table["ra"].isna().all() and table["band"].isna().all()


def test_a_simulate_folder_is_refused_with_the_kinds_to_choose_from(tmp_path):
    # galcolor simulate writes each galaxy as an r FITS, a gri cube and a
    # JPEG: a run over the folder queued 150 cutouts for 50 galaxies.
    for prefix in ("sim-0-000000", "sim-0-000001"):
        for name in (f"{prefix}.jpg", f"{prefix}_gri.fits", f"{prefix}_r.fits", f"{prefix}_truth.ecsv"):
            (tmp_path / name).write_bytes(b"x")
    with pytest.raises(PipelineError, match=r"2 galaxies as 3 kinds.*\*_r\.fits' \(2\)"):
        read_inputs(tmp_path)
    assert len(read_inputs(str(tmp_path / "*_r.fits"))) == 2
    for path in tmp_path.glob("*_gri.fits"):
        path.unlink()
    for path in tmp_path.glob("*.jpg"):
        path.unlink()
    assert len(read_inputs(tmp_path)) == 2  # one kind left: a folder is fine


def test_read_inputs_manifest_relative_paths_ids_bands_and_hdus(tmp_path):
    (tmp_path / "sub").mkdir()
    manifest = tmp_path / "sub" / "manifest.csv"
    pd.DataFrame({"path": ["x.fits", "/abs/y.fits"], "id": ["J1", ""], "ra": [10.5, None],
                  "band": ["r", None], "hdu": ["1", "SCI"], "survey": ["a", "b"]}).to_csv(manifest, index=False)
    table = read_inputs(manifest)
    assert table["path"].tolist() == [str(tmp_path / "sub" / "x.fits"), "/abs/y.fits"]
    assert table["id"].tolist() == ["J1", "y"]
    assert table["ra"].iloc[0] == 10.5 and np.isnan(table["ra"].iloc[1])
    assert table["band"].tolist() == ["r", None]
    assert table["hdu"].tolist() == [1, "SCI"]
    assert list(table.columns) == ["path", "id", "ra", "dec", "band", "hdu"]


def test_read_inputs_parquet_manifest_and_glob(tmp_path, cutouts):
    manifest = tmp_path / "m.parquet"
    pd.DataFrame({"path": [str(cutouts / "sim01_r.fits")]}).to_parquet(manifest)
    assert read_inputs(manifest)["id"].tolist() == ["sim01_r"]
    assert len(read_inputs(str(cutouts / "sim0[0-2]_r.fits"))) == 3


@pytest.mark.parametrize("make, message", [
    (lambda folder: folder, "no cutouts"),
    (lambda folder: folder / "missing.csv", "manifest not found"),
    (lambda folder: str(folder / "*.fits"), "matches no image"),
])
def test_read_inputs_errors_name_the_problem(tmp_path, make, message):
    with pytest.raises(PipelineError, match=message):
        read_inputs(make(tmp_path))


def test_read_inputs_refuses_repeated_ids_and_manifest_without_path(tmp_path):
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"path": ["a.fits", "b.fits"], "id": ["same", "same"]}).to_csv(manifest, index=False)
    with pytest.raises(PipelineError, match="repeated cutout id.*same"):
        read_inputs(manifest)
    pd.DataFrame({"file": ["a.fits"]}).to_csv(manifest, index=False)
    with pytest.raises(PipelineError, match=f"{manifest}: a manifest needs a 'path' column"):
        read_inputs(manifest)


# ------------------------------------------------------------------ runs


def test_run_writes_catalogs_summary_failures_and_record(reference, cutouts):
    output = reference.output
    assert (reference.n_inputs, reference.n_processed, reference.n_failed) == (N_GOOD + 1, N_GOOD, 1)
    galaxies = pd.read_parquet(output / "galaxies.parquet")
    assert list(galaxies.columns) == [column.name for column in GALAXY_COLUMNS]
    assert len(galaxies) == N_GOOD + 1
    as_csv = catalog.read(output / "galaxies.csv", schema=GALAXY_COLUMNS).to_pandas()
    assert list(as_csv.columns) == list(galaxies.columns)
    for name in ("cutout_id", "status", "n_regions", "summed_score", "mean_b"):
        np.testing.assert_array_equal(as_csv[name].to_numpy(), galaxies[name].to_numpy(), err_msg=name)
    bad = galaxies.set_index("cutout_id").loc["sim05_truncated"]
    assert bad["status"] == "failed" and bad["error_type"] == "FileFormatError"
    assert "sim05_truncated.fits" in bad["error"]
    ok = galaxies[galaxies["status"] == "ok"]
    assert ok["ra"].notna().all() and ok["mean_b"].notna().all()  # WCS centre and galaxy color

    failures = pd.read_csv(output / "failures.csv")
    assert list(failures.columns) == list(FAILURE_COLUMNS)
    assert failures["path"].tolist() == [str(cutouts / "sim05_truncated.fits")]
    assert failures["error_type"].tolist() == ["FileFormatError"]

    regions = catalog.read(output / "regions.parquet")  # a run's regions read as such, cutout_id documented
    assert regions.colnames == [column.name for column in REGION_COLUMNS] + ["cutout_id"]
    assert regions["cutout_id"].description.startswith("Cutout the region was found in")
    assert regions["id"].tolist() == list(range(1, len(regions) + 1))
    counts = regions.to_pandas()["cutout_id"].value_counts()
    for row in ok.itertuples():
        assert counts.get(row.cutout_id, 0) == row.n_regions
        selected = regions[regions["cutout_id"] == row.cutout_id]
        assert row.summed_score == pytest.approx(float(np.sum(selected["score"])))
        assert set(selected["source"]) <= {row.source}
    assert reference.n_regions == len(regions) > 0
    fits_copy = catalog.read(output / "regions.fits")
    np.testing.assert_array_equal(fits_copy["score"], regions["score"])

    record = read_run(output)
    assert record["status"] == "complete"
    assert record["counts"] == {"inputs": N_GOOD + 1, "parts": 5, "parts_resumed": 0, "processed": N_GOOD,
                                "failed": 1, "regions": len(regions)}
    assert record["model"]["name"] == "default" and len(record["model"]["weights_sha256"]) == 64
    assert record["config"]["tta"] is False and record["engine"] == "in-process"
    assert not list((output / "parts").glob(".*"))  # no temporary files left


def test_rerun_resumes_and_refuses_other_parameters(reference, cutouts, tmp_path):
    output = tmp_path / "copy"
    shutil.copytree(reference.output, output)
    again = run_pipeline(cutouts, output, workers=0, **OPTIONS)
    assert again.n_resumed_parts == 5 and np.isnan(again.cutouts_per_second)
    assert again.n_processed == N_GOOD and read_run(output)["sessions"] == 2
    _assert_same_catalogs(reference.output, output)
    with pytest.raises(PipelineError, match="different regions"):
        run_pipeline(cutouts, output, workers=0, **{**OPTIONS, "min_score": 0.1})
    with pytest.raises(PipelineError, match="different batch_size"):
        run_pipeline(cutouts, output, workers=0, **{**OPTIONS, "batch_size": 3})


def test_strict_run_fails_at_the_bad_file_and_leaves_its_part_undone(cutouts, tmp_path):
    with pytest.raises(PipelineError, match=r"sim05_truncated\.fits: FileFormatError"):
        run_pipeline(cutouts, tmp_path / "strict", workers=0, strict=True, **OPTIONS)
    done = sorted(path.name for path in (tmp_path / "strict" / "parts").glob("*.galaxies.parquet"))
    # sorted inputs in parts of 2: (00, 01) (02, 03) (04, 05_r) (05_truncated, 06) ...
    assert done == [f"part-{part:06d}.galaxies.parquet" for part in range(3)]
    assert read_run(tmp_path / "strict")["status"] == "failed"
    assert not (tmp_path / "strict" / "regions.parquet").exists()


def test_products_are_written_per_cutout(cutouts, tmp_path):
    result = run_pipeline(str(cutouts / "sim0[0-1]_r.fits"), tmp_path / "products", workers=0, products=True,
                          **OPTIONS)
    assert result.n_processed == 2
    assert sorted(path.name for path in (tmp_path / "products" / "products").iterdir()) == [
        "sim00_r_galcolor.fits", "sim01_r_galcolor.fits"]


def test_scheduler_address_path_loads_the_model_once_per_worker(cutouts, reference, tmp_path):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        result = run_pipeline(cutouts, tmp_path / "dask", scheduler=cluster.scheduler_address, **OPTIONS)
    record = read_run(tmp_path / "dask")
    assert record["engine"] == f"dask scheduler {cluster.scheduler_address}"
    (worker,) = record["worker_stats"].values()
    assert worker["parts"] == 5 and worker["model_loads"] == 1
    assert result.n_failed == 1
    _assert_same_catalogs(reference.output, tmp_path / "dask")


def test_unreachable_scheduler_is_a_clear_error(cutouts, tmp_path, monkeypatch):
    monkeypatch.setattr("galcolor.pipeline.SCHEDULER_TIMEOUT", "2s")
    with pytest.raises(PipelineError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_pipeline(cutouts, tmp_path / "nowhere", scheduler="tcp://127.0.0.1:9", **OPTIONS)


# A Dask worker preload for the killed run: the worker's first part runs to the end and
# is written; the second one signals and waits, so the kill always comes with exactly one
# part done, however slow the machine.
_HOLD_THE_SECOND_PART = """
import pathlib
import time

import galcolor.pipeline


def holding(process_part):
    started = []

    def process_part_or_hold(part, records, settings):
        started.append(part)
        if len(started) > 1:
            pathlib.Path({signal!r}).touch()
            time.sleep(3600)  # until the kill
        return process_part(part, records, settings)

    process_part_or_hold.holds = True
    return process_part_or_hold


# Tasks name the function; the worker looks it up here. A worker may import (reload)
# its preloads more than once: wrap once, and keep the state in the closure.
if not getattr(galcolor.pipeline.process_part, "holds", False):
    galcolor.pipeline.process_part = holding(galcolor.pipeline.process_part)
"""


def test_kill_9_then_rerun_gives_the_uninterrupted_catalog(cutouts, reference, tmp_path):
    output = tmp_path / "killed"
    held = tmp_path / "second-part-held"
    preload = tmp_path / "hold_the_second_part.py"
    preload.write_text(_HOLD_THE_SECOND_PART.format(signal=str(held)))
    command = [sys.executable, "-m", "galcolor", "pipeline", str(cutouts), "-o", str(output), "--workers", "1",
               "--batch-size", "2", "--no-tta", "--device", "cpu", "--min-score", "0", "--quiet"]
    environment = {**os.environ, "DASK_DISTRIBUTED__WORKER__PRELOAD": json.dumps([str(preload)])}
    log = tmp_path / "pipeline.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(command, start_new_session=True, stdout=stream, stderr=subprocess.STDOUT,
                                   env=environment)
    parts = output / "parts"
    deadline = time.monotonic() + 240
    try:
        while not held.exists():
            assert process.poll() is None, ("the pipeline ended before it could be killed (was its worker "
                                             "held?):\n" + log.read_text(errors="replace")[-3000:])
            assert time.monotonic() < deadline, "the worker did not reach its second part in 240 s"
            time.sleep(0.1)
        assert process.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing left of the group to kill
            os.killpg(process.pid, signal.SIGKILL)  # the CLI, its scheduler and its worker processes
        process.wait()
    finished = list(parts.glob("part-*.galaxies.parquet"))
    assert len(finished) == 1, "the kill did not come with exactly one of the five parts done"
    assert 1 <= len(finished) < 5, "the kill came after the run had finished"
    assert json.loads((output / "run.json").read_text())["status"] == "running"
    assert not (output / "regions.parquet").exists()
    assert not (output / "galaxies.parquet").exists()

    resumed = run_pipeline(cutouts, output, workers=0, **OPTIONS)
    assert resumed.n_resumed_parts == len(finished)
    _assert_same_catalogs(reference.output, output)


def test_catalogs_readme_documents_the_galaxy_columns():
    readme = (Path(__file__).parents[1] / "catalogs" / "README.md").read_text()
    for name, description in ((column.name, column.description) for column in GALAXY_COLUMNS):
        assert f"| `{name}` | {description}. |" in readme, name


def test_parts_written_before_an_optional_column_merge_with_it_missing(tmp_path: Path) -> None:
    # A resumed run may hold parts written before an optional column (mirror_*) existed.
    from astropy.table import QTable

    from galcolor.catalog import RUN_REGION_COLUMNS, conform
    from galcolor.pipeline import _read_parts, _write_part

    def part(n: int, name: str, drop: tuple[str, ...] = ()) -> Path:
        columns = {column.name: np.full(n, 1.5 if column.dtype.kind == "f" else 1, dtype=column.dtype)
                   if column.dtype.kind != "U" else np.array([f"cutout-{i}" for i in range(n)])
                   for column in RUN_REGION_COLUMNS}
        table = conform(columns, schema=RUN_REGION_COLUMNS)
        table.remove_columns(list(drop))
        path = tmp_path / name
        if drop:  # as an older galcolor wrote it: astropy's Parquet, without the newer columns
            QTable(table).write(path, format="parquet")
        else:
            _write_part(table, path, 0)
        return path

    merged = _read_parts([part(2, "a.parquet"), part(3, "b.parquet", drop=("mirror_blue_excess", "mirror_a_excess"))],
                         RUN_REGION_COLUMNS)
    assert len(merged) == 5 and merged.colnames == [column.name for column in RUN_REGION_COLUMNS]
    assert np.array_equal(np.isnan(merged["mirror_blue_excess"]), [False, False, True, True, True])
    assert merged["source"][4] == "cutout-2" and merged["x"].unit == catalog.REGION_COLUMNS[3].unit
