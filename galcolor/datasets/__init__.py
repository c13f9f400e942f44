"""Galaxy image datasets: simulated galaxies with truth, image folders, Kaggle.

One small module per source, in the spirit of :mod:`skimage.data`:

* :func:`simulate` -- GalSim galaxies with star-forming-clump truth
  (:mod:`galcolor.datasets.simulate`);
* :class:`ImageFolder` -- a torch ``Dataset`` of model-ready (L, ab) pairs
  from JPEG/PNG/FITS folders (:mod:`galcolor.datasets.folder`);
* :func:`fetch_kaggle` -- the Galaxy Zoo images from Kaggle
  (:mod:`galcolor.datasets.kaggle`).

Examples
--------
>>> from galcolor.datasets import simulate
>>> simulate(1, size=48)[0].bands.shape
(3, 48, 48)
"""

from .folder import ImageFolder, hash_split
from .kaggle import extract_archive, fetch_kaggle
from .simulate import Physics, SimulatedGalaxy, iter_simulate, sdss_composite, simulate

__all__ = [
    "simulate",
    "iter_simulate",
    "sdss_composite",
    "SimulatedGalaxy",
    "Physics",
    "ImageFolder",
    "hash_split",
    "fetch_kaggle",
    "extract_archive",
]
