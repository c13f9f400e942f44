"""Survey pipeline: throughput against the number of Dask workers, and memory per worker.

Simulates ``--n`` (2,000) single-band r FITS cutouts of 128 x 128 pixels
(seed 303, written once under ``runs/bench_pipeline/cutouts``) and runs
:func:`galcolor.pipeline.run_pipeline` over them on a ``LocalCluster``:

* 1 worker and 2 workers (1 thread each) over all ``--n`` cutouts: cutouts/s
  over the whole call (cluster start and model loading included) and the
  speed-up of 2 workers over 1;
* 2 workers over the first ``--n-small`` (500) cutouts: the peak resident
  memory of each worker after 500 and after 2,000 cutouts;
* 2 workers with test-time augmentation (the default of ``galcolor
  pipeline``) over ``--n-tta`` (200) cutouts;
* ``--memory``: only a 2-worker run over all ``--n`` cutouts, tracing the
  resident memory of each worker after every part (``pipeline_memory.md``,
  ``pipeline_memory.png``).

Every run starts from an empty output folder. The TTA-off runs use
``--no-tta`` speeds because 2,000 cutouts with TTA take about 8 times longer
on this CPU; the TTA run gives the factor. The projected time for a million
cutouts assumes each added worker (one core each) adds the measured
per-worker throughput.

Run from the repository root::

    python benchmarks/bench_pipeline.py [--n 2000] [--n-small 500] [--n-tta 200]

Results: ``benchmarks/results/pipeline/pipeline.md`` and ``.json``, figure
``pipeline_throughput.png`` (``--memory``: ``pipeline_memory.md``, ``.json``
and ``.png`` in the same folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from tqdm import tqdm  # noqa: E402

from galcolor._atomic import atomic_write  # noqa: E402
from galcolor.datasets import iter_simulate  # noqa: E402
from galcolor.pipeline import run_pipeline  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_json, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "pipeline"
WORK = Path("runs") / "bench_pipeline"
SEED = 303


def simulate(n: int, size: int) -> list[Path]:
    """The benchmark cutouts, simulated once and reused."""
    folder = WORK / f"cutouts-{size}px-seed{SEED}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"sim-{SEED}-{index:06d}_r.fits" for index in range(n)]
    missing = [index for index, path in enumerate(paths) if not path.exists()]
    if missing:
        for galaxy in tqdm(iter_simulate(n, size=size, seed=SEED), total=n, desc="simulating", unit="galaxy"):
            path = paths[galaxy.params["index"]]
            if not path.exists():
                with atomic_write(path) as temporary:
                    galaxy.band_hdu("r").writeto(temporary)
    return paths


def run(name: str, paths: list[Path], *, workers: int, tta: bool, batch_size: int) -> dict:
    output = WORK / name
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    result = run_pipeline([str(path) for path in paths], output, workers=workers, threads_per_worker=1,
                          tta=tta, batch_size=batch_size, device="cpu", progress=True)
    seconds = time.perf_counter() - started
    stats = result.record_data["worker_stats"]
    row = {"run": name, "cutouts": len(paths), "workers": workers, "tta": tta, "seconds": seconds,
           "cutouts_per_second": len(paths) / seconds, "failed": result.n_failed, "regions": result.n_regions,
           "model_loads": sum(entry["model_loads"] for entry in stats.values()),
           "peak_rss_mb_per_worker": sorted(round(entry["peak_rss_mb"], 1) for entry in stats.values()),
           "memory_trace": {f"worker {index + 1}": entry["memory_trace"]
                            for index, entry in enumerate(stats.values())}}
    print(json.dumps({key: value for key, value in row.items() if key != "memory_trace"}))
    return row


def memory(arguments, paths: list[Path], header: dict) -> None:
    """Resident memory of each worker after every part of a 2-worker run."""
    row = run("w2-memory", paths, workers=2, tta=False, batch_size=arguments.batch_size)
    trace = pd.DataFrame([{"worker": worker, "cutouts": point[0], "rss_mb": point[1]}
                          for worker, points in row["memory_trace"].items() for point in points])
    summary = {}
    for worker, points in trace.groupby("worker"):
        after = points[points["cutouts"] >= arguments.n_small / 2]
        # least-squares slope over the cutouts after the first n_small of the run
        slope = float(np.polyfit(after["cutouts"], after["rss_mb"], 1)[0]) if len(after) > 2 else float("nan")
        summary[worker] = {"first_part_mb": float(points["rss_mb"].iloc[0]),
                           "after_n_small_mb": float(after["rss_mb"].iloc[0]),
                           "end_mb": float(points["rss_mb"].iloc[-1]), "max_mb": float(points["rss_mb"].max()),
                           "slope_mb_per_1000_cutouts": 1000 * slope}
    record = {"cutouts": len(paths), "n_small": arguments.n_small, "run": row, "workers": summary}
    write_json(RESULTS / "pipeline_memory.json", record, header, indent=1)
    figure, axis = plt.subplots(figsize=(6, 3.2))
    sns.lineplot(data=trace, x="cutouts", y="rss_mb", hue="worker", marker=".", ax=axis)
    axis.axvline(arguments.n_small / 2, color="grey", linestyle=":", linewidth=1)
    axis.set_xlabel("cutouts processed by the worker")
    axis.set_ylabel("resident memory after each part (MB)")
    axis.set_title(f"pipeline worker memory, 2 workers, {len(paths)} cutouts", fontsize=9)
    axis.set_ylim(0, None)
    figure.tight_layout()
    save_figure(figure, RESULTS / "pipeline_memory.png", header, dpi=120)
    lines = ["# Pipeline worker memory", "",
             f"A 2-worker run (TTA off) over {len(paths)} simulated 128 px cutouts; the resident "
             "memory of each worker after every part. The dotted line is where the run had done "
             f"{arguments.n_small} cutouts.", "",
             "| worker | after its first part (MB) | after the run's first " + str(arguments.n_small)
             + " cutouts (MB) | at the end (MB) | highest (MB) | slope after that (MB per 1000 cutouts) |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {worker} | {entry['first_part_mb']:.0f} | {entry['after_n_small_mb']:.0f} | {entry['end_mb']:.0f} | "
              f"{entry['max_mb']:.0f} | {entry['slope_mb_per_1000_cutouts']:+.1f} |" for worker, entry in summary.items()]
    lines += ["", "![memory](pipeline_memory.png)", ""]
    write_markdown(RESULTS / "pipeline_memory.md", header, "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-small", type=int, default=500)
    parser.add_argument("--n-tta", type=int, default=200)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--memory", action="store_true",
                        help="only trace each worker's memory over a 2-worker run of --n cutouts")
    arguments = parser.parse_args()
    header = record_header()  # the pipeline colorizes with the shipped default model

    paths = simulate(arguments.n, arguments.size)
    if arguments.memory:
        memory(arguments, paths, header)
        return
    options = {"batch_size": arguments.batch_size}
    rows = [
        run("w1", paths, workers=1, tta=False, **options),
        run("w2", paths, workers=2, tta=False, **options),
        run("w2-small", paths[:arguments.n_small], workers=2, tta=False, **options),
        run("w2-tta", paths[:arguments.n_tta], workers=2, tta=True, **options),
    ]
    table = pd.DataFrame(rows)
    one, two = rows[0], rows[1]
    speedup = two["cutouts_per_second"] / one["cutouts_per_second"]
    per_worker = two["cutouts_per_second"] / 2
    tta_factor = rows[1]["cutouts_per_second"] / rows[3]["cutouts_per_second"]
    projection = []
    for workers in (1, 2, 16, 64, 256):
        rate = per_worker * workers
        projection.append({"workers": workers, "hours_no_tta": 1e6 / rate / 3600,
                           "hours_tta": 1e6 / (rate / tta_factor) / 3600})
    record = {
        "cutout_size": arguments.size, "batch_size": arguments.batch_size, "seed": SEED,
        "runs": rows, "speedup_2_over_1": speedup, "tta_slowdown": tta_factor,
        "peak_rss_growth_mb": max(two["peak_rss_mb_per_worker"]) - max(rows[2]["peak_rss_mb_per_worker"]),
        "projection_1e6": projection,
    }
    write_json(RESULTS / "pipeline.json", record, header, indent=1)

    figure, axis = plt.subplots(figsize=(6, 3.2))
    sns.barplot(data=table, x="run", y="cutouts_per_second", ax=axis, color="tab:blue")
    axis.set_ylabel("cutouts / s")
    axis.set_xlabel("")
    axis.set_title(f"galcolor pipeline, {arguments.size} px cutouts, {os.cpu_count()} cores, CPU only",
                   fontsize=9)
    for container in axis.containers:
        axis.bar_label(container, fmt="%.2f", fontsize=8)
    figure.tight_layout()
    save_figure(figure, RESULTS / "pipeline_throughput.png", header, dpi=120)

    lines = [
        "# Survey pipeline benchmark",
        "",
        f"Simulated single-band r FITS cutouts, {arguments.size} x "
        f"{arguments.size} px (seed {SEED}), default model, LocalCluster with 1 thread per worker, "
        f"{arguments.batch_size} cutouts per task. Throughput is over the whole call: cluster start, model "
        "loading, colorize, regions, part files and the final merge.",
        "",
        "| run | cutouts | workers | TTA | seconds | cutouts/s | model loads | peak RSS per worker (MB) |",
        "|-----|--------:|--------:|-----|--------:|----------:|------------:|--------------------------|",
    ]
    for row in rows:
        lines.append(f"| {row['run']} | {row['cutouts']} | {row['workers']} | {'on' if row['tta'] else 'off'} | "
                     f"{row['seconds']:.0f} | {row['cutouts_per_second']:.2f} | {row['model_loads']} | "
                     f"{', '.join(f'{value:.0f}' for value in row['peak_rss_mb_per_worker'])} |")
    lines += [
        "",
        f"- 2 workers / 1 worker: **{speedup:.2f}x** (goal >= 1.7x).",
        f"- Peak memory of the largest worker: {max(rows[2]['peak_rss_mb_per_worker']):.0f} MB after "
        f"{arguments.n_small} cutouts, {max(two['peak_rss_mb_per_worker']):.0f} MB after {arguments.n} "
        f"(growth {record['peak_rss_growth_mb']:+.0f} MB); the resident memory after every part is traced by "
        "`--memory` (pipeline_memory.md).",
        f"- Test-time augmentation costs {tta_factor:.1f}x.",
        "",
        "Projected time for 1,000,000 cutouts, at the measured 2-worker throughput per worker "
        f"({per_worker:.2f} cutouts/s/worker, one core each):",
        "",
        "| workers | hours, TTA off | hours, TTA on |",
        "|--------:|---------------:|--------------:|",
    ]
    lines += [f"| {entry['workers']} | {entry['hours_no_tta']:.1f} | {entry['hours_tta']:.1f} |"
              for entry in projection]
    lines += ["", "![throughput](pipeline_throughput.png)", ""]
    write_markdown(RESULTS / "pipeline.md", header, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
