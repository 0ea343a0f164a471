# Concierge: `make run` to start the portal, `make test` to run every test.
.PHONY: run test build release lint fmt

run:
	@scripts/tools.sh build
	cargo leptos build
	@mkdir -p data
	./target/debug/concierge serve

test:
	@scripts/test.sh

build:
	@scripts/tools.sh build
	cargo leptos build

release:
	@scripts/tools.sh build
	@command -v wasm-opt >/dev/null || npm install -g binaryen
	cargo leptos build --release

lint:
	cargo fmt --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt
