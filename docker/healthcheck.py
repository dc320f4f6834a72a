"""Docker HEALTHCHECK: exit 0 when the Streamlit app answers "ok" on its health endpoint.

`python docker/healthcheck.py [PORT]` (default env PORT, else 8501). The endpoint is
/<base path>/_stcore/health, the base path coming from STREAMLIT_SERVER_BASE_URL_PATH, the variable
streamlit itself reads (so `-e STREAMLIT_SERVER_BASE_URL_PATH=memlab` moves both). Uses only the
standard library, so the image needs no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def health_url(port: int, base_path: str = "") -> str:
    base = base_path.strip().strip("/")
    return f"http://127.0.0.1:{port}/{base + '/' if base else ''}_stcore/health"


def healthy(port: int, base_path: str = "", timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(health_url(port, base_path), timeout=timeout) as r:  # noqa: S310 - local URL
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


if __name__ == "__main__":
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8501"))
    sys.exit(0 if healthy(port, os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH", "")) else 1)
