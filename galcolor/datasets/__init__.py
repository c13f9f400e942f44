"""Galaxy image datasets: simulated galaxies with truth, image folders, Kaggle.

One small module per source, in the spirit of :mod:`skimage.data`.
"""
