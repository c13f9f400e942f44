"""Simulator speed: three-band 128 x 128 galaxies per second on one CPU core.

The goal (issue: datasets) is >= 20 galaxies per second on one core. The
process is pinned to a single core (``os.sched_setaffinity``) and torch/BLAS
threads are limited to one, so the number does not depend on how many cores
the machine has. Simulation is timed after a warm-up of 20 galaxies (which
fills the SED-color cache, as any long run would).

Writes ``benchmarks/results/simulate/simulate_speed.md`` (with ``--psf
kolmogorov``: ``simulate_speed_kolmogorov.md``). Run from the repository
root::

    python benchmarks/bench_simulate.py [-n 300]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import galsim  # noqa: E402

from galcolor.datasets import iter_simulate  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "simulate"
GOAL = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="galaxies to time")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--psf", default="moffat", choices=["moffat", "kolmogorov"])
    arguments = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    header = record_header(weights=[])  # after pinning: the machine line says 1 usable core

    for _ in iter_simulate(20, size=arguments.size, seed=999, psf=arguments.psf):
        pass
    start = time.perf_counter()
    n_clumps = sum(g.params["n_clumps"] for g in iter_simulate(
        arguments.n, size=arguments.size, seed=1, psf=arguments.psf))
    elapsed = time.perf_counter() - start
    rate = arguments.n / elapsed
    lines = [
        "Simulator speed (galcolor.datasets.simulate)",
        "============================================",
        "",
        f"Pinned:   to {cores} core(s) (os.sched_setaffinity), "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; galsim {galsim.__version__}",
        "",
        f"{arguments.n} three-band (g, r, i) {arguments.size}x{arguments.size} galaxies, {arguments.psf} PSF, "
        f"{n_clumps} clumps in all: {elapsed:.2f} s",
        f"Rate: {rate:.1f} galaxies/s ({1000 / rate:.1f} ms per galaxy)",
        f"Goal: >= {GOAL:.0f} galaxies/s on one core -> {'PASS' if rate >= GOAL else 'FAIL'}",
    ]
    name = "simulate_speed.md" if arguments.psf == "moffat" else f"simulate_speed_{arguments.psf}.md"
    write_markdown(RESULTS / name, header, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
