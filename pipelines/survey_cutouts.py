"""Survey-scale run: colorize + star-forming regions over many cutouts on Dask.

A thin wrapper of ``galcolor pipeline`` (:func:`galcolor.pipeline.run_pipeline`);
every option is the same. Examples::

    # every FITS cutout of a folder, on a local cluster (one worker per core)
    python pipelines/survey_cutouts.py 'cutouts/*.fits' -o catalogs/my-run

    # a manifest (path, id, ra, dec, band, hdu) on a running cluster
    python pipelines/survey_cutouts.py manifest.parquet --scheduler tcp://10.0.0.1:8786 --batch-size 64

Rerun the same command after an interruption to resume where it stopped.
"""

import sys

from galcolor.cli import main

if __name__ == "__main__":
    sys.exit(main(["pipeline", *sys.argv[1:]]))
