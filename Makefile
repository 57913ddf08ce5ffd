# stockfeed: the user's entry points. `make help` lists them.
SHELL := /bin/bash
DEVSTACK := PYTHONPATH=$(CURDIR)/tools/devstack/src python3 -m devstack

.PHONY: help bootstrap test lint unit devstack-up devstack-down devstack-status cluster-up cluster-down images lock demo

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t20

bootstrap:  ## install missing system packages and the locked Python environment (.venv)
	tools/bootstrap.sh

test:  ## everything: bootstrap, local stack up, lint, unit + integration + k8s + e2e tests, stack down
	tools/ci/test.sh

lint: bootstrap  ## ruff and mypy
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
	.venv/bin/mypy contracts/src tools/devstack/src tools/demo dags $(wildcard services/*/src) $(wildcard operator/src)

unit: bootstrap  ## unit tests only (no servers)
	.venv/bin/pytest -m unit contracts/tests tools/devstack/tests $(wildcard services/*/tests) $(wildcard operator/tests)

devstack-up:  ## start Kafka, MinIO and PostgreSQL on 127.0.0.1 (builds/downloads once into ~/.cache/stockfeed)
	tools/bootstrap.sh --system
	$(DEVSTACK) up kafka minio postgres

devstack-down:  ## stop every server the stack started
	$(DEVSTACK) down

devstack-status:  ## each server with its address and health
	$(DEVSTACK) status

cluster-up:  ## start the Kubernetes control plane (etcd, apiserver, controller-manager, scheduler, kwok)
	$(DEVSTACK) up cluster

cluster-down:  ## stop the Kubernetes control plane
	$(DEVSTACK) down cluster

images:  ## build the project's images here (buildah, no registry) and import them into the real node's containerd
	tools/bootstrap.sh --system
	$(DEVSTACK) up images

lock:  ## re-resolve the pinned environments from requirements/*.in (hashed: installs check every file)
	for env in dev dbt airflow; do \
	  uv pip compile -q requirements/$$env.in -o requirements/$$env.txt --generate-hashes --python-version 3.11; done

demo: bootstrap  ## the whole pipeline on one machine: simulator, Kafka, MinIO, Airflow, DuckDB/dbt, dashboard
	.venv/bin/python tools/demo/demo.py

# -- the platform on kind (docs/kind.md) ---------------------------------------------------------------------
KIND_CLUSTER := stockfeed
KUBE_CONTEXT := kind-$(KIND_CLUSTER)
# helm on PATH, else the one the local control plane build made (`make cluster-up`)
HELM ?= $(shell command -v helm 2>/dev/null || PYTHONPATH=$(CURDIR)/tools/devstack/src python3 -c \
  'from devstack.cluster import tool_path; from devstack.settings import Settings; print(tool_path(Settings.from_env(), "helm"))')

.PHONY: up down chart-lint

up:  ## kind cluster + every image built and deployed by skaffold (Strimzi, platform, Airflow) + the example feed
	@for tool in docker kind skaffold helm kubectl; do \
	  command -v $$tool >/dev/null || { echo "make up needs $$tool on PATH (see docs/kind.md)" >&2; exit 2; }; done
	kind get clusters 2>/dev/null | grep -qx $(KIND_CLUSTER) || kind create cluster --config kind-config.yaml
	skaffold run --kube-context $(KUBE_CONTEXT)
	kubectl --context $(KUBE_CONTEXT) -n stockfeed wait stockfeed/stock-quotes --for=condition=Ready --timeout=600s
	@echo "Airflow http://localhost:8080  MinIO http://localhost:9001  dashboard http://localhost:8501  Kafdrop http://localhost:9000"

down:  ## delete the kind cluster and everything in it
	kind delete cluster --name $(KIND_CLUSTER)

chart-lint:  ## helm lint --strict of charts/stockfeed (kind and production values); the CRD copy is current
	charts/sync-crds.sh --check
	$(HELM) lint --strict charts/stockfeed
	$(HELM) lint --strict charts/stockfeed --values charts/stockfeed/values-production.yaml
