"""Datasets: loading, files on disk, importing your own (readers, validate, imports), splits and
label/input noise (the table of datasets is memcore/datasets.py)."""
