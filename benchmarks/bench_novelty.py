"""Does the novelty widening keep the 68 % uncertainty honest on surveys the model never saw?

The default model, galcolor's convention (no style), TTA on, colorizes the
held-out half of each survey of ``../shared/data/multisurvey`` (odd
positions in name order; ``pipelines/calibrate_novelty.py`` fitted the
widening on the even ones) and the first ``--n-val`` SDSS Galaxy Zoo
validation images. For each, the coverage of the galaxy pixels by the 68 %
ellipse is measured with the widened ``ab_std`` and without it (divided
back by the factor recorded in ``meta["novelty"]``), with the fraction of
images found novel.

Writes ``benchmarks/results/novelty/novelty.md`` (and ``.json``). Run from
the repository root::

    python benchmarks/bench_novelty.py [--n-val 200]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import galcolor
from galcolor.color import rgb_to_lab_numpy
from galcolor.evaluation.quality import uncertainty_coverage
from galcolor.geometry import galaxy_mask

from _record import RESULTS as ALL_RESULTS
from _record import record_header, write_json, write_markdown

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ALL_RESULTS / "novelty"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-val", type=int, default=200)
    arguments = parser.parse_args()
    header = record_header(weights=["default"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    colorizer = galcolor.Colorizer("default", device="cpu", tta=True, progress=False)
    reference = colorizer.novelty
    manifest = pd.read_csv(SHARED / "multisurvey" / "MANIFEST.csv")
    jobs = [
        (survey, SHARED / "multisurvey" / name)
        for survey, group in manifest.groupby("survey")
        for name in sorted(group["file"])[1::2]
    ]
    jobs += [
        ("sdss val (Galaxy Zoo)", path)
        for path in sorted((SHARED / "sdss-gz" / "val").glob("*.jpg"))[: arguments.n_val]
    ]
    rows = []
    for survey, path in tqdm(jobs, desc="images"):
        cutout = galcolor.load(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", galcolor.GalcolorWarning)
            result = colorizer(cutout)
        true_lab = rgb_to_lab_numpy(np.asarray(cutout.truth_rgb, dtype=np.float32))
        valid = ~cutout.truth_invalid
        mask = galaxy_mask(true_lab[..., 0], valid)
        if not mask.any():
            continue
        novelty = float(result.meta["novelty"])
        factor = reference.factor(novelty)
        widened = uncertainty_coverage(result.ab, result.ab_std, true_lab[..., 1:], mask)
        plain = uncertainty_coverage(result.ab, result.ab_std / factor, true_lab[..., 1:], mask)
        rows.append(
            {
                "survey": survey,
                "file": path.name,
                "novelty": novelty,
                "feature": result.meta["novelty_feature"],
                "factor": factor,
                "widened": widened[0] / widened[1],
                "plain": plain[0] / plain[1],
                "widened_inside": widened[0],
                "plain_inside": plain[0],
                "pixels": widened[1],
            }
        )
    table = pd.DataFrame(rows)
    table.to_csv(RESULTS / "novelty_per_image.csv", index=False)
    lines = [
        "68 % coverage of galaxy pixels with and without the novelty widening "
        "(default model, no style, TTA on)",
        "=" * 98,
        "",
        f"Widening k = {reference.widening:.3f} (pipelines/calibrate_novelty.py); held-out images.",
        "",
        "| data | images | novel | median factor | coverage without (images / pixels) | "
        "coverage with (images / pixels) | most often the novel property |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for survey, part in table.groupby("survey", sort=False):
        novel = part["novelty"] > 0
        entry = {
            "images": len(part),
            "novel": float(novel.mean()),
            "median factor": float(part["factor"].median()),
            "without (images)": float(part["plain"].mean()),
            "without (pixels)": float(part["plain_inside"].sum() / part["pixels"].sum()),
            "with (images)": float(part["widened"].mean()),
            "with (pixels)": float(part["widened_inside"].sum() / part["pixels"].sum()),
            "feature": part.loc[novel, "feature"].mode().iloc[0] if novel.any() else "-",
        }
        summary[survey] = entry
        lines.append(
            f"| {survey} | {entry['images']} | {entry['novel']:.0%} | {entry['median factor']:.2f} | "
            f"{entry['without (images)']:.2f} / {entry['without (pixels)']:.2f} | "
            f"{entry['with (images)']:.2f} / {entry['with (pixels)']:.2f} | {entry['feature']} |"
        )
    lines += ["", "Per image: benchmarks/results/novelty/novelty_per_image.csv"]
    write_markdown(RESULTS / "novelty.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / "novelty.json", {"summary": summary, "widening": reference.widening}, header)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
