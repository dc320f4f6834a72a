# syntax=docker/dockerfile:1
# The memorization explorer as a shared demo: Streamlit app + supervised workers, non-root.
#
#   docker build -t memlab .
#   docker run -d --name memlab -p 8501:8501 -v memlab-data:/data -e MEMCORE_DEMO=1 memlab
#
# Build args:
#   BASE_IMAGE         any image with Python >= 3.11 and pip (default python:3.11-slim)
#   TORCH_INDEX_URL    where torch/torchvision come from: the CPU wheels by default (small);
#                      https://pypi.org/simple for the CUDA build (then `docker run --gpus all`)
#   PREFETCH_DATASETS  e.g. "mnist fashion_mnist cifar10": downloaded into the image when the
#                      build is online (skipped with a warning otherwise)
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PREFETCH_DATASETS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    HOME=/home/memlab \
    PORT=8501 \
    MEMCORE_WORKERS=1 \
    MEMCORE_STORE=/data/store \
    MEMCORE_DATA=/data/datasets \
    MEMCORE_PREFETCHED=/opt/memlab/datasets \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /app

# torch + torchvision first, from TORCH_INDEX_URL at the versions requirements.txt pins; then the
# rest from PyPI (pip keeps the torch already there: 2.14.1+cpu satisfies torch==2.14.1).
COPY requirements.txt .
RUN grep -E '^(torch|torchvision)==' requirements.txt > /tmp/torch.txt \
    && pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" -r /tmp/torch.txt \
    && pip install --no-cache-dir -r requirements.txt \
    && rm /tmp/torch.txt

# The code is root-owned and read-only for the app's user; only /data is writable.
COPY . .
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
# `docker stop` sends SIGTERM and waits 10 s: the entrypoint gives the app and workers
# MEMCORE_STOP_GRACE (8 s) to exit, and a worker needs about 1 s (it checks between steps and
# inside CSR searches, then puts its job back in the queue).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
