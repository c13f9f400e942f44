#!/usr/bin/env bash
# Re-measure every recorded result that depends on the shipped default model.
#
# Run it from the repository root after galcolor/weights/default.pt (and its
# sha256 in galcolor/models/pretrained.py) has changed:
#
#     bash benchmarks/refresh_default_records.sh            # every step
#     bash benchmarks/refresh_default_records.sh unc q128   # some steps
#
# Steps, in the order they run (minutes measured on 2026-11-23 on the
# 2-core development machine; the first eight took 33 min in all):
#
#   unc       per-lightness residual table of the new weights
#             (galcolor/data/uncertainty_<sha16>.json; 0.7 min)
#   q128      color quality at 128 px, 500 val galaxies (0.4 min)
#   full      color quality at 424 px through galcolor.Colorizer (2.4 min)
#   real      real DECaLS/SDSS FITS files (0.2 min)
#   reg       region score calibration, seed 101 (1.5 min)
#   bregions  region benchmark, seed 202 and real SDSS val (6.5 min)
#   evalsdss  galcolor evaluate on the 500 SDSS val galaxies (9 min)
#   evalmulti galcolor evaluate on the 591 multi-survey images (12 min)
#   large     a 4000 px frame in tiles (a few minutes)
#   pipeline  Dask pipeline throughput and memory (about 40 min on a slower
#             machine)
#
# Set GALCOLOR_BASELINE to a `baseline` weights file to include it in the
# evalsdss report (the same-budget reference of issue 4).
set -euo pipefail

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
    steps=(unc q128 full real reg bregions evalsdss evalmulti large pipeline)
fi
shared=${GALCOLOR_SHARED:-../shared/data}

for step in "${steps[@]}"; do
    echo "=== $step: $(date -u +%H:%M:%S)"
    case "$step" in
        unc)
            python pipelines/calibrate_uncertainty.py --n 400 ;;
        q128)
            python benchmarks/bench_colorizer.py --n-val 500 --weights galcolor/weights/default.pt ;;
        full)
            python benchmarks/bench_colorizer.py --full --precision float32 bfloat16 --tta off --n-val 500 ;;
        real)
            python benchmarks/bench_colorize.py --real ;;
        reg)
            python pipelines/calibrate_regions.py --n 600 --seed 101 --output galcolor/data/region_score.json ;;
        bregions)
            python benchmarks/bench_regions.py --simulated --real ;;
        evalsdss)
            # shellcheck disable=SC2086
            galcolor evaluate --data "$shared/sdss-gz/val" --models default ${GALCOLOR_BASELINE:-} --tta \
                --quiet -o benchmarks/results/evaluate_sdss_val ;;
        evalmulti)
            galcolor evaluate --data "$shared/multisurvey" --manifest "$shared/multisurvey/MANIFEST.csv" --tta --quiet \
                -o benchmarks/results/evaluate_multisurvey ;;
        large)
            python benchmarks/bench_colorize.py --large ;;
        pipeline)
            python benchmarks/bench_pipeline.py --n 2000 --n-small 500 --n-tta 200
            python benchmarks/bench_pipeline.py --memory --n 2000 --n-small 500 ;;
        *)
            echo "unknown step '$step' (steps: unc q128 full real reg bregions evalsdss evalmulti large pipeline)" >&2
            exit 2 ;;
    esac
done
echo "=== done: $(date -u +%H:%M:%S)"
