"""The paper's measurements, each definition once: critical samples, easiness,
convergence, loss-sensitivity, sharpness."""
