# stockfeed: the user's entry points. `make help` lists them.
SHELL := /bin/bash
DEVSTACK := PYTHONPATH=$(CURDIR)/tools/devstack/src python3 -m devstack

.PHONY: help bootstrap test lint unit devstack-up devstack-down devstack-status cluster-up cluster-down lock demo

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t20

bootstrap:  ## install missing system packages and the locked Python environment (.venv)
	tools/bootstrap.sh

test:  ## everything: bootstrap, local stack up, lint, unit + integration + k8s + e2e tests, stack down
	tools/ci/test.sh

lint: bootstrap  ## ruff and mypy
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
	.venv/bin/mypy contracts/src tools/devstack/src dags $(wildcard services/*/src) $(wildcard operator/src)

unit: bootstrap  ## unit tests only (no servers)
	.venv/bin/pytest -m unit contracts/tests tools/devstack/tests $(wildcard services/*/tests) $(wildcard operator/tests)

devstack-up:  ## start Kafka, MinIO and PostgreSQL on 127.0.0.1 (builds/downloads once into ~/.cache/stockfeed)
	tools/bootstrap.sh >/dev/null
	$(DEVSTACK) up kafka minio postgres

devstack-down:  ## stop every server the stack started
	$(DEVSTACK) down

devstack-status:  ## each server with its address and health
	$(DEVSTACK) status

cluster-up:  ## start the Kubernetes control plane (etcd, apiserver, controller-manager, scheduler, kwok)
	$(DEVSTACK) up cluster

cluster-down:  ## stop the Kubernetes control plane
	$(DEVSTACK) down cluster

lock:  ## re-resolve the pinned environments from requirements/*.in
	for env in dev dbt airflow; do uv pip compile -q requirements/$$env.in -o requirements/$$env.txt --python-version 3.11; done

demo:  ## the pipeline on one machine (arrives with the demo issue)
	@echo "make demo is not built yet: see README, 'Status'." >&2; exit 2
