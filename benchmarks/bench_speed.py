"""Inference and training speed per network, side by side in one run, against Zhang et al. (2016).

``--inference`` (default): images per second through :class:`galcolor.Colorizer`
(network, TTA, resampling, the calibrated uncertainty and the Lab
assembly; the images are loaded beforehand) at network sizes 128, 256 and 424
px (``scale=1``), with and without test-time augmentation, for the shipped
default model, the registry's ``baseline``, ``fusion`` and ``unet`` (random
weights, registry defaults; ``unet`` also with the classification head) and
the Zhang et al. 2016 ECCV network (random weights, from
``bench_colorize.py``). Ratios are to Zhang at the same size and TTA setting.

``--training``: training images per second on the same device, one
optimisation step (forward, loss, backward, AdamW) on batches of 16 images
of 128 px, for each architecture with the regression and the
classification head; the default model's network (``unet``, width 16,
regression) is the first row.

``--device cuda`` runs both on a GPU (bf16 autocast for inference, as
:class:`galcolor.Colorizer` does); the device is recorded. End-to-end
cutouts/s (load, colorize, regions, catalog row) is measured by
``bench_pipeline.py``.

Run from the repository root::

    python benchmarks/bench_speed.py --inference --training [--device cpu]

Results: ``benchmarks/results/speed/speed_inference.md``, ``speed_training.md``
(and ``.json``; ``speed_*_cuda`` for ``--device cuda``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import galcolor
from galcolor.io import example_hdulist
from galcolor.models import get_model

sys.path.insert(0, str(Path(__file__).parent))
from _record import RESULTS as ALL_RESULTS  # noqa: E402
from _record import record_header, write_json, write_markdown  # noqa: E402
from bench_colorize import ZhangECCV16  # noqa: E402

RESULTS = ALL_RESULTS / "speed"
SIZES = (128, 256, 424)


def machine(device: torch.device) -> str:
    """The device the networks ran on (the header's machine line describes the whole machine)."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def parameters(model: torch.nn.Module) -> float:
    return sum(parameter.numel() for parameter in model.parameters()) / 1e6


def networks() -> list[tuple[str, object]]:
    return [
        ("galcolor default (unet w16, trained)", "default"),
        ("baseline (regression)", get_model("baseline")),
        ("fusion (regression)", get_model("fusion")),
        ("unet (regression, default width)", get_model("unet")),
        ("unet (classification, default width)", get_model("unet", head="classification")),
        ("Zhang et al. 2016 ECCV", ZhangECCV16()),
    ]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def inference(device: torch.device, n: dict[int, int]) -> list[dict]:
    cutouts = {size: [galcolor.load(example_hdulist(size=size, seed=seed)) for seed in range(n[size])]
               for size in SIZES}
    rows = []
    for name, model in networks():
        for tta in (False, True):
            colorizer = galcolor.Colorizer(model, device=device, tta=tta, scale=1.0, batch_size=8)
            for size in SIZES:
                batch = cutouts[size] if not tta else cutouts[size][:max(2, n[size] // 4)]
                colorizer.colorize_cutouts(batch[:2])  # warm-up (allocations, cuDNN autotuning)
                _sync(device)
                started = time.perf_counter()
                results = colorizer.colorize_cutouts(batch)
                _sync(device)
                seconds = time.perf_counter() - started
                assert all(result.ab.shape == (size, size, 2) for result in results)
                rows.append({"network": name, "params_m": parameters(colorizer.model), "size": size,
                             "tta": tta, "images": len(batch), "images_per_second": len(batch) / seconds})
                print(json.dumps(rows[-1]))
    for row in rows:
        zhang = next(other for other in rows if other["network"].startswith("Zhang")
                     and other["size"] == row["size"] and other["tta"] == row["tta"])
        row["vs_zhang"] = row["images_per_second"] / zhang["images_per_second"]
    return rows


def training(device: torch.device, steps: int, batch: int, size: int) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    lightness = (torch.rand(batch, 1, size, size, generator=generator) * 100).to(device)
    ab = ((torch.rand(batch, 2, size, size, generator=generator) - 0.5) * 40).to(device)
    rows = []
    for name, head in [(name, head) for name in ("unet", "baseline", "fusion")
                       for head in ("regression", "classification")]:
        torch.manual_seed(0)
        model = get_model(name, head=head).to(device)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

        def step() -> float:
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                loss = model.loss(model(lightness), ab)
            loss.backward()
            optimizer.step()
            return float(loss)

        step()  # warm-up
        _sync(device)
        started = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        seconds = time.perf_counter() - started
        # the registry's unet (width 16, depth 4) with the regression head is the default model's network
        label = f"{name} ({head}{'; the default model' if (name, head) == ('unet', 'regression') else ''})"
        rows.append({"network": label, "params_m": parameters(model), "size": size, "batch": batch,
                     "steps": steps, "images_per_second": steps * batch / seconds})
        print(json.dumps(rows[-1]))
    return rows


def _write(stem: str, record: dict, lines: list[str], header: dict) -> None:
    write_json(RESULTS / f"{stem}.json", record, header, indent=1)
    write_markdown(RESULTS / f"{stem}.md", header, "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inference", action="store_true")
    parser.add_argument("--training", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per network")
    parser.add_argument("--scale-n", type=float, default=1.0, help="multiply the number of timed images")
    arguments = parser.parse_args()
    if not (arguments.inference or arguments.training):
        arguments.inference = True
    device = torch.device(arguments.device)
    header = record_header()  # the "galcolor default" rows use the shipped default model
    device_name = machine(device)
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    if arguments.inference:
        n = {size: max(2, int(round(count * arguments.scale_n))) for size, count in
             zip(SIZES, (32, 16, 8) if device.type == "cpu" else (256, 128, 64))}
        rows = inference(device, n)
        lines = [f"# Inference speed ({device_name})", "",
                 "Images/s through galcolor.Colorizer at scale 1 (network size = image size), images loaded "
                 "beforehand; TTA = the 8 rotations/flips. Random weights except the default model.", "",
                 "| network | params (M) | TTA | " + " | ".join(f"{size} px img/s (vs Zhang)" for size in SIZES) + " |",
                 "|---|---:|---|" + "---:|" * len(SIZES)]
        for name in dict.fromkeys(row["network"] for row in rows):
            for tta in (False, True):
                cells = [next(row for row in rows if row["network"] == name and row["tta"] == tta
                              and row["size"] == size) for size in SIZES]
                lines.append(f"| {name} | {cells[0]['params_m']:.2f} | {'on' if tta else 'off'} | "
                             + " | ".join(f"{cell['images_per_second']:.2f} ({cell['vs_zhang']:.1f}x)"
                                          for cell in cells) + " |")
        _write(f"speed_inference{suffix}", {"device": device_name, "rows": rows}, lines, header)
    if arguments.training:
        rows = training(device, arguments.steps, batch=16, size=128)
        lines = [f"# Training speed ({device_name})", "",
                 "One step = forward, loss, backward, AdamW on a batch of 16 images of 128 px "
                 f"({arguments.steps} timed steps after one warm-up"
                 + ("; bf16 autocast" if device.type == "cuda" else "") + ").", "",
                 "| network | params (M) | training img/s |", "|---|---:|---:|"]
        lines += [f"| {row['network']} | {row['params_m']:.2f} | {row['images_per_second']:.1f} |" for row in rows]
        _write(f"speed_training{suffix}", {"device": device_name, "rows": rows}, lines, header)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
