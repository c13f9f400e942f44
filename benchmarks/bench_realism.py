"""Do simulated composites look like the SDSS Galaxy Zoo images?

Compares ``N`` simulated gri composites (``galcolor.datasets.simulate``, 128 px)
with ``N`` real SDSS Galaxy Zoo validation images from ``../shared/data``
(the whole 424 px frame resized to 128 px: Galaxy Zoo frames are ~8.5
Petrosian R90 wide, about what a 128 px SDSS-scale frame is for the
simulated galaxies):

* histograms of L, a* and b* on galaxy pixels (L > 15);
* per channel, the Wasserstein-1 distance between the two distributions (in
  Lab units) and the medians;
* the chroma percentiles and the fraction of blue (b* < 0) pixels, which
  DESIGN.md quotes for SDSS (chroma median ~12, 90th ~29, 17 % blue);
* a montage: simulated composites next to real ones.

Writes ``benchmarks/results/realism/realism.md``, ``realism_histograms.png``
and ``realism_montage.png``. Run from the repository root::

    python benchmarks/bench_realism.py [-n 500]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import wasserstein_distance  # noqa: E402
from skimage.transform import resize  # noqa: E402
from tqdm import tqdm  # noqa: E402

import galcolor  # noqa: E402
from galcolor.color import rgb_to_lab_numpy  # noqa: E402
from galcolor.datasets.simulate import iter_simulate, sdss_composite  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ALL_RESULTS / "realism"
GALAXY_L = 15.0


def real_composites(n: int, size: int) -> list[np.ndarray]:
    """``n`` SDSS Galaxy Zoo validation images, resized to ``size``."""
    paths = sorted((SHARED / "sdss-gz" / "val").glob("*.jpg"))[:n]
    return [resize(galcolor.load(path).truth_rgb, (size, size), anti_aliasing=True).astype(np.float32)
            for path in tqdm(paths, desc="real SDSS images")]


def tune(real_lab: np.ndarray, galaxies) -> None:
    """Grid search of the composite weights, Q and stretch (prints the best five)."""
    results = []
    grid = itertools.product([1.2, 1.35, 1.5, 1.7], [1.0, 1.05, 1.1, 1.2], [6.0, 8.0, 10.0], [0.6, 0.8, 1.0, 1.3])
    for weight_g, weight_r, q, stretch in tqdm(list(grid), desc="tuning"):
        weights = {"i": 1.0, "r": weight_r, "g": weight_g}
        images = [sdss_composite(g.bands, g.band_names, weights=weights, q=q, stretch=stretch) for g in galaxies]
        sim_lab = galaxy_lab(images)
        total = sum(wasserstein_distance(real_lab[:, i], sim_lab[:, i]) for i in range(3))
        results.append((total, weights, q, stretch))
    for total, weights, q, stretch in sorted(results, key=lambda r: r[0])[:5]:
        print(f"sum of W1 = {total:.2f}: weights {weights}, Q = {q}, stretch = {stretch}")


def galaxy_lab(images: list[np.ndarray]) -> np.ndarray:
    """Lab values of all galaxy pixels (L > 15) of a list of RGB images."""
    lab = np.concatenate([rgb_to_lab_numpy(image).reshape(-1, 3) for image in images])
    return lab[lab[:, 0] > GALAXY_L]


def describe(lab: np.ndarray) -> dict[str, float]:
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    return {
        "median_L": float(np.median(lab[:, 0])),
        "median_a": float(np.median(lab[:, 1])),
        "median_b": float(np.median(lab[:, 2])),
        "chroma_50": float(np.percentile(chroma, 50)),
        "chroma_90": float(np.percentile(chroma, 90)),
        "chroma_99": float(np.percentile(chroma, 99)),
        "blue_fraction": float(np.mean(lab[:, 2] < 0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--tune", action="store_true",
                        help="grid-search the composite parameters instead of writing results")
    arguments = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the real data in {SHARED}")
    header = record_header(weights=[])

    real = real_composites(arguments.n, arguments.size)
    galaxies = list(tqdm(iter_simulate(arguments.n, size=arguments.size, seed=arguments.seed),
                         total=arguments.n, desc="simulated"))
    if arguments.tune:
        tune(galaxy_lab(real), galaxies)
        return
    simulated = [galaxy.rgb for galaxy in galaxies]
    real_lab, sim_lab = galaxy_lab(real), galaxy_lab(simulated)
    real_stats, sim_stats = describe(real_lab), describe(sim_lab)
    real_stats["galaxy_pixel_fraction"] = len(real_lab) / (len(real) * arguments.size**2)
    sim_stats["galaxy_pixel_fraction"] = len(sim_lab) / (len(simulated) * arguments.size**2)
    distances = {name: float(wasserstein_distance(real_lab[:, i], sim_lab[:, i]))
                 for i, name in enumerate(["L", "a*", "b*"])}

    lines = [
        "Simulated vs real SDSS Galaxy Zoo composites (galaxy pixels, L > 15)",
        "=====================================================================",
        "",
        f"Data:     {len(real)} real val images (424 px -> {arguments.size} px) vs "
        f"{len(simulated)} simulated ({arguments.size} px, seed {arguments.seed})",
        "",
        f"{'statistic':24s} {'real SDSS':>10s} {'simulated':>10s}",
    ]
    for key in real_stats:
        lines.append(f"{key:24s} {real_stats[key]:10.3f} {sim_stats[key]:10.3f}")
    lines += ["", "Wasserstein-1 distance between real and simulated distributions (Lab units):"]
    lines += [f"  {name:3s} {value:6.2f}" for name, value in distances.items()]
    lines += ["", "Figures: benchmarks/results/realism/realism_histograms.png, realism_montage.png"]
    write_markdown(RESULTS / "realism.md", header, "\n".join(lines) + "\n")
    print("\n".join(lines))

    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    for axis, channel, name, bins in zip(axes, range(3), ["L", "a*", "b*"],
                                         [np.linspace(15, 100, 60), np.linspace(-30, 50, 80),
                                          np.linspace(-40, 70, 80)]):
        axis.hist(real_lab[:, channel], bins=bins, density=True, histtype="step", lw=2, label="real SDSS GZ")
        axis.hist(sim_lab[:, channel], bins=bins, density=True, histtype="step", lw=2, label="simulated")
        axis.set(xlabel=f"{name} (galaxy pixels)", yscale="log",
                 title=f"{name}: W1 = {distances[name]:.2f}")
    axes[0].legend()
    figure.tight_layout()
    save_figure(figure, RESULTS / "realism_histograms.png", header, dpi=80)

    columns = 8
    figure, axes = plt.subplots(4, columns, figsize=(2 * columns, 8.4))
    for column in range(columns):
        for row, (images, label) in enumerate([(simulated, "sim"), (real, "real")] * 2):
            index = column + (row // 2) * columns
            axes[row, column].imshow(images[index])
            axes[row, column].set_axis_off()
            axes[row, column].set_title(f"{label} {index}", fontsize=8)
    figure.tight_layout()
    save_figure(figure, RESULTS / "realism_montage.png", header, dpi=70)


if __name__ == "__main__":
    main()
