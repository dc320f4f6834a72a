"""Datasets: the registry, loading, files on disk, splits and label/input noise."""
