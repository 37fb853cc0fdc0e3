# Every recipe runs with Node >= 22.12 (scripts/env.sh fetches Node 24 into .tools/ when needed).
SHELL := /bin/bash
ENV := source scripts/env.sh &&
ADDR ?= :8080
DB ?= ./deploykit.db
# A small young generation keeps the idle daemon inside its memory budget (PRODUCT.md §5, bench/memory.ts).
DAEMON_NODE_FLAGS := --max-semi-space-size=2

.PHONY: run build frontend server dev dev-frontend test test-unit test-e2e lint bench clean deps docker test-images

node_modules/.installed: package.json package-lock.json
	$(ENV) npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

## run: install what is needed, build, start dockerd if it is down (and can be), and start deploykitd on $(ADDR) with $(DB)
run: build
	@bash scripts/docker-up.sh --run
	$(ENV) node $(DAEMON_NODE_FLAGS) dist/server/cmd/deploykitd/main.js -addr $(ADDR) -db $(DB)

## build: backend, CLI and SPA into dist/ (dist/deploykitd runs the daemon, dist/deploykit the CLI)
build: deps server frontend

server: deps
	$(ENV) npm run build:server

frontend: deps
	$(ENV) npm run build:frontend

## dev: backend with reload, SPA not served (use dev-frontend)
dev: deps
	$(ENV) node --watch src/cmd/deploykitd/main.ts -addr $(ADDR) -db $(DB)

## dev-frontend: Vite on :5173 proxying /api (and WebSockets) to :8080
dev-frontend: deps
	$(ENV) npm run dev:frontend

docker:
	bash scripts/docker-up.sh

test-images: docker
	bash scripts/test-images.sh

## test: lint, then every test (unit, Docker integration, end to end) in four parallel lanes (scripts/test.sh)
test: deps lint test-images build
	@# The power-loss test's FUSE layer (test/harness/powercut.py) runs on Debian's python3-fusepy.
	@[ -f /usr/lib/python3/dist-packages/fusepy.py ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-fusepy; }
	bash scripts/test.sh

test-unit: deps
	$(ENV) npx vitest run --project unit

## test-e2e: the browser suite alone (real deploykitd + dockerd + Chromium); screenshots in test-results/e2e
test-e2e: deps test-images
	$(ENV) node test/e2e/run.ts

lint: deps
	$(ENV) npm run lint

bench: deps test-images
	$(ENV) node bench/run.ts

clean:
	rm -rf dist frontend/dist test-results coverage
