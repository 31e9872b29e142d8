# The two commands a fresh machine needs: `make bench` (the main job) and `make test` (the tests).
# Both install what is missing first (npm packages, the Apache Kafka jars).
SHELL := /bin/bash
NODE_MODULES_STAMP := node_modules/.package-lock.json
CLI := node dist/bench/src/cli/main.js

.PHONY: all install build test test-unit test-integration lint bench kafka-jars clean check-leftovers

all: build

$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

install: $(NODE_MODULES_STAMP)

build: install
	npx tsc -p tsconfig.json

# ESLint, then the dependency graph (.dependency-cruiser.cjs) and its drawing in docs/architecture.md.
lint: install
	npm run --silent lint

# Resolves the pinned Apache Kafka jars with Maven into ~/.cache/relaybench (once).
kafka-jars: build
	$(CLI) kafka fetch

# Unit tests run concurrently; integration tests (real Kafka JVMs) one file at a time,
# since two cores cannot host several clusters at once without timing out.
test: build kafka-jars lint
	node --test --test-concurrency=2 --test-timeout=300000 $$(find dist -name '*.test.js' -not -path '*/integration/*' | sort)
	node --test --test-concurrency=1 --test-timeout=600000 $$(find dist -path '*/integration/*' -name '*.test.js' | sort)
	@$(MAKE) --no-print-directory check-leftovers

test-unit: build
	node --test $$(find dist -name '*.test.js' -not -path '*/integration/*' | sort)

test-integration: build kafka-jars
	node --test --test-concurrency=1 --test-timeout=600000 $$(find dist -path '*/integration/*' -name '*.test.js' | sort)

bench: build kafka-jars
	$(CLI) run

# Fails when a test or run left a Kafka JVM, relay or Prometheus behind. Only ours: the runner's
# Prometheus has --web.enable-lifecycle, a system service (Debian's package) does not.
check-leftovers:
	@left=$$(ps -eo pid=,args= | grep -E 'kafka\.Kafka|relaybench-(relay|loadgen)|prometheus --config\.file=.*--web\.enable-lifecycle' | grep -v grep || true); \
	if [ -n "$$left" ]; then echo "left behind:"; echo "$$left"; exit 1; fi; echo "no process left behind"

clean:
	rm -rf dist
