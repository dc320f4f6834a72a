"""Docker HEALTHCHECK: exit 0 when the Streamlit app answers "ok" on /_stcore/health.

`python docker/healthcheck.py [PORT]` (default env PORT, else 8501). Uses only the standard
library, so the image needs no curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def healthy(port: int, timeout: float = 4.0) -> bool:
    url = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - fixed local URL
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


if __name__ == "__main__":
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8501"))
    sys.exit(0 if healthy(port) else 1)
