# Two commands for a newcomer: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bench-parse demo test lint bench bench-quality bench-order bench-copies bench-stories bench-scale bench-load bench-digest bench-backtest bench-volume bench-scale-out soak clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/deskwatch demo

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Polling: 500 feeds x 50 unique items (100 ms latency) against a sequential feedparser loop, same
# run (minutes). BENCH_ARGS="--realistic" (~4.3 KB en/ru/ko items), "--rounds 3 --markdown", "--feeds 50".
bench: $(STAMP)
	$(BIN)/python bench/pipeline.py $(BENCH_ARGS)

# Parse and normalise on one core: the fast lxml path against feedparser, and the fast normalisation
# against the reference one, both on bench and realistic feeds, items checked equal (about a minute).
bench-parse: $(STAMP)
	$(BIN)/python bench/parse_speed.py
	$(BIN)/python bench/normalize.py

bench-quality: $(STAMP)
	$(BIN)/python bench/quality.py

# Out of sample, the corpora replayed out of date order (dated shuffled or reversed, all shuffled)
# against file order in the same run (bench/order.py, under a minute).
bench-order: $(STAMP)
	$(BIN)/python bench/order.py $(ORDER_ARGS)

# Out of sample, every gold-relevant row reissued by another outlet (dated, undated, no headline):
# does the copy join its original's story? (bench/copies.py, under a minute)
bench-copies: $(STAMP)
	$(BIN)/python bench/copies.py $(COPIES_ARGS)

# Story merging alone on the gold-relevant reports, out of sample, in seconds (bench/story_sim.py):
# for trying a change to the story model before bench-quality. STORY_ARGS="--variant unknown-all".
bench-stories: $(STAMP)
	$(BIN)/python bench/story_sim.py $(STORY_ARGS)

# The whole per-item path against 1k / 10k / 100k stored stories (half an hour); SCALE_ARGS="--quick".
bench-scale: $(STAMP)
	$(BIN)/python bench/cluster_scale.py $(SCALE_ARGS)

# Volume: 1,000 and 5,000 synthetic reports (dev-corpus stories re-dated and reissued) through the
# replay path: does a story snowball? The shipped rule against unbounded ones, in the same run
# (about 10 minutes; a baseline stops at 300 s). VOLUME_ARGS="--sizes 20000 --days 1460 --baselines ''".
bench-volume: $(STAMP)
	$(BIN)/python bench/volume.py $(VOLUME_ARGS)

# Live-path backtest: the labelled dev corpora released day by day through local feeds, the real
# fetch → store → match → story → outbox path, scored against the gold labels (about a minute).
bench-backtest: $(STAMP)
	$(BIN)/python bench/backtest.py

# Burst load: 2,000 feeds, 5,000 relevant reports, rate-limited Discord + Slack fakes (a few minutes).
# LOAD_ARGS="--items 1000 --feeds 400" for a quick run, "--markdown" for the README rows.
bench-load: $(STAMP)
	$(BIN)/python bench/load.py $(LOAD_ARGS)

# Paging a flood digest of 100-700 stories for Discord, Slack and webhooks, against the earlier
# one-story-at-a-time paging in the same run (under a minute).
bench-digest: $(STAMP)
	$(BIN)/python bench/digest_pages.py $(DIGEST_ARGS)

# Scale-out: 2,000 feeds x 10 items (100 ms latency), 1, 2 and 3 workers on one throwaway PostgreSQL
# (about half an hour here). SCALE_OUT_ARGS="--feeds 300 --items 2" for a quick run.
bench-scale-out: $(STAMP)
	$(BIN)/python bench/scale_out.py $(SCALE_OUT_ARGS)

# Crash-safety soak: the real bot SIGKILLed 30+ times against local fakes (a few minutes, offline).
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
