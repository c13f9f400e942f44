"""Build the labelled candidate sets the region classifiers are fitted and measured on.

Four sets, each one Parquet table of candidates (features per kind of
evidence, labels) and one of the truth (``galcolor.evaluation.knots``):

* ``sim_train``: simulated galaxies, calibration seed (101);
* ``sim_bench``: simulated galaxies, the benchmark seed (202);
* ``injected_train``: SDSS Galaxy Zoo *train* frames with injected knots;
* ``injected_val``: SDSS Galaxy Zoo *val* frames with injected knots.

::

    python pipelines/region_candidates.py --out ../cache/knots --sets sim_train injected_train
    python pipelines/region_candidates.py --out ../cache/knots --sets sim_bench injected_val

Calibrate on the train sets (``pipelines/calibrate_regions.py``), report on
the others (``benchmarks/bench_knots.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import galcolor
from galcolor._atomic import atomic_write
from galcolor.datasets import simulate
from galcolor.evaluation.knots import COLOR_EXCESS, injected_candidates, simulated_candidates
from galcolor.regions import EVIDENCE_KINDS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "sdss-gz"
SETS = {"sim_train": ("sim", 101), "sim_bench": ("sim", 202), "injected_train": ("train", 11),
        "injected_val": ("val", 12)}


def build(name: str, out: Path, n_sim: int, n_injected: int, colorizer: galcolor.Colorizer,
          kinds: tuple[str, ...] = EVIDENCE_KINDS) -> dict:
    source, seed = SETS[name]
    start = time.perf_counter()
    if source == "sim":
        candidates, truth = simulated_candidates(simulate(n_sim, size=128, seed=seed), colorizer, kinds=kinds)
    else:
        paths = sorted((SHARED / source).glob("*.jp*g"))[:n_injected]
        if not paths:
            raise SystemExit(f"no SDSS Galaxy Zoo images under {SHARED / source}")
        candidates, truth = injected_candidates(paths, colorizer, seed=seed, kinds=kinds)
    for table, kind in ((candidates, "candidates"), (truth, "truth")):
        with atomic_write(out / f"{name}_{kind}.parquet") as temporary:
            table.to_parquet(temporary)
    info = {"set": name, "seed": seed, "kinds": list(kinds), "n_images": int(candidates["image"].nunique()),
            "n_candidates": int(len(candidates)), "seconds": round(time.perf_counter() - start, 1),
            "weights_sha256": colorizer.weights_sha256, "detail_sha256": colorizer.detail_sha256,
            "galcolor_version": galcolor.__version__}
    (out / f"{name}.json").write_text(json.dumps(info, indent=2))
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the Parquet tables")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    parser.add_argument("--n-sim", type=int, default=500, help="simulated galaxies per set")
    parser.add_argument("--n-injected", type=int, default=400, help="Galaxy Zoo frames per set")
    parser.add_argument("--kinds", nargs="+", choices=list(EVIDENCE_KINDS) + [COLOR_EXCESS],
                        default=list(EVIDENCE_KINDS),
                        help=f"kinds of evidence to search ({COLOR_EXCESS}: galcolor 0.1's method, for the ablation)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    colorizer = galcolor.Colorizer()
    for name in args.sets:
        print(json.dumps(build(name, args.out, args.n_sim, args.n_injected, colorizer, tuple(args.kinds))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
