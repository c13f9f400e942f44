#!/usr/bin/env bash
# Re-measure every recorded result that depends on the shipped default model.
#
# Run it from the repository root after the default model's weights
# (galcolor/weights/default/weights.pt, listed with every other file of the
# bundle in galcolor/weights/default/manifest.json) have changed; the unc and
# reg steps write into the bundle and refresh its manifest:
#
#     bash benchmarks/refresh_default_records.sh            # every step
#     bash benchmarks/refresh_default_records.sh unc q128   # some steps
#
# Steps, in the order they run (minutes measured on 2026-11-23 on the
# 2-core development machine; the first eight took 33 min in all):
#
#   unc       per-lightness residual table of the new weights
#             (galcolor/weights/default/uncertainty.json; 0.7 min)
#   q128      color quality at 128 px, 500 val galaxies (0.4 min)
#   full      color quality at 424 px through galcolor.Colorizer (2.4 min)
#   real      real DECaLS/SDSS FITS files (0.2 min)
#   reg       region score calibration of galcolor 0.1's method, seed 101 (1.5 min)
#   bregions  galcolor 0.1's region benchmark, seed 202 and real SDSS val (6.5 min)
#   knotcolor predicted against true blue excess at simulated and injected
#             knots (benchmarks/bench_knot_color.py; 4 min)
#   knots     the labelled candidate sets (under $GALCOLOR_CACHE, default
#             ../cache: outside the repository), the region classifiers
#             refitted (the predicted-color one goes into the bundle) and
#             the ablation (benchmarks/bench_knots.py; 40 min)
#   evalsdss  galcolor evaluate on the 500 SDSS val galaxies (9 min)
#   evalmulti galcolor evaluate on the 591 multi-survey images (12 min)
#   large     a 4000 px frame in tiles (a few minutes)
#   pipeline  Dask pipeline throughput and memory (about 40 min on a slower
#             machine)
#
# Every result goes to benchmarks/results/<benchmark>/ and records the common
# header of benchmarks/_record.py (command, git commit, weights sha256, ...);
# the `galcolor evaluate` reports (benchmarks/results/evaluate/) get it as
# header.json, written by `python benchmarks/_record.py --header ... -- COMMAND`.
#
# Set GALCOLOR_BASELINE to a `baseline` weights file to include it in the
# evalsdss report (the same-budget reference of issue 4).
set -euo pipefail

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
    steps=(unc q128 full real reg bregions knotcolor knots evalsdss evalmulti large pipeline)
fi
cache=${GALCOLOR_CACHE:-../cache}
shared=${GALCOLOR_SHARED:-../shared/data}
evaluate=benchmarks/results/evaluate
# The default model's files come from its bundle's manifest, never from paths written here.
weights=$(python -c "from galcolor.models import pretrained_path; print(pretrained_path('default'))")

for step in "${steps[@]}"; do
    echo "=== $step: $(date -u +%H:%M:%S)"
    case "$step" in
        unc)
            python pipelines/calibrate_uncertainty.py --n 400 ;;
        q128)
            python benchmarks/bench_colorizer.py --n-val 500 --weights "$weights" ;;
        full)
            python benchmarks/bench_colorizer.py --full --precision float32 bfloat16 --tta off --n-val 500 ;;
        real)
            python benchmarks/bench_colorize.py --real ;;
        reg)
            python pipelines/calibrate_regions.py --n 600 --seed 101 ;;
        bregions)
            python benchmarks/bench_regions.py --simulated --real ;;
        knotcolor)
            python benchmarks/bench_knot_color.py --n-sim 500 --n-injected 400 ;;
        knots)
            python pipelines/region_candidates.py --out "$cache/knots"
            python pipelines/region_candidates.py --out "$cache/knots-0.1" --sets sim_bench injected_val \
                --kinds color-excess
            python pipelines/fit_region_classifiers.py --sets "$cache/knots"
            python benchmarks/bench_knots.py --sets "$cache/knots" --baseline "$cache/knots-0.1" --plain 500 ;;
        evalsdss)
            # shellcheck disable=SC2086
            python benchmarks/_record.py --header "$evaluate/sdss_val/header.json" \
                --weights default ${GALCOLOR_BASELINE:-} -- \
                galcolor evaluate --data "$shared/sdss-gz/val" --models default ${GALCOLOR_BASELINE:-} --tta \
                --quiet -o "$evaluate/sdss_val" ;;
        evalmulti)
            python benchmarks/_record.py --header "$evaluate/multisurvey/header.json" --weights default -- \
                galcolor evaluate --data "$shared/multisurvey" --manifest "$shared/multisurvey/MANIFEST.csv" --tta \
                --quiet -o "$evaluate/multisurvey" ;;
        large)
            python benchmarks/bench_colorize.py --large ;;
        pipeline)
            python benchmarks/bench_pipeline.py --n 2000 --n-small 500 --n-tta 200
            python benchmarks/bench_pipeline.py --memory --n 2000 --n-small 500 ;;
        *)
            echo "unknown step '$step' (steps: unc q128 full real reg bregions knotcolor knots evalsdss evalmulti large pipeline)" >&2
            exit 2 ;;
    esac
done
echo "=== done: $(date -u +%H:%M:%S)"
