"""Training: batched models, regularizers, the device-resident trainer, the benchmark."""
