.DEFAULT_GOAL := help
SHELL := /bin/bash

## Install what is missing, start every service, run the pipeline on demo data, print the dashboard URLs
demo:
	bash infra/demo.sh

## Run the whole test suite on real services (starts what it needs on its own ports, stops it after)
test:
	bash infra/test.sh

## Install what is missing (Python environments from lock files, Kafka jars, system packages)
install:
	bash infra/install.sh

## Start every service (no demo data)
up:
	bash infra/up.sh

## Stop every service this checkout started
down:
	bash infra/down.sh

## Show which services are up
status:
	bash infra/status.sh

## Screenshots of every dashboard from the running demo stack, in a headless Chromium (into .state/screenshots/)
screenshots:
	bash infra/screenshots.sh

## Lint and format check
lint:
	.state/install/venvs/pipeline/bin/ruff check . && .state/install/venvs/pipeline/bin/ruff format --check .

## Show this help
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z-]+:/{if(doc){split($$0,t,":"); printf "  make %-9s %s\n", t[1], doc}; doc=""}' $(MAKEFILE_LIST)

.PHONY: demo test install up down status screenshots lint help
