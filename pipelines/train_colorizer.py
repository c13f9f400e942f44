#!/usr/bin/env python
"""Train a galcolor colorizer and export its best weights (the same as ``galcolor train``).

Data come from a folder of color galaxy images (by default the shared SDSS
Galaxy Zoo set, ``../shared/data/sdss-gz/train`` with ``.../val`` for
validation), from the simulator (``--simulated N``), or both mixed. Checkpoints
(``last.pt``, ``best.pt``), the history (CSV, JSON) and its curves (PNG) go to
``--checkpoint-dir`` after every epoch; at the end the best epoch's weights are
written with ``galcolor.models.save_weights`` (``--export``) and a JSON summary
is printed.

Usage
-----
On one machine (CUDA with bf16 when present, else the CPU)::

    python pipelines/train_colorizer.py --model unet --width 32 --depth 4 \\
        --size 128 --crop 0.5 --epochs 30 --batch-size 32 --lr 2e-3 \\
        --cache --checkpoint-dir runs/unet-regression

A quick CPU check on 200 images with simulated galaxies mixed in::

    python pipelines/train_colorizer.py --limit 200 --simulated 100 --size 64 \\
        --epochs 2 --model unet --width 8 --depth 2 --checkpoint-dir runs/quick

Continue an interrupted run (model and run settings come from the checkpoint)::

    python pipelines/train_colorizer.py --resume runs/unet-regression/last.pt \\
        --checkpoint-dir runs/unet-regression --cache

On several GPUs of one machine (one process per GPU; ``--batch-size`` is per
GPU; rank 0 alone writes checkpoints and prints)::

    torchrun --nproc_per_node=4 pipelines/train_colorizer.py --model unet \\
        --width 64 --epochs 30 --batch-size 64 --workers 4 --checkpoint-dir runs/ddp

``--help`` lists every option. The exit status is 0 on success and 1 on a
galcolor error (bad data folder, corrupt checkpoint, missing model registry).
"""

from __future__ import annotations

import argparse
import sys

from galcolor.training import add_train_arguments, train_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="train_colorizer.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_train_arguments(parser)
    return train_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
