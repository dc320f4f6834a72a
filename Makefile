# `make test`: install test dependencies (Python packages, and Debian's chromium for the browser
# test when run as root) and run the whole suite. CI runs exactly this.
PY ?= python

.PHONY: test deps app lint bench cpu-torch docker-test

deps:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; browser tests will skip"; \
	fi
	$(PY) -m pip install -q -r requirements-dev.txt

test: deps
	$(PY) -m ruff check .
	$(PY) -m pytest

app:
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m streamlit run app/main.py

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

bench:
	$(PY) -m memcore bench --quick

# The CPU build of the pinned torch/torchvision (machines without a GPU; as the Dockerfile does):
# run before `pip install -r requirements.txt`, which then keeps them.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
cpu-torch:
	grep -E '^(torch|torchvision)==' requirements.txt > .torch-cpu.txt
	$(PY) -m pip install --index-url $(TORCH_CPU_INDEX) -r .torch-cpu.txt; rc=$$?; rm -f .torch-cpu.txt; exit $$rc

# The container test (tests/test_docker_container.py): builds the image and runs it. Needs a
# Docker engine and ~7 GB of disk; CI does not run it. Where Docker Hub or the PyTorch CPU index
# cannot be reached: make docker-test BASE_IMAGE=memlab-base:bookworm \
#   TORCH_INDEX_URL=https://pypi.org/simple   (README, "Share a demo": a local base image)
docker-test:
	BASE_IMAGE="$(BASE_IMAGE)" TORCH_INDEX_URL="$(TORCH_INDEX_URL)" \
		$(PY) -m pytest -m docker tests/test_docker_container.py -v -s -p no:cacheprovider
