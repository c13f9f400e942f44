"""How galcolor's color convention (``galcolor.io.convention.SDSS_GRI``) was fixed, re-measured.

1. **The render of a real SDSS field.** ``../shared/data/fits/sdss-ngc6976``
   holds the g, r, i frames of NGC 6976 (nanomaggies) and two Lupton renders
   of the same field (2048 x 1489 JPEGs, 3x the frames' pixels). Each render
   is brought to the frames' grid (box average) and a Lupton composite of
   the frames is fitted to it by least squares (``scipy.optimize``): the
   weights of g and i relative to r, Q and stretch, for each band -> channel
   order and orientation tried. The fit fixes band -> channel (i -> R,
   r -> G, g -> B), the orientation (FITS row 0 at the bottom of the JPEG)
   and the band balance of those renders.
2. **The balance of the Galaxy Zoo images.** The same simulated galaxies
   (``galcolor.datasets.simulate``, 128 px) are composited with the render's
   equal weights and with the convention's weights, and the Lab distribution
   of their galaxy pixels is compared with the real SDSS Galaxy Zoo
   validation galaxies (Wasserstein-1 distance, median b*): the models'
   colors are those of the Galaxy Zoo images, so the convention's weights
   must reproduce them.

Writes ``benchmarks/results/convention/convention.md`` (and ``.json``) and
``convention_renders.png``. Run from the repository root::

    python benchmarks/bench_convention.py [-n 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402
from scipy.stats import wasserstein_distance  # noqa: E402

from galcolor.datasets.simulate import iter_simulate, sdss_composite  # noqa: E402
from galcolor.io.convention import SDSS_GRI  # noqa: E402

from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, save_figure, write_json, write_markdown  # noqa: E402
from bench_realism import describe, galaxy_lab, real_composites  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIELD = ROOT.parent / "shared" / "data" / "fits" / "sdss-ngc6976"
RESULTS = ALL_RESULTS / "convention"
RENDERS = ("ngc6976", "ngc6976-default")
ORDERS = {"i r g": ("i", "r", "g"), "g r i": ("g", "r", "i")}


def frames() -> dict[str, np.ndarray]:
    """The g, r, i frames of the field (nanomaggies), FITS row order."""
    return {
        band: fits.getdata(FIELD / f"reprojected_sdss_{band}.fits.bz2").astype(np.float64) for band in "gri"
    }


def render(name: str, shape: tuple[int, int]) -> np.ndarray:
    """A render in [0, 1], box-averaged to the frames' grid (JPEG row order)."""
    image = Image.open(FIELD / f"{name}.jpeg").convert("RGB").resize(shape[::-1], Image.BOX)
    return np.asarray(image, dtype=np.float64) / 255.0


def fit_render(flux: dict[str, np.ndarray], target: np.ndarray, order: tuple[str, str, str]) -> dict:
    """Least-squares weights (relative to the G channel's band), Q and stretch of a Lupton render."""
    from astropy.visualization import make_lupton_rgb

    red, green, blue = (flux[band] for band in order)

    def residual(parameters: np.ndarray) -> np.ndarray:
        weight_red, weight_blue, log_q, log_stretch = parameters
        with np.errstate(invalid="ignore", divide="ignore"):
            rgb = make_lupton_rgb(
                np.exp(weight_red) * red,
                green,
                np.exp(weight_blue) * blue,
                minimum=0.0,
                Q=np.exp(log_q),
                stretch=np.exp(log_stretch),
                output_dtype=np.float64,
            )
        return (np.nan_to_num(rgb) - target).ravel()

    solution = least_squares(residual, [0.0, 0.0, np.log(10.0), np.log(0.5)], diff_step=1e-3)
    weight_red, weight_blue, q, stretch = np.exp(solution.x)
    return {
        "order": " ".join(order),
        "weights": {order[0]: float(weight_red), order[1]: 1.0, order[2]: float(weight_blue)},
        "q": float(q),
        "stretch": float(stretch),
        "rms": float(np.sqrt(np.mean(solution.fun**2))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "-n", type=int, default=300, help="simulated and real galaxies compared (default 300)"
    )
    arguments = parser.parse_args()
    header = record_header(weights=[])
    RESULTS.mkdir(parents=True, exist_ok=True)

    flux = frames()
    fits_rows = []
    for name in RENDERS:
        shown = render(name, flux["r"].shape)
        for flipped in (False, True):
            target = shown[::-1] if flipped else shown
            for label, order in ORDERS.items():
                row = fit_render(flux, target, order)
                row.update(render=name, fits_row0="bottom" if flipped else "top")
                fits_rows.append(row)
                print(f"{name:16s} row 0 {row['fits_row0']:6s} {label}: rms {row['rms']:.4f}")

    real = galaxy_lab(real_composites(arguments.n, 128))
    galaxies = list(iter_simulate(arguments.n, seed=2024, size=128))
    recipes = {
        "convention (sdss-gri)": (dict(SDSS_GRI.weights), SDSS_GRI.q, SDSS_GRI.stretch),
        "equal weights, convention Q and stretch": (
            {"g": 1.0, "r": 1.0, "i": 1.0},
            SDSS_GRI.q,
            SDSS_GRI.stretch,
        ),
        "ngc6976 render (astropy docs: Q 10, stretch 0.5)": ({"g": 1.0, "r": 1.0, "i": 1.0}, 10.0, 0.5),
    }
    balance_rows = [{"recipe": "real SDSS Galaxy Zoo (val)", **describe(real)}]
    for label, (weights, q, stretch) in recipes.items():
        lab = galaxy_lab(
            [sdss_composite(g.bands, g.band_names, weights=weights, q=q, stretch=stretch) for g in galaxies]
        )
        distances = {
            f"w1_{channel}": float(wasserstein_distance(real[:, k], lab[:, k]))
            for k, channel in enumerate("Lab")
        }
        balance_rows.append({"recipe": label, **describe(lab), **distances})

    best = {
        name: min((r for r in fits_rows if r["render"] == name), key=lambda r: r["rms"]) for name in RENDERS
    }
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
    shown = render("ngc6976", flux["r"].shape)
    from astropy.visualization import make_lupton_rgb

    fit = best["ngc6976"]
    red, green, blue = (flux[band] * fit["weights"][band] for band in fit["order"].split())
    with np.errstate(invalid="ignore", divide="ignore"):
        fitted = np.nan_to_num(
            make_lupton_rgb(
                red, green, blue, minimum=0.0, Q=fit["q"], stretch=fit["stretch"], output_dtype=np.float64
            )
        )
    convention = SDSS_GRI.composite(flux)
    for axis, image, title in zip(
        axes,
        [shown, fitted[::-1], convention[::-1]],
        ["render ngc6976.jpeg (box-averaged)", "fitted Lupton composite", "galcolor convention (sdss-gri)"],
    ):
        axis.imshow(np.clip(image, 0, 1))
        axis.set_title(title, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    save_figure(figure, RESULTS / "convention_renders.png", header, dpi=110)

    lines = [
        "galcolor's color convention (sdss-gri), re-measured",
        "=" * 52,
        "",
        "1. Lupton composites of the SDSS g, r, i frames of NGC 6976 fitted to its renders",
        "   (least squares over w_R/w_G, w_B/w_G, Q, stretch; display units, all pixels)",
        "",
        f"{'render':16s} {'FITS row 0':10s} {'R G B':6s} {'w_R':>6s} {'w_B':>6s} {'Q':>7s} {'stretch':>8s} "
        f"{'rms':>7s}",
    ]
    for row in fits_rows:
        red, _, blue = row["order"].split()
        lines.append(
            f"{row['render']:16s} {row['fits_row0']:10s} {row['order'].replace(' ', ''):6s} "
            f"{row['weights'][red]:6.3f} {row['weights'][blue]:6.3f} {row['q']:7.2f} "
            f"{row['stretch']:8.3f} {row['rms']:7.4f}"
        )
    lines += [
        "",
        "Best fit of each render: "
        + "; ".join(
            f"{name}: {row['order']} -> R G B, FITS row 0 at the {row['fits_row0']}, weights "
            + ", ".join(f"{band} {value:.2f}" for band, value in row["weights"].items())
            for name, row in best.items()
        ),
        "",
        f"2. Band balance: {arguments.n} simulated galaxies (seed 2024, 128 px) composited by each recipe "
        f"against {arguments.n} real Galaxy Zoo val galaxies (galaxy pixels, L > 15)",
        "",
        f"{'recipe':50s} {'median a*':>9s} {'median b*':>9s} {'chroma 50':>9s} {'blue frac':>9s} "
        f"{'W1 a*':>6s} "
        f"{'W1 b*':>6s}",
    ]
    for row in balance_rows:
        lines.append(
            f"{row['recipe']:50s} {row['median_a']:9.2f} {row['median_b']:9.2f} {row['chroma_50']:9.2f} "
            f"{row['blue_fraction']:9.3f} {row.get('w1_a', float('nan')):6.2f} "
            f"{row.get('w1_b', float('nan')):6.2f}"
        )
    lines += [
        "",
        "Convention: " + ", ".join(f"{k} {v}" for k, v in SDSS_GRI.to_dict().items()),
        "Figure: benchmarks/results/convention/convention_renders.png",
    ]
    write_markdown(RESULTS / "convention.md", header, "\n".join(lines) + "\n")
    write_json(
        RESULTS / "convention.json",
        {"render_fits": fits_rows, "balance": balance_rows, "convention": SDSS_GRI.to_dict()},
        header,
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
