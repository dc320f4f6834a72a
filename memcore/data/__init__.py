"""Datasets: loading, files on disk, splits and label/input noise (the table of datasets is
memcore/datasets.py)."""
