"""memcore: the research core of the memorization explorer (Arpit et al., ICML 2017).

Pure PyTorch/NumPy science modules, a diskcache store (memcore.store), its jobs and workers
(memcore.jobs) and figure sweeps (memcore.sweeps). Imports no streamlit. Start at memcore.spec
(what a run is) and memcore.records (what a run produces).
"""

__version__ = "0.1.0"
