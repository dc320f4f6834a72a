# `make test`: install test dependencies (Python packages, and Debian's chromium for the browser
# test when run as root) and run the whole suite. CI runs exactly this.
PY ?= python

.PHONY: test deps app lint bench

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
