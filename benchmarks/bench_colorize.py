"""galcolor.colorize: throughput against reference networks, real-data figures, reference scale.

``--speed`` (default): CPU throughput of 424 x 424 JPEG -> ``Colorization``
including I/O (load, stretch, network, resampling, Lab -> RGB), measured side
by side in one run through the same harness (:class:`galcolor.Colorizer`) for

* the shipped default model, without and with TTA;
* the ``baseline`` network (the seed tutorial's), random weights, same scale;
* the Zhang, Isola & Efros (2016, ECCV) colorization network, random weights:
  the VGG-style 8-block network with dilated conv5/conv6, 313 ab-bin logits at
  a quarter of the input resolution, annealed-mean decoding, run at 256 px
  as in the paper (about 32 M parameters).

``--real``: colorize the r band of the DECaLS grz cubes and the SDSS NGC 6976
r-band file in ``../shared/data/fits`` and draw grey | galcolor | truth
(``real_fits_colorized.png``), with the galaxy-pixel color error of each.

``--large``: a 6000 x 6000 single-band FITS wide field (simulated galaxies
scattered over a noisy sky) loaded, colorized through the tiling path at
scale 1 and written as a product, in a fresh process: time and peak memory
(resident set size) after each step, the product's size, and a seam check (the tile grid drawn over
the color image and the map of |gradient of ab|, where seams would show as
lines), in ``large_frame.md`` and ``large_frame.png``.

``--reference-radius``: the median equivalent radius of the training galaxies
in network pixels (``galcolor.geometry.REFERENCE_GALAXY_RADIUS``).

Results go to ``benchmarks/results/colorize/``: ``colorize_speed.md`` (and
``.json``), ``real_fits.md`` (and ``.json``) and ``large_frame.md``. Run from
the repository root::

    python benchmarks/bench_colorize.py --speed [--n 48]
    python benchmarks/bench_colorize.py --real
    python benchmarks/bench_colorize.py --large
    python benchmarks/bench_colorize.py --reference-radius
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from astropy.io import fits
from torch import nn
from tqdm import tqdm

import galcolor
from galcolor.color import AbGrid, annealed_mean, rgb_to_lab_numpy
from galcolor.geometry import central_galaxy_mask, galaxy_radius
from galcolor.metrics import ab_mae, delta_e2000
from galcolor.models import get_model

from _record import RESULTS as ALL_RESULTS
from _record import record_header, save_figure, write_json, write_markdown

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ALL_RESULTS / "colorize"


class ZhangECCV16(nn.Module):
    """The Zhang et al. (2016) colorization network, for timing (random weights).

    Blocks of 3x3 convolutions with ReLU and batch norm: 64x2 (stride 2),
    128x2 (stride 2), 256x3 (stride 2), 512x3, 512x3 dilated 2, 512x3
    dilated 2, 512x3, then a 4x4 transposed convolution to 256 and 256x2, and
    a 1x1 convolution to 313 ab-bin logits at a quarter of the input size;
    annealed-mean decoding (T = 0.38) and x4 bilinear upsampling.
    """

    name = "zhang-eccv16"
    head = "classification"
    stride = 8

    def __init__(self) -> None:
        super().__init__()

        def block(c_in, c_out, n, stride=1, dilation=1):
            layers = []
            for index in range(n):
                last = index == n - 1
                layers += [nn.Conv2d(c_in if index == 0 else c_out, c_out, 3,
                                     stride=stride if last else 1, padding=dilation, dilation=dilation),
                           nn.ReLU(inplace=True)]
            return nn.Sequential(*layers, nn.BatchNorm2d(c_out))

        self.features = nn.Sequential(
            block(1, 64, 2, stride=2), block(64, 128, 2, stride=2), block(128, 256, 3, stride=2),
            block(256, 512, 3), block(512, 512, 3, dilation=2), block(512, 512, 3, dilation=2),
            block(512, 512, 3),
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 313, 1),
        )
        # 313 in-gamut bins of 10 units (the ImageNet grid of the paper)
        grid = torch.stack(torch.meshgrid(torch.arange(-110, 120, 10.0), torch.arange(-110, 120, 10.0),
                                          indexing="ij"), -1).reshape(-1, 2)
        order = grid.norm(dim=1).argsort()[:313]
        self.grid = AbGrid(grid[order].numpy(), 10.0)

    def predict(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.features(lightness / 50.0 - 1.0)
        ab = annealed_mean(logits, self.grid, 0.38)
        ab = F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)
        return ab, torch.zeros_like(ab)


def parameters(model: nn.Module) -> float:
    return sum(parameter.numel() for parameter in model.parameters()) / 1e6


def time_colorizer(colorizer: galcolor.Colorizer, paths: list[Path], batch: int) -> float:
    """Images per second, JPEG file -> Colorization with RGB, in batches (after one warm-up)."""
    colorizer(paths[:batch])
    started = time.perf_counter()
    for start in range(0, len(paths), batch):
        for result in colorizer(paths[start:start + batch]):
            result.rgb  # noqa: B018 - the color image is part of the job
    return len(paths) / (time.perf_counter() - started)


def best_rate(colorizer: galcolor.Colorizer, paths: list[Path], batch: int, repeats: int) -> tuple[float, float]:
    """(best, median) images per second over ``repeats`` passes.

    The best pass is the one least disturbed by other load on the machine
    (on a shared virtual machine the same pass varies by up to 2x), as
    ``timeit`` reports its minimum time; the median is recorded beside it.
    """
    rates = [time_colorizer(colorizer, paths, batch) for _ in range(repeats)]
    return max(rates), float(np.median(rates))


def _native_bf16() -> bool:
    """Whether this CPU advertises native bf16 arithmetic (Linux /proc/cpuinfo flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def speed(arguments, header: dict) -> None:
    paths = sorted((SHARED / "sdss-gz" / "val").glob("*.jpg"))[: arguments.n]
    if len(paths) < arguments.n:
        raise SystemExit(f"needs {arguments.n} JPEGs in {SHARED / 'sdss-gz' / 'val'}")
    torch.manual_seed(0)
    default = galcolor.Colorizer("default", device="cpu", tta=False, batch_size=arguments.batch)
    scales = [default._network_scale(galcolor.load(path)) for path in paths]
    typical = float(np.median(scales))
    rows = []
    runs = []
    zhang_network, baseline_network = ZhangECCV16(), get_model("baseline")
    for precision in ("float32", "bfloat16"):
        options = dict(device="cpu", batch_size=arguments.batch, precision=precision)
        runs += [
            ("galcolor default (unet), TTA off", galcolor.Colorizer("default", tta=False, **options), "auto"),
            ("galcolor default (unet), TTA on", galcolor.Colorizer("default", tta=True, **options), "auto"),
            ("galcolor default without the detail path, TTA off",
             galcolor.Colorizer("default", tta=False, detail=None, **options), "auto"),
            ("baseline network (random weights), TTA off",
             galcolor.Colorizer(baseline_network, tta=False, **options), "auto"),
            ("Zhang et al. 2016 ECCV (random weights) at 256 px",
             galcolor.Colorizer(zhang_network, tta=False, scale=256 / 424, **options), "256/424"),
        ]
    for name, colorizer, scale in tqdm(runs, desc="timing"):
        n = len(paths) if "TTA on" not in name and "Zhang" not in name else max(arguments.n // 4, arguments.batch)
        rate, median = best_rate(colorizer, paths[:n], arguments.batch, arguments.repeats)
        rows.append({"name": name, "precision": colorizer.precision, "images_per_s": rate,
                     "images_per_s_median": median, "repeats": arguments.repeats, "images": n,
                     "scale": scale, "parameters_M": parameters(colorizer.model)})
    zhang = {row["precision"]: row["images_per_s"] for row in rows if row["name"].startswith("Zhang")}
    lines = [
        "galcolor.colorize throughput on this CPU",
        "========================================",
        "",
        f"Job:      424x424 SDSS JPEG file -> galcolor.Colorization with RGB (load, stretch, network, "
        f"resampling to 424 px, Lab->RGB), batches of {arguments.batch}; the default model's auto "
        f"scale is {typical:.3f} (median), i.e. a ~{round(424 * typical)} px network image",
        "Precision: float32, and bf16 autocast (Colorizer(precision='bfloat16'); this CPU has "
        f"{'native bf16 (AMX/AVX512-BF16)' if _native_bf16() else 'no native bf16'}); "
        "'vs Zhang' compares with the Zhang network at the same precision",
        f"Timing:   best of {arguments.repeats} passes (img/s), median beside it; the machine is a shared "
        "virtual one, and other load slows single passes by up to 2x",
        "",
        f"{'colorizer':52s} {'precision':>9s} {'params':>8s} {'img/s':>8s} {'median':>8s} {'vs Zhang':>9s}",
    ]
    for row in rows:
        lines.append(f"{row['name']:52s} {row['precision']:>9s} {row['parameters_M']:7.2f}M "
                     f"{row['images_per_s']:8.2f} {row['images_per_s_median']:8.2f} "
                     f"{row['images_per_s'] / zhang[row['precision']]:8.1f}x")
    write_markdown(RESULTS / "colorize_speed.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / "colorize_speed.json",
               {"rows": rows, "median_scale": typical, "threads": torch.get_num_threads()}, header)
    print("\n".join(lines))


def ngc6976_bands(folder: Path) -> fits.HDUList:
    """The SDSS g, r, i frames of NGC 6976 as one file of three extensions.

    One band per file, and their FILTER keywords are wrong (the names are
    right): as extensions with the right FILTER, ``galcolor.load`` makes the
    field's gri composite in galcolor's convention.
    """
    hdus = [fits.PrimaryHDU()]
    for band in "gri":
        with fits.open(folder / f"reprojected_sdss_{band}.fits.bz2") as hdulist:
            hdu = fits.ImageHDU(hdulist[0].data, header=hdulist[0].header.copy())
        hdu.header["FILTER"] = band
        hdus.append(hdu)
    return fits.HDUList(hdus)


def real(arguments, header: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = sorted((SHARED / "fits" / "decals-grz").glob("example_*.fits"))
    files.append(SHARED / "fits" / "sdss-ngc6976" / "reprojected_sdss_r.fits.bz2")
    colorizer = galcolor.Colorizer("default", device="cpu", tta=True)
    rows, panels = [], []
    for path in tqdm(files, desc="real FITS"):
        if "ngc6976" in path.name or "ngc6976" in str(path.parent):
            cutout = galcolor.load(path)
            truth = galcolor.load(ngc6976_bands(path.parent)).truth_rgb
        else:
            cube = galcolor.load(path)  # the truth_rgb of the grz cube
            cutout = galcolor.load(path, band="r")
            truth = cube.truth_rgb
        result = colorizer(cutout)
        true_lab = rgb_to_lab_numpy(truth)
        galaxy = central_galaxy_mask(true_lab[..., 0], result.mask)
        predicted = np.concatenate([true_lab[..., :1], result.ab], axis=-1)
        grey = np.concatenate([true_lab[..., :1], np.zeros_like(result.ab)], axis=-1)
        rows.append({"file": str(path.relative_to(SHARED)), "shape": list(result.shape),
                     "scale": result.meta["scale"], "galaxy_pixels": int(galaxy.sum()),
                     "ab_mae_galaxy": ab_mae(result.ab, true_lab[..., 1:], galaxy),
                     "de00_galaxy": delta_e2000(predicted, true_lab, galaxy),
                     "de00_galaxy_grey": delta_e2000(grey, true_lab, galaxy)})
        panels.append((path.name, result, truth))
    figure, axes = plt.subplots(3, len(panels), figsize=(2.3 * len(panels), 7.2), layout="constrained")
    for column, (name, result, truth) in enumerate(panels):
        for row, image in enumerate([np.repeat(result.lightness[..., None] / 100, 3, -1), result.rgb, truth]):
            axes[row, column].imshow(np.clip(image, 0, 1), origin="lower")
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
        axes[0, column].set_title(name.replace("reprojected_sdss_r.fits.bz2", "NGC 6976 (SDSS r)"), fontsize=8)
    for row, label in enumerate(["r band (input)", "galcolor", "truth (grz/gri)"]):
        axes[row, 0].set_ylabel(label)
    save_figure(figure, RESULTS / "real_fits_colorized.png", header, dpi=100)
    lines = [
        "Colorizing the r band of real survey FITS files",
        "===============================================",
        "",
        "Truth:    the file's own color in galcolor's convention (galcolor.load truth_rgb, sdss-gri: "
        "SDSS gri; DECaLS g, r and i interpolated from r and z); "
        "errors on the central galaxy with the true L on both sides (the r-band stretch and the "
        "composite differ in L, which is not what is predicted); TTA on",
        "",
        f"{'file':52s} {'scale':>6s} {'ab MAE':>7s} {'dE00':>6s} {'grey dE00':>9s}",
    ]
    for row in rows:
        lines.append(f"{row['file']:52s} {row['scale']:6.3f} {row['ab_mae_galaxy']:7.2f} "
                     f"{row['de00_galaxy']:6.2f} {row['de00_galaxy_grey']:9.2f}")
    write_markdown(RESULTS / "real_fits.md", header, "\n".join(lines) + "\n")
    write_json(RESULTS / "real_fits.json", {"rows": rows}, header)
    print("\n".join(lines))


_LARGE_CHILD = """
import json, resource, sys, time
import galcolor

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

path, product = sys.argv[1], sys.argv[2]
colorizer = galcolor.Colorizer("default", device="cpu", tta=False, scale=1.0)
before = rss()
started = time.perf_counter()
cutout = galcolor.load(path)
loaded, load_seconds = rss(), time.perf_counter() - started
result = colorizer(cutout)
colorized, seconds = rss(), time.perf_counter() - started
result.to_fits(product)
written, total = rss(), time.perf_counter() - started
print(json.dumps({"before": before, "loaded": loaded, "colorized": colorized, "written": written,
                  "load_seconds": load_seconds, "seconds": seconds, "total_seconds": total,
                  "tiles": result.meta["tiles"], "scale": result.meta["scale"],
                  "network_shape": result.meta["network_shape"],
                  "result_mb": sum(a.nbytes for a in (result.ab, result.ab_std, result.lightness, result.mask))
                  / 2 ** 20}))
"""


def large(arguments, header: dict) -> None:
    import json
    import os
    import subprocess
    import sys
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from galcolor.datasets import iter_simulate
    from galcolor.colorizer import DEFAULT_OVERLAP, DEFAULT_TILE, tile_starts

    side, rng = arguments.side, np.random.default_rng(7)
    n_galaxies = int(150 * (side / 4000) ** 2)
    frame = rng.normal(0.0, 0.02, (side, side)).astype(np.float32)  # sky noise, nanomaggies
    for galaxy in tqdm(iter_simulate(n_galaxies, size=128, seed=11), total=n_galaxies, desc="wide field"):
        top, left = rng.integers(0, side - 128, 2)
        frame[top:top + 128, left:left + 128] += galaxy.bands[1]  # r band, noise included
    with tempfile.TemporaryDirectory() as folder:
        path, product = os.path.join(folder, "wide_r.fits"), os.path.join(folder, "wide_r_color.fits")
        hdu = fits.PrimaryHDU(frame)
        hdu.header["FILTER"] = "r"
        hdu.header["BUNIT"] = "nanomaggy"
        hdu.writeto(path)
        input_mb = os.path.getsize(path) / 2 ** 20
        del frame, hdu
        # a fresh process, so that its peak resident memory is the load's and the colorizer's alone
        child = subprocess.run([sys.executable, "-c", _LARGE_CHILD, path, product], check=True,
                               capture_output=True, text=True)
        numbers = json.loads(child.stdout.strip().splitlines()[-1])
        product_mb = os.path.getsize(product) / 2 ** 20
        with fits.open(product) as hdus:
            rgb = np.moveaxis(np.asarray(hdus["RGB"].data, dtype=np.float32), 0, -1)
            b = np.asarray(hdus["B"].data, dtype=np.float32)
    gradient = np.hypot(*np.gradient(b))
    scale = numbers["scale"]  # frames beyond the network's largest side are colorized smaller
    starts = tile_starts(numbers["network_shape"][0], DEFAULT_TILE, DEFAULT_OVERLAP)
    # seams would be steps along the tile edges: compare the gradient there with elsewhere
    edges = sorted({min(side - 1, round(start / scale)) for start in starts[1:]}
                   | {min(side - 1, round((start + DEFAULT_TILE - 1) / scale)) for start in starts[:-1]})
    on_edges = np.concatenate([gradient[:, edges].ravel(), gradient[edges, :].ravel()])
    figure, axes = plt.subplots(1, 3, figsize=(16, 5.6), layout="constrained")
    window = (slice(300, 1500), slice(300, 1500))
    axes[0].imshow(rgb[window], origin="lower")
    for top in starts:
        for left in starts:
            if 300 <= top / scale < 1500 and 300 <= left / scale < 1500:
                axes[0].add_patch(Rectangle((left / scale - 300, top / scale - 300), DEFAULT_TILE / scale,
                                            DEFAULT_TILE / scale, fill=False, lw=0.6, ec="cyan", alpha=0.6))
    axes[0].set_title("color, with the tile grid (cyan)")
    axes[1].imshow(np.clip(rgb[window] * 4.0, 0, 1), origin="lower")
    axes[1].set_title("color x4 (faint structure)")
    image = axes[2].imshow(gradient[window], origin="lower", cmap="magma", vmax=np.percentile(gradient, 99.5))
    axes[2].set_title("|gradient of b*|: seams would show as straight lines")
    figure.colorbar(image, ax=axes[2], shrink=0.8)
    save_figure(figure, RESULTS / "large_frame.png", header, dpi=90)
    gb = 1024.0
    lines = [
        f"A {side} x {side} single-band FITS through galcolor.load, the tiling path and to_fits",
        "=" * 80,
        "",
        f"Frame:    {side} x {side} px float32 ({input_mb:.0f} MB), {n_galaxies} simulated r-band galaxies on sky "
        f"noise; asked scale 1.0, colorized at {scale:.3f} (network image {numbers['network_shape'][1]} x "
        f"{numbers['network_shape'][0]} px, the largest side the colorizer takes), tiles {DEFAULT_TILE} px with "
        f"{DEFAULT_OVERLAP} px feathered overlap ({numbers['tiles']} tiles), TTA off; measured in a fresh process "
        "(max RSS after each step)",
        "",
        f"load                         {numbers['load_seconds']:8.1f} s",
        f"load + colorize              {numbers['seconds']:8.1f} s",
        f"load + colorize + to_fits    {numbers['total_seconds']:8.1f} s",
        f"resident before loading      {numbers['before'] / gb:8.2f} GB (Python, torch, the model)",
        f"peak after load              {numbers['loaded'] / gb:8.2f} GB",
        f"peak after colorize          {numbers['colorized'] / gb:8.2f} GB "
        f"(the Colorization's maps: {numbers['result_mb'] / gb:.2f} GB)",
        f"peak after to_fits           {numbers['written'] / gb:8.2f} GB",
        f"product                      {product_mb / gb:8.2f} GB ({product_mb / input_mb:.1f}x the input; "
        "--no-rgb-cube leaves the RGB cube out)",
        f"median |grad b*| on tile edges {np.median(on_edges):8.4f}, everywhere {np.median(gradient):.4f}",
        f"99th pct |grad b*| on edges  {np.percentile(on_edges, 99):8.4f}, everywhere "
        f"{np.percentile(gradient, 99):.4f}",
    ]
    write_markdown(RESULTS / "large_frame.md", header, "\n".join(lines) + "\n")
    print("\n".join(lines))


def reference_radius(arguments) -> None:
    from galcolor.datasets import ImageFolder

    val = ImageFolder(SHARED / "sdss-gz" / "val", size=128, crop=208)
    radii = [galaxy_radius(val[index]["lightness"][0].numpy()) for index in tqdm(range(len(val)))]
    radii = np.array([np.nan if radius is None else radius for radius in radii])
    print(f"median equivalent radius of {np.isfinite(radii).sum()} training-frame galaxies: "
          f"{np.nanmedian(radii):.1f} network pixels (quartiles {np.nanpercentile(radii, 25):.1f}, "
          f"{np.nanpercentile(radii, 75):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--reference-radius", action="store_true")
    parser.add_argument("--n", type=int, default=48, help="JPEGs to time (default 48)")
    parser.add_argument("--side", type=int, default=6000, help="--large: side of the frame in pixels (default 6000)")
    parser.add_argument("--batch", type=int, default=8, help="images per call (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="--speed: timed passes per row (default 3)")
    arguments = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the real data in {SHARED}")
    header = record_header()  # every result here uses the shipped default model
    if arguments.reference_radius:
        reference_radius(arguments)
    if arguments.real:
        real(arguments, header)
    if arguments.large:
        large(arguments, header)
    if arguments.speed or not (arguments.real or arguments.reference_radius or arguments.large):
        speed(arguments, header)


if __name__ == "__main__":
    main()
