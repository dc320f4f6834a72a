# The memorization explorer as a shared demo: Streamlit app + supervised workers, non-root.
#
#   docker build -t memlab .
#   docker run -d --name memlab -p 8501:8501 -v memlab-data:/data -e MEMCORE_DEMO=1 memlab
#
# (podman: `podman build --format docker`; its default OCI format drops HEALTHCHECK.)
# No `# syntax=` line: it would make BuildKit fetch a frontend image from Docker Hub before
# FROM, so a build behind a mirror or without a registry would fail; nothing here needs it.
#
# Build args:
#   BASE_IMAGE         any image with Python >= 3.11 and its venv module (default
#                      python:3.11-slim; a distro image such as Debian bookworm with python3,
#                      python3-venv and ca-certificates works too: the packages go into a virtual
#                      environment, /opt/venv, so a PEP 668 "externally managed" Python is fine)
#   TORCH_INDEX_URL    where torch/torchvision come from: the CPU wheels by default (small);
#                      https://pypi.org/simple for the CUDA build (then `docker run --gpus all`)
#   PREFETCH_DATASETS  e.g. "mnist fashion_mnist cifar10": downloaded into the image when the
#                      build is online (skipped with a warning otherwise); declared after the
#                      dependency layer, so changing it does not reinstall torch
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# A virtual environment (the base's own Python may be "externally managed"), then torch +
# torchvision from TORCH_INDEX_URL at the versions requirements.txt pins, then the rest from PyPI
# (pip keeps the torch already there: 2.14.1+cpu satisfies torch==2.14.1).
COPY requirements.txt .
RUN python3 -c 'import sys; sys.exit(sys.version_info < (3, 11) and "BASE_IMAGE has Python " + sys.version.split()[0] + ": the app needs >= 3.11")' \
    && python3 -m venv /opt/venv \
    && grep -E '^(torch|torchvision)==' requirements.txt > /tmp/torch.txt \
    && pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" -r /tmp/torch.txt \
    && pip install --no-cache-dir -r requirements.txt \
    && rm /tmp/torch.txt

ENV PYTHONPATH=/app \
    HOME=/home/memlab \
    PORT=8501 \
    MEMCORE_WORKERS=1 \
    MEMCORE_STORE=/data/store \
    MEMCORE_DATA=/data/datasets \
    MEMCORE_PREFETCHED=/opt/memlab/datasets \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

# The code is root-owned and read-only for the app's user; only /data is writable.
COPY . .
ARG PREFETCH_DATASETS=""
RUN useradd --no-log-init --create-home --home-dir /home/memlab --uid 10001 --user-group \
        --shell /usr/sbin/nologin memlab \
    && mkdir -p /data/store /data/datasets /opt/memlab/datasets \
    && chown -R 10001:10001 /data \
    && if [ -n "${PREFETCH_DATASETS}" ]; then \
        python docker/prefetch.py /opt/memlab/datasets ${PREFETCH_DATASETS} \
        && find /opt/memlab/datasets -name '*.gz' -delete; \
    fi \
    && chmod -R a+rX /opt/memlab /app

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8501
# `docker stop` sends SIGTERM and waits 10 s; the entrypoint gives the app and workers
# MEMCORE_STOP_GRACE (8 s) before SIGKILL. Measured stop times: README, "Share a demo".
STOPSIGNAL SIGTERM
# The script asks http://127.0.0.1:$PORT/$STREAMLIT_SERVER_BASE_URL_PATH/_stcore/health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
