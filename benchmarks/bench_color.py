"""Throughput of galcolor's sRGB <-> CIELAB conversions against scikit-image.

What it measures
----------------
One run times, side by side on the same data, the conversion of a batch of
``B`` images of ``S x S`` pixels (default 64 images of 256 x 256, float32,
values uniform in [0, 1], fixed seed):

* ``galcolor.color.rgb_to_lab`` on a torch tensor of shape (B, 3, S, S) on the
  CPU, inside ``torch.no_grad()``, with torch's default number of threads;
* ``skimage.color.rgb2lab`` on the same pixels as a NumPy array of shape
  (B, S, S, 3), timed as it is (older scikit-image releases convert to
  float64 internally; 0.26 keeps float32 input in float32; the output dtype
  is recorded);
* the reverse direction, ``galcolor.color.lab_to_rgb`` against
  ``skimage.color.lab2rgb``, both fed the Lab image of that batch;
* ``galcolor.color.rgb_to_lab`` (and ``lab_to_rgb``) on CUDA when
  ``torch.cuda.is_available()``: the data already sit on the GPU, and the
  clock stops after ``torch.cuda.synchronize()``. Otherwise the results say
  ``cuda: not available``.

Each method gets one warm-up call, then the best (minimum) wall-clock time
of N repeats measured with :func:`time.perf_counter` (N = 5 for galcolor and
3 for scikit-image by default; ``--repeats`` and ``--skimage-repeats``). The
timed calls run in interleaved rounds (one call of each method per round),
so that load from other processes on a shared machine falls on all methods
alike rather than on whichever ran at a busy moment. Throughput is reported
in megapixels per second (1 Mpx = 10**6 pixels of 3 channels each), with the
speed-up relative to the scikit-image function of the same direction.

The run also records the largest absolute difference between galcolor and
scikit-image on that batch (Lab units for rgb -> lab, [0, 1] units for
lab -> rgb); it is expected to stay below 1e-3.

The acceptance goal checked in the report is: galcolor ``rgb_to_lab`` at
least 3x the throughput of ``skimage.color.rgb2lab`` at batch 64 x 256 x 256.
It is judged only from the measured numbers, and only at that size.

How to run
----------
From the repository root::

    python benchmarks/bench_color.py            # full run, writes results
    python benchmarks/bench_color.py --quick    # smoke run, batch of 4

A full run writes ``benchmarks/results/color/color_speed.json`` (the common
header of ``benchmarks/_record.py``, load and library versions, all timings)
and ``benchmarks/results/color/color_speed.md`` (plain-text table, included in
the docs). A ``--quick`` run only prints its table unless
``--output-dir`` is given, so it never overwrites the published results.
Nothing here asserts on timings; the script reports what it measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import skimage
import skimage.color
import torch

from galcolor.color import lab_to_rgb, rgb_to_lab

from _record import RESULTS, ROOT, header_markdown, record_header, write_json, write_text

#: Where full runs write their results.
DEFAULT_OUTPUT_DIR = RESULTS / "color"
#: Repository root, for relative paths.
REPO_ROOT = ROOT

#: The acceptance goal: galcolor rgb_to_lab throughput / skimage rgb2lab.
TARGET_SPEEDUP = 3.0
#: Batch geometry at which the goal is stated.
TARGET_BATCH = 64
TARGET_SIZE = 256
#: Largest acceptable |galcolor - skimage| on the benchmark batch.
ACCURACY_TOLERANCE = 1e-3


def make_batch(batch: int, size: int, seed: int) -> np.ndarray:
    """Random sRGB images, channels first.

    Parameters
    ----------
    batch : int
        Number of images.
    size : int
        Height and width of each image in pixels.
    seed : int
        Seed of the NumPy random generator.

    Returns
    -------
    numpy.ndarray, shape (batch, 3, size, size), float32
        Values uniform in [0, 1).
    """
    rng = np.random.default_rng(seed)
    return rng.random((batch, 3, size, size), dtype=np.float32)


def time_interleaved(
    functions: dict[str, Callable[[], object]],
    repeats: dict[str, int],
    synchronize: dict[str, Callable[[], None]] | None = None,
) -> dict[str, dict]:
    """Best wall-clock time of each function, timed in interleaved rounds.

    Every function gets one untimed warm-up call, then the timed calls run in
    rounds (one call of each function per round, until each has had its
    ``repeats``), so that background load on a shared machine hits all
    methods alike instead of whichever happened to run at a busy moment.

    Parameters
    ----------
    functions : dict of str to callable
        Called with no argument; results are discarded.
    repeats : dict of str to int
        Number of timed calls per function (same keys as ``functions``).
    synchronize : dict of str to callable, optional
        Per function, called after each call before the clock stops (for
        example ``torch.cuda.synchronize`` so that queued GPU work counts).

    Returns
    -------
    dict of str to dict
        Per function: ``best_s`` (minimum seconds), ``times_s`` (all timed
        calls, in order) and ``repeats``.
    """
    synchronize = synchronize or {}

    def no_sync() -> None:
        return None

    for name, function in functions.items():
        function()
        synchronize.get(name, no_sync)()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_index in range(max(repeats.values())):
        for name, function in functions.items():
            if round_index >= repeats[name]:
                continue
            sync = synchronize.get(name, no_sync)
            start = time.perf_counter()
            function()
            sync()
            times[name].append(time.perf_counter() - start)
    return {
        name: {"best_s": min(values), "times_s": values, "repeats": len(values)}
        for name, values in times.items()
    }


def megapixels_per_second(n_pixels: int, seconds: float) -> float:
    """Throughput in millions of pixels per second."""
    return n_pixels / seconds / 1e6


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages, or None where unsupported."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment_info() -> dict:
    """What the common header does not say: library versions and the load on the machine."""
    return {
        "load_average_at_start": load_average(),
        "numpy": np.__version__,
        "skimage": skimage.__version__,
    }


def max_abs_difference(first: np.ndarray, second: np.ndarray) -> float:
    """Largest absolute difference, computed in float64."""
    return float(np.max(np.abs(first.astype(np.float64) - second.astype(np.float64))))


def run_benchmark(
    batch: int, size: int, seed: int, repeats: int, skimage_repeats: int
) -> dict:
    """Time every method on one batch and compare galcolor with scikit-image.

    Parameters
    ----------
    batch, size : int
        Batch of ``batch`` images of ``size x size`` pixels.
    seed : int
        Seed of the random images.
    repeats : int
        Timed repeats for the galcolor functions.
    skimage_repeats : int
        Timed repeats for the scikit-image functions.

    Returns
    -------
    dict
        ``methods`` (one entry per timed method), ``accuracy`` and ``cuda``.
    """
    n_pixels = batch * size * size
    rgb_channels_first = make_batch(batch, size, seed)
    rgb_tensor = torch.from_numpy(rgb_channels_first)
    rgb_channels_last = np.ascontiguousarray(rgb_channels_first.transpose(0, 2, 3, 1))

    with torch.no_grad():
        lab_tensor = rgb_to_lab(rgb_tensor)
    lab_channels_last = np.ascontiguousarray(lab_tensor.numpy().transpose(0, 2, 3, 1))

    def galcolor_forward() -> torch.Tensor:
        with torch.no_grad():
            return rgb_to_lab(rgb_tensor)

    def galcolor_reverse() -> torch.Tensor:
        with torch.no_grad():
            return lab_to_rgb(lab_tensor)

    def skimage_forward() -> np.ndarray:
        return skimage.color.rgb2lab(rgb_channels_last)

    def skimage_reverse() -> np.ndarray:
        # lab2rgb warns about negative Z values; those cannot occur for Lab
        # of in-gamut colors, but keep the timing free of warning overhead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return skimage.color.lab2rgb(lab_channels_last)

    skimage_lab = skimage_forward()
    skimage_rgb = skimage_reverse()
    galcolor_rgb = galcolor_reverse().numpy().transpose(0, 2, 3, 1)
    accuracy = {
        "rgb_to_lab_max_abs_diff_lab_units": max_abs_difference(lab_channels_last, skimage_lab),
        "lab_to_rgb_max_abs_diff": max_abs_difference(galcolor_rgb, skimage_rgb),
        "skimage_output_dtype": str(skimage_lab.dtype),
        "galcolor_output_dtype": str(lab_tensor.dtype).replace("torch.", ""),
        "tolerance": ACCURACY_TOLERANCE,
    }
    accuracy["within_tolerance"] = bool(
        accuracy["rgb_to_lab_max_abs_diff_lab_units"] < ACCURACY_TOLERANCE
        and accuracy["lab_to_rgb_max_abs_diff"] < ACCURACY_TOLERANCE
    )
    del skimage_lab, skimage_rgb, galcolor_rgb

    threads = torch.get_num_threads()
    cpu_backend = f"torch CPU, {threads} threads"
    # (key, method, direction, backend, function, repeats, synchronize)
    plan = [
        ("skimage_rgb2lab", "skimage.color.rgb2lab", "rgb->lab", "numpy (CPU)",
         skimage_forward, skimage_repeats, None),
        ("galcolor_rgb_to_lab_cpu", "galcolor.color.rgb_to_lab", "rgb->lab", cpu_backend,
         galcolor_forward, repeats, None),
        ("skimage_lab2rgb", "skimage.color.lab2rgb", "lab->rgb", "numpy (CPU)",
         skimage_reverse, skimage_repeats, None),
        ("galcolor_lab_to_rgb_cpu", "galcolor.color.lab_to_rgb", "lab->rgb", cpu_backend,
         galcolor_reverse, repeats, None),
    ]

    if torch.cuda.is_available():
        device = torch.device("cuda")
        device_name = torch.cuda.get_device_name(device)
        rgb_cuda = rgb_tensor.to(device)
        lab_cuda = lab_tensor.to(device)

        def cuda_forward() -> torch.Tensor:
            with torch.no_grad():
                return rgb_to_lab(rgb_cuda)

        def cuda_reverse() -> torch.Tensor:
            with torch.no_grad():
                return lab_to_rgb(lab_cuda)

        cuda_backend = f"torch CUDA ({device_name})"
        plan += [
            ("galcolor_rgb_to_lab_cuda", "galcolor.color.rgb_to_lab", "rgb->lab", cuda_backend,
             cuda_forward, repeats, torch.cuda.synchronize),
            ("galcolor_lab_to_rgb_cuda", "galcolor.color.lab_to_rgb", "lab->rgb", cuda_backend,
             cuda_reverse, repeats, torch.cuda.synchronize),
        ]
        cuda = {"available": True, "device": device_name,
                "note": "data resident on the GPU; clock stops after torch.cuda.synchronize()"}
    else:
        cuda = {"available": False, "note": "cuda: not available"}

    print(f"batch {batch} x {size} x {size} = {n_pixels / 1e6:.2f} Mpx; "
          f"torch.get_num_threads() = {threads}; timing {len(plan)} methods "
          "in interleaved rounds ...", flush=True)
    timings = time_interleaved(
        {key: function for key, _, _, _, function, _, _ in plan},
        {key: n for key, _, _, _, _, n, _ in plan},
        {key: sync for key, _, _, _, _, _, sync in plan if sync is not None},
    )
    methods = []
    for key, method, direction, backend, _, _, _ in plan:
        timing = timings[key]
        methods.append({
            "key": key,
            "method": method,
            "direction": direction,
            "backend": backend,
            "repeats": timing["repeats"],
            "best_s": timing["best_s"],
            "times_s": timing["times_s"],
            "mpx_per_s": megapixels_per_second(n_pixels, timing["best_s"]),
        })
        print(f"  {method:<26} {backend:<24} "
              f"{megapixels_per_second(n_pixels, timing['best_s']):8.1f} Mpx/s  "
              f"(best of {timing['repeats']}: {timing['best_s'] * 1e3:.1f} ms)", flush=True)
    if not cuda["available"]:
        print("  cuda: not available", flush=True)

    reference = {
        entry["direction"]: entry["mpx_per_s"]
        for entry in methods if entry["method"].startswith("skimage")
    }
    for entry in methods:
        entry["speedup_vs_skimage"] = entry["mpx_per_s"] / reference[entry["direction"]]

    return {"methods": methods, "accuracy": accuracy, "cuda": cuda}


def acceptance(results: dict, batch: int, size: int) -> dict:
    """PASS/FAIL of the goal: galcolor rgb_to_lab >= 3x skimage rgb2lab on the CPU.

    Parameters
    ----------
    results : dict
        Output of :func:`run_benchmark`.
    batch, size : int
        Geometry of the run; the goal is only judged at 64 x 256 x 256.

    Returns
    -------
    dict
        ``goal``, measured ``speedup`` and ``verdict`` (PASS, FAIL, or
        NOT EVALUATED for other batch sizes).
    """
    cpu_forward = next(
        entry for entry in results["methods"]
        if entry["key"] == "galcolor_rgb_to_lab_cpu"
    )
    speedup = cpu_forward["speedup_vs_skimage"]
    if (batch, size) != (TARGET_BATCH, TARGET_SIZE):
        verdict = "NOT EVALUATED (goal is stated at batch 64x256x256)"
    else:
        verdict = "PASS" if speedup >= TARGET_SPEEDUP else "FAIL"
    return {
        "goal": (
            f"galcolor rgb_to_lab >= {TARGET_SPEEDUP:g}x skimage rgb2lab throughput "
            f"on the CPU at batch {TARGET_BATCH}x{TARGET_SIZE}x{TARGET_SIZE}"
        ),
        "speedup": speedup,
        "verdict": verdict,
    }


def format_report(report: dict) -> str:
    """Plain-text report (the ``color_speed.md`` file) of one run.

    Parameters
    ----------
    report : dict
        The full report as written to ``color_speed.json``.

    Returns
    -------
    str
        Fixed-width text, readable as-is and through ``literalinclude``.
    """
    environment = report["environment"]
    config = report["config"]
    results = report["results"]
    goal = report["acceptance"]
    accuracy = results["accuracy"]

    rows = [("method", "Mpx/s", "speed-up vs skimage")]
    for entry in results["methods"]:
        label = f"{entry['method']} [{entry['backend']}]"
        speedup = ("1.00x (reference)" if entry["method"].startswith("skimage")
                   else f"{entry['speedup_vs_skimage']:.2f}x")
        rows.append((label, f"{entry['mpx_per_s']:.1f}", speedup))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]

    def line(row: tuple[str, str, str]) -> str:
        return f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}".rstrip()

    rule = "  ".join("-" * width for width in widths)
    table = [line(rows[0]), rule] + [line(row) for row in rows[1:]]
    if not results["cuda"]["available"]:
        table.append("cuda: not available")

    def load_text(values: list[float] | None) -> str:
        return ", ".join(f"{value:.2f}" for value in values) if values else "unknown"

    text = [
        "sRGB <-> CIELAB throughput: galcolor vs scikit-image",
        "=" * 52,
        "",
        f"Software: numpy {environment['numpy']}, scikit-image {environment['skimage']}",
        f"Load avg: {load_text(environment['load_average_at_start'])} at start, "
        f"{load_text(environment.get('load_average_at_end'))} at end (1, 5, 15 min)",
        "",
        f"Data: {config['batch']} images of {config['size']}x{config['size']} float32, "
        f"uniform in [0, 1], seed {config['seed']} "
        f"({config['n_pixels'] / 1e6:.2f} Mpx per call).",
        f"Timing: time.perf_counter, 1 warm-up call each, then best of {config['repeats']} "
        f"(galcolor) / {config['skimage_repeats']} (skimage)",
        "repeats, run in interleaved rounds so background load hits all methods alike.",
        "galcolor gets a (B, 3, H, W) torch tensor under torch.no_grad(); skimage a",
        f"(B, H, W, 3) numpy array (its output dtype: {accuracy['skimage_output_dtype']}). "
        "Speed-up is relative",
        "to the skimage function of the same direction.",
        "",
        *table,
        "",
        "Agreement with scikit-image on this batch (max |difference|):",
        f"  rgb_to_lab vs rgb2lab: {accuracy['rgb_to_lab_max_abs_diff_lab_units']:.2e} Lab units",
        f"  lab_to_rgb vs lab2rgb: {accuracy['lab_to_rgb_max_abs_diff']:.2e} (sRGB, 0-1 scale)",
        f"  tolerance {accuracy['tolerance']:g}: "
        + ("OK" if accuracy["within_tolerance"] else "EXCEEDED"),
        "",
        f"Acceptance goal: {goal['goal']}.",
        f"Measured: {goal['speedup']:.2f}x -> {goal['verdict']}",
        "",
    ]
    return header_markdown(report["header"]) + "\n".join(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Throughput of galcolor sRGB<->CIELAB vs scikit-image.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke run on a batch of 4 images; writes no files "
                             "unless --output-dir is given")
    parser.add_argument("--batch", type=int, default=None,
                        help=f"images per batch (default {TARGET_BATCH}, or 4 with --quick)")
    parser.add_argument("--size", type=int, default=TARGET_SIZE,
                        help="image height and width in pixels (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats for galcolor (default %(default)s)")
    parser.add_argument("--skimage-repeats", type=int, default=3,
                        help="timed repeats for scikit-image (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of the images (default %(default)s)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where to write color_speed.json and color_speed.md "
                             f"(default {DEFAULT_OUTPUT_DIR.relative_to(REPO_ROOT)} "
                             "for full runs, nowhere for --quick)")
    args = parser.parse_args(argv)
    if args.batch is None:
        args.batch = 4 if args.quick else TARGET_BATCH
    if args.output_dir is None and not args.quick:
        args.output_dir = DEFAULT_OUTPUT_DIR
    if min(args.batch, args.size, args.repeats, args.skimage_repeats) < 1:
        parser.error("--batch, --size, --repeats and --skimage-repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report and write the result files."""
    args = parse_args(argv)
    print(f"torch.get_num_threads() = {torch.get_num_threads()}", flush=True)
    header = record_header(weights=[], argv=argv)
    environment = environment_info()
    results = run_benchmark(args.batch, args.size, args.seed, args.repeats,
                            args.skimage_repeats)
    report = {
        "header": header,
        "environment": environment,
        "config": {
            "batch": args.batch,
            "size": args.size,
            "n_pixels": args.batch * args.size * args.size,
            "dtype": "float32",
            "seed": args.seed,
            "repeats": args.repeats,
            "skimage_repeats": args.skimage_repeats,
            "warmup_calls": 1,
            "statistic": "min",
            "schedule": "interleaved rounds (one call of each method per round)",
            "quick": args.quick,
        },
        "results": results,
        "acceptance": acceptance(results, args.batch, args.size),
    }
    report["environment"]["load_average_at_end"] = load_average()
    text = format_report(report)
    print()
    print(text)
    if args.output_dir is not None:
        json_path = args.output_dir / "color_speed.json"
        md_path = args.output_dir / "color_speed.md"
        write_json(json_path, {key: value for key, value in report.items() if key != "header"}, header)
        write_text(md_path, text)
        print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
