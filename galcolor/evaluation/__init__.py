"""Evaluation: color quality of colorizers, and the region finder against a known truth.

:mod:`~galcolor.evaluation.quality` is ``galcolor evaluate`` (color quality of
every colorizer side by side, with figures); :mod:`~galcolor.evaluation.regions`
matches region catalogs to simulated truth (completeness, purity, blends).
Both sit above the colorizer and the region finder, which never import them.
"""

from .quality import (
    BASELINES,
    IMAGE_SUFFIXES,
    evaluate_folder,
    model_labels,
    reference_prediction,
    uncertainty_coverage,
    write_report,
)
from .regions import (
    BLEND_LINK,
    MATCH_RADIUS,
    completeness_purity,
    evaluate_on_simulation,
    label_candidates,
    match_catalog,
    match_regions,
    resolve_blends,
    truth_geometry,
)

__all__ = [
    "BASELINES", "IMAGE_SUFFIXES", "evaluate_folder", "model_labels", "write_report", "reference_prediction",
    "uncertainty_coverage", "BLEND_LINK", "MATCH_RADIUS", "match_regions", "match_catalog", "completeness_purity",
    "resolve_blends", "label_candidates", "evaluate_on_simulation", "truth_geometry",
]
