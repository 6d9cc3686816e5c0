# Cyteria: the project's entry points. `make` lists them.
SHELL := /bin/bash
CARGO ?= cargo

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## the main job: `cyteria devnet`, the whole network on this machine (installs anvil from npm on first use)
	@cd contracts && { [ -x node_modules/.bin/anvil ] || npm ci --no-audit --no-fund --loglevel=error; }
	$(CARGO) build --release --locked -p cyteria-devnet
	$(CARGO) run --release --locked -p cyteria-cli -- --data-dir target/devnet-data devnet $(DEVNET_ARGS)

test: client-deps test-deps ## every test: formatting, contracts (forge, artifacts, deploy), the workspace in debug, goldens in release, lints, docs
	$(CARGO) fmt --all --check
	tools/crate-graph
	tools/import-cycles
	contracts/tools/test
	contracts/tools/artifacts --check
	contracts/tools/deploy-check
	$(MAKE) interop
	$(CARGO) test --workspace --locked -- --test-threads=$(TEST_THREADS)
	$(CARGO) test --release --locked -p cyteria-game --test it golden
	$(CARGO) clippy --locked -p cyteria-game --lib -- -D clippy::float_arithmetic -D clippy::disallowed_types
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) clippy --locked -p cyteria-cli -p cyteria-bootstrap -- -D warnings  # as players build them: no adversary feature
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --workspace --no-deps

# Tests that run whole networks (real swarms, anvil, validators) share the
# machine's cores; on the 2-core CI machine, twelve of them at once starved
# a 4-node match of CPU until it missed its 40 s sync window, and with three
# at once a 4-node match still lost a silent peer now and then. Two: one
# per core.
TEST_THREADS ?= 2

# The window's build needs udev, Wayland and xkbcommon headers; its
# screenshot test needs Xvfb and a software Vulkan driver (llvmpipe).
CLIENT_DEBS := pkg-config libudev-dev libwayland-dev libxkbcommon-dev xvfb xauth mesa-vulkan-drivers

client-deps: ## install the Debian packages the window builds and renders with (apt-get, once)
	@missing=$$(for p in $(CLIENT_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
	    || { $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; }; \
	fi

# The signing record's power-loss test reads a syscall trace; the NAT tests
# build routers in network namespaces (iproute2) that masquerade (nftables).
TEST_DEBS := strace iproute2 nftables

test-deps: ## install the Debian packages the tests need beyond the window's (strace, iproute2, nftables)
	@$(MAKE) --no-print-directory client-deps CLIENT_DEBS="$(TEST_DEBS)"

play: client-deps ## the game window (`cyteria play`); PLAY_ARGS="--offline" plays against bots without a node
	$(CARGO) run --release --locked -p cyteria-client --bin cyteria-play -- $(PLAY_ARGS)

bench: ## benchmarks: the simulation and validation (criterion), matches between nodes, settlement gas and latency (figures go to docs/performance.md)
	$(CARGO) bench -p cyteria-game --bench sim
	$(CARGO) bench -p cyteria-node --bench netplay
	$(CARGO) bench -p cyteria-node --bench validate
	$(CARGO) bench -p cyteria-chain --bench gas
	$(CARGO) bench -p cyteria-validator --bench settle
	$(CARGO) bench -p cyteria-node --bench content

FUZZ_SECONDS ?= 60
NODE_FUZZ_TARGETS := lobby rollback announce attestation action batch_data block_request cid

fuzz: ## fuzz every decoder and state machine peers feed, FUZZ_SECONDS (60) each (installs cargo-fuzz); make test runs them over their corpus
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd game/core/fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run decode_transcript -- -max_total_time=$(FUZZ_SECONDS)
	cd game/core/fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run decode_snapshot -- -max_total_time=$(FUZZ_SECONDS)
	cd node/p2p/fuzz && for t in $(NODE_FUZZ_TARGETS); do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done

interop: ## install helia (a stock IPFS node, from npm) for the IPFS interoperability test
	@cd interop/helia && { [ -x node_modules/.bin/node ] && [ -d node_modules/helia ] || npm ci --no-audit --no-fund --loglevel=error; }

contracts-test: ## the Foundry tests alone, with the gas report (installs the npm toolchain)
	contracts/tools/test

contracts-artifacts: ## rebuild and rewrite the ABI + bytecode JSON the Rust crates read
	contracts/tools/test
	contracts/tools/artifacts

contracts-deploy: ## deploy everything to a throwaway anvil (chain id 80002) and print the addresses
	contracts/tools/deploy-check

.PHONY: help run test client-deps test-deps play bench fuzz interop contracts-test contracts-artifacts contracts-deploy
