"""Bad input fuzzed: every hostile case refused with a galcolor error naming the input, or loaded.

Mutated copies of real FITS, JPEG and PNG files from ``../shared/data``,
synthesized files of other formats, paths that are no file, and odd arrays
(:mod:`galcolor._fuzz`), each through :func:`galcolor.load`, and every
``--deep-every``-th case that loads through ``Colorizer(tta=False)`` and
:func:`~galcolor.regions.find_star_forming_regions`; then ``--batch`` file
cases, half loaded and half refused, together through ``galcolor colorize``
and ``run_pipeline``, and mutated copies of the run's region catalog
through :func:`galcolor.catalog.read` (:func:`galcolor._fuzz.run_batch`). Counts the outcomes:
loaded; refused (a :class:`~galcolor.GalcolorError` naming the file, or
"array input"); and the defects: another exception type, a message or a
warning without the name, the input modified, a case over ``--timeout``
seconds::

    python benchmarks/bench_fuzz.py [--n 10000] [--seed 0] [--deep-every 25] [--batch 60]

Results: ``benchmarks/results/fuzz/fuzz.md`` and ``.json`` (with every defect
found). Target (issue 29): 0 defects in 10,000 cases.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

import galcolor
from galcolor._fuzz import DEFECTS, OUTCOMES, cases, run_batch, run_case

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, write_json, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "fuzz"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = ["fits/decals-grz/temp_small.fits", "fits/hsc-cosmos/Cut_HSC.fits", "fits/hsc-cosmos/Cut_HST.fits",
           "fits/decals-grz/example_a.jpeg", "fits/decals-grz/example_d.png", "fits/sdss-ngc6976/ngc6976-small.jpeg",
           "sdss-gz/val/100062.jpg", "sdss-gz/val/100365.jpg", "corrupt/truncated_decals.fits"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deep-every", type=int, default=25,
                        help="colorize and search every N-th case that loads (default 25)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds a case may take (default 30)")
    parser.add_argument("--batch", type=int, default=60,
                        help="file cases put through galcolor colorize and run_pipeline together (default 60)")
    arguments = parser.parse_args(argv)
    sources = [SHARED / name for name in SOURCES if (SHARED / name).is_file()]
    if not sources:
        raise SystemExit(f"needs the real files under {SHARED}")
    header = record_header()
    colorizer = galcolor.Colorizer(tta=False)
    counts: collections.Counter = collections.Counter()
    by_mutation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    defects, loaded, deep, slowest = [], 0, 0, 0.0
    started = time.perf_counter()
    batch, refused = [], []
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "batch").mkdir()
        for case in tqdm(cases(sources, folder, arguments.n, seed=arguments.seed), total=arguments.n,
                         desc="fuzz", unit="case"):
            go_deep = case.array is None and loaded % arguments.deep_every == 0
            begin = time.perf_counter()
            record = run_case(case, timeout=arguments.timeout, deep=False)
            if record["outcome"] == "loaded":
                loaded += 1
                if go_deep:
                    deep += 1
                    record = run_case(case, timeout=arguments.timeout, deep=True, colorizer=colorizer)
            slowest = max(slowest, time.perf_counter() - begin)
            counts[record["outcome"]] += 1
            mutation = case.mutation.split(": ", 1)[-1].split(",")[0]
            mutation = "array: " + mutation.split(" ")[0] if case.array is not None else mutation
            by_mutation[mutation][record["outcome"]] += 1
            if record["outcome"] in DEFECTS:
                defects.append(record)
            bad = record["outcome"] == "refused"
            quota = (arguments.batch + 1) // 2 if bad else arguments.batch // 2  # half good, half bad
            if case.path is not None and case.path.is_file() and \
                    (len(refused) if bad else len(batch) - len(refused)) < quota:
                batch.append(Path(shutil.copy(case.path, Path(folder) / "batch" / case.path.name)))
                if bad:
                    refused.append(case.path.name)
            if case.path is not None:
                if case.path.is_dir() and not case.path.is_symlink():
                    case.path.rmdir()
                else:
                    case.path.unlink(missing_ok=True)
        batch_result = run_batch(batch, Path(folder) / "batch-run", refused=refused) if batch else \
            {"n_files": 0, "problems": []}
    seconds = time.perf_counter() - started
    results = {"n": arguments.n, "seed": arguments.seed, "deep_every": arguments.deep_every,
               "deep_cases": deep, "sources": [str(path.relative_to(SHARED)) for path in sources],
               "counts": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
               "defects": len(defects), "batch": {**batch_result, "n_refused": len(refused)},
               "slowest_case_s": round(slowest, 2), "seconds": round(seconds, 1),
               "by_mutation": {name: dict(value) for name, value in sorted(by_mutation.items())},
               "defect_cases": defects}
    write_json(RESULTS / "fuzz.json", results, header)
    lines = ["# Bad input fuzzed", "",
             f"{arguments.n} seeded cases (seed {arguments.seed}) from {len(sources)} real files of ../shared/data, "
             "synthesized files of other formats, paths that are no file and odd arrays, each through "
             f"`galcolor.load`; {deep} of those that loaded (every "
             f"{arguments.deep_every}th) also through `Colorizer(tta=False)` and `find_star_forming_regions`. "
             f"{seconds:.0f} s in all, the slowest case {slowest:.1f} s.", "",
             "| outcome | cases |", "|---|---:|"]
    lines += [f"| {outcome}{' (defect)' if outcome in DEFECTS else ''} | {counts.get(outcome, 0)} |"
              for outcome in OUTCOMES]
    lines += ["", f"**Defects: {len(defects)}.**", "",
              f"Batch tools: {batch_result['n_files']} file cases ({len(refused)} refused by `load`) through "
              "`galcolor colorize` and `run_pipeline` together: "
              f"**{len(batch_result['problems'])} broken promises** (every bad file reported by name, every good "
              "one written, exit status, failures table, catalog read back; "
              f"{batch_result.get('catalog_cases', 0)} mutated copies of the catalog through `catalog.read`)."
              + "".join(f"\n- {problem}" for problem in batch_result["problems"]), "", "| mutation | " + " | ".join(OUTCOMES[:2]) + " | defects |",
              "|---|---:|---:|---:|"]
    for name, value in sorted(by_mutation.items()):
        lines.append(f"| {name} | {value.get('loaded', 0)} | {value.get('refused', 0)} | "
                     f"{sum(value.get(outcome, 0) for outcome in DEFECTS)} |")
    if defects:
        lines += ["", "Defects (first 20):", ""] + [f"- {d['mutation']}: {d['outcome']}: {d['detail']}"
                                                    for d in defects[:20]]
    write_markdown(RESULTS / "fuzz.md", header, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if not defects and not batch_result["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
