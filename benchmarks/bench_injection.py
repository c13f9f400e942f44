"""The PSF of the SDSS Galaxy Zoo frames, measured from their stars: what size injected knots must have.

Galaxy Zoo frames are scaled to each galaxy's size, so their PSF in pixels
varies from frame to frame and no header gives it. This measures it on
every ``--every``-th frame of the train and val folders with
:func:`galcolor.evaluation.injection.frame_psf_fwhm` (median FWHM of
circular Gaussians fitted to the bright, round, unclipped, non-central
sources on the linearised intensity; small round galaxies passing the cuts
make it too wide) and writes
``benchmarks/results/injection/frame_psf.{json,md,png}``::

    python benchmarks/bench_injection.py --n 400
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from galcolor.evaluation.injection import frame_psf_fwhm  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_json, write_markdown  # noqa: E402

RESULTS = ALL_RESULTS / "injection"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "sdss-gz"


def measure(folder: Path, n: int) -> dict:
    files = sorted(folder.glob("*.jp*g"))
    files = files[::max(1, len(files) // n)][:n]
    widths, counts = [], []
    for path in tqdm(files, desc=f"PSF {folder.name}", unit="frame"):
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
        fwhm, count = frame_psf_fwhm(rgb)
        counts.append(count)
        if fwhm is not None:
            widths.append(fwhm)
    widths = np.asarray(widths)
    percentiles = [10, 25, 50, 75, 90]
    return {"folder": folder.name, "n_frames": len(files), "n_with_stars": int(widths.size),
            "median_sources_per_frame": float(np.median(counts)) if counts else 0.0,
            "fwhm_percentiles": dict(zip([str(p) for p in percentiles],
                                         np.percentile(widths, percentiles).round(2).tolist()))
            if widths.size else {}, "fwhm": widths.round(3).tolist()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="frames per folder")
    parser.add_argument("--data", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    header = record_header(weights=[])
    if not (args.data / "train").is_dir():
        raise SystemExit(f"no SDSS Galaxy Zoo frames under {args.data} (see ../shared/README.md)")
    results = {split: measure(args.data / split, args.n) for split in ("train", "val")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "frame_psf.json", results, header)
    figure, axes = plt.subplots(figsize=(6, 3.6))
    for split, result in results.items():
        axes.hist(result["fwhm"], bins=np.linspace(0, 20, 41), histtype="step", lw=1.6,
                  label=f"{split} ({result['n_with_stars']} of {result['n_frames']} frames)")
    axes.set_xlabel("PSF FWHM of the frame [pixels]")
    axes.set_ylabel("frames")
    axes.set_title("SDSS Galaxy Zoo frames: PSF from their stars")
    axes.legend()
    figure.tight_layout()
    save_figure(figure, RESULTS / "frame_psf.png", header, dpi=120)
    lines = ["# PSF of the SDSS Galaxy Zoo frames", "",
             "Median FWHM of circular Gaussians fitted to the bright, round, unclipped, non-central sources of "
             "each frame on the linearised intensity (`galcolor.evaluation.injection.frame_psf_fwhm`); small "
             "round galaxies passing the cuts make it too wide.", "",
             "| folder | frames | with stars | sources per frame (median) | FWHM p10 | p25 | p50 | p75 | p90 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in results.values():
        p = result["fwhm_percentiles"]
        lines.append(f"| {result['folder']} | {result['n_frames']} | {result['n_with_stars']} | "
                     f"{result['median_sources_per_frame']:.0f} | "
                     + " | ".join(f"{p.get(k, float('nan')):.2f}" for k in ("10", "25", "50", "75", "90")) + " |")
    lines += ["", "![frame PSF](frame_psf.png)", ""]
    write_markdown(RESULTS / "frame_psf.md", header, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
