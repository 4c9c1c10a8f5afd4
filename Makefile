# Tariff — the two commands of the README, plus helpers.
#   make run   builds (release) and serves http://127.0.0.1:3000 on SQLite with the YooKassa sandbox
#   make test  the whole suite: unit + integration (SQLite, and PostgreSQL with TEST_DATABASE_URL), browser tests

SHELL := /bin/bash
TOOLS_DIR ?= $(HOME)/.local/share/tariff-tools
export PATH := $(TOOLS_DIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TARIFF_TOOLS_DIR := $(TOOLS_DIR)

.PHONY: run build setup test test-rust test-e2e check fmt clean bench faults

run: build
	LEPTOS_SITE_ROOT=target/site ./target/release/tariff serve

build: setup
	scripts/build.sh

setup:
	scripts/setup.sh

test:
	scripts/setup.sh --test
	scripts/test.sh

# Only the Rust tests of every crate (fast loop while developing).
test-rust:
	cargo test --workspace --features tariff/ssr

# Only the browser tests against a fresh release build.
test-e2e: build
	scripts/setup.sh --test
	scripts/e2e.sh

check:
	cargo clippy --workspace --features tariff/ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
	cargo fmt --check

fmt:
	cargo fmt

clean:
	cargo clean

# Throughput and latency figures (wrk on loopback), SQLite and PostgreSQL.
bench:
	scripts/bench.sh

# Faults and hostile input against the release build (kill -9 during ingestion, PostgreSQL
# restart, schemathesis, memory for 10 minutes); figures printed, non-zero on a wrong one.
faults: build
	scripts/setup.sh --test
	scripts/faults.sh
