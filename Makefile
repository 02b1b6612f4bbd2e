# One entry point per habit. Every target sets itself up: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_VENV := .venv-deploy
TOOLS_STAMP := $(TOOLS_VENV)/.installed
SAM := SAM_CLI_TELEMETRY=0 $(TOOLS_VENV)/bin/sam

PROJECT ?= checkout
STAGE ?= dev
# Every deploy/<unit>/template.yaml is a unit: the services, then the orchestration (deploy order).
SERVICES := $(filter-out orchestration,$(patsubst deploy/%/template.yaml,%,$(sort $(wildcard deploy/*/template.yaml))))
UNITS := $(SERVICES) orchestration
SAM_CONFIG_ENV = $(if $(filter prod%,$(STAGE)),prod,default)

.PHONY: help install tools browser console run demo trace bench cost chaos fuzz-api verify-stripe test unit integration saga infrastructure e2e api lint fmt generate diagram \
	validate build deploy deploy-all destroy clean

help:
	@echo "make run          set up if needed and serve the whole suite locally on 127.0.0.1:3000"
	@echo "make console      the saga console alone (make run serves it too), on 127.0.0.1:8080"
	@echo "make demo         run four checkout scenarios against the running local cloud"
	@echo "make trace ORDER=<order_id>   print a checkout's X-Ray trace from the local cloud"
	@echo "make test         set up .venv if needed and run every test"
	@echo "make bench        cold-start imports, the local cloud (start-up, latency, throughput), the console's pages; docs/performance.md"
	@echo "make cost         what a checkout costs on AWS per scenario, and where AWS caps checkouts/s"
	@echo "make fuzz-api     schemathesis (every check) against a local cloud, 100 examples per operation"
	@echo "make verify-stripe   the payment provider contract suite against Stripe's test mode (STRIPE_API_KEY)"
	@echo "make chaos        1,000 random fault schedules, then a local cloud under worker kills and stopped executions"
	@echo "make lint         ruff (lint, format, complexity) + mypy strict + import contracts"
	@echo "make fmt          format and auto-fix with ruff"
	@echo "make generate     regenerate the ASL file, the wiring and the diagrams from orchestration/spec.py, and docs/openapi.yaml from the API"
	@echo "make unit | integration | saga | api | infrastructure | e2e   run one test group"
	@echo "make browser      install Debian's Chromium for the console's browser tests (make test does)"
	@echo "make validate     cfn-lint + sam validate --lint on every template (offline)"
	@echo "make deploy SERVICE=<inventory|payment|order|orchestration> STAGE=<name>"
	@echo "make deploy-all STAGE=<name>   every unit, in dependency order"
	@echo "make destroy SERVICE=<unit> STAGE=<name>   delete one unit's stack (tables are retained)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(TOOLS_VENV)/bin/python:
	$(PYTHON) -m venv $(TOOLS_VENV)

$(TOOLS_STAMP): deploy/requirements-tools.txt | $(TOOLS_VENV)/bin/python
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r deploy/requirements-tools.txt
	touch $(TOOLS_STAMP)

install: $(STAMP)

tools: $(TOOLS_STAMP)

run: $(STAMP)
	$(BIN)/python -m deploy.local

demo: $(STAMP)
	$(BIN)/checkout demo

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/local_cloud.py
	$(BIN)/python bench/console.py

# What a checkout costs on AWS per scenario, and the ceilings at default quotas (docs/performance.md).
cost: $(STAMP)
	$(BIN)/python bench/cost.py --checkouts $(or $(CHECKOUTS),10)

# schemathesis, every check, against a local cloud of its own (docs/openapi.yaml is the contract).
fuzz-api: $(STAMP)
	$(BIN)/python -m tests.fuzz_api --max-examples $(or $(EXAMPLES),100)

# The payment provider contract suite against Stripe's test mode (needs STRIPE_API_KEY=sk_test_...).
verify-stripe: $(STAMP)
	@test -n "$$STRIPE_API_KEY" || { echo "make verify-stripe needs STRIPE_API_KEY (a test-mode secret key, sk_test_...)"; exit 2; }
	@case "$$STRIPE_API_KEY" in sk_test_*|rk_test_*) ;; *) echo "STRIPE_API_KEY must be a test-mode key (sk_test_...): the suite makes payments"; exit 2;; esac
	CHECKOUT_VERIFY_STRIPE=1 $(BIN)/python -m pytest tests/contract -v

# The fault-schedule checker at scale, then chaos on a real local cloud (not part of `make test`).
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --schedules $(or $(SCHEDULES),1000)

trace: $(STAMP)
	@test -n "$(ORDER)" || { echo "usage: make trace ORDER=<order_id>"; exit 2; }
	$(BIN)/checkout trace $(ORDER)

test: $(STAMP) $(TOOLS_STAMP) browser
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

e2e: $(STAMP) browser
	$(BIN)/python -m pytest tests/e2e

# Debian's Chromium, which Playwright drives for the console's browser tests (no browser download).
# As root (CI) it is installed; otherwise it says how. CHROMIUM=/path/to/chrome uses another.
browser:
	@test -n "$$CHROMIUM" || command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium (Debian's package) for the browser tests ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "the console's browser tests need Chromium: sudo apt-get install chromium (or set CHROMIUM)"; \
	    exit 1; \
	  fi; }

console: $(STAMP)
	$(BIN)/checkout console

api: $(STAMP)
	$(BIN)/python -m pytest tests/api

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

saga: $(STAMP)
	$(BIN)/python -m pytest tests/saga

infrastructure: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m pytest tests/infrastructure

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services orchestration deploy bench tests
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every generated file, from orchestration/spec.py: the ASL file, the orchestration template's
# wiring of the saga functions, then the diagrams drawn from the ASL file.
generate: $(STAMP)
	$(BIN)/python -m orchestration.generate

diagram: generate

# --- AWS (needs credentials; nothing below runs in the tests) -----------------------------------
validate: $(TOOLS_STAMP)
	@for unit in $(UNITS); do \
		$(TOOLS_VENV)/bin/cfn-lint deploy/$$unit/template.yaml || exit 1; \
		$(SAM) validate --lint -t deploy/$$unit/template.yaml --region us-east-1 || exit 1; \
	done

build: $(TOOLS_STAMP)
	@test -n "$(SERVICE)" || { echo "usage: make build SERVICE=<$(UNITS)>"; exit 2; }
	$(SAM) build -t deploy/$(SERVICE)/template.yaml --build-dir .aws-sam/build/$(SERVICE) \
		--config-file $(CURDIR)/deploy/samconfig.toml --config-env $(SAM_CONFIG_ENV)

# The payment provider of a payment deploy: PAYMENT_PROVIDER=stripe STRIPE_RETURN_URL=https://...
PAYMENT_PROVIDER ?= simulated
PAYMENT_OVERRIDES = $(if $(filter payment,$(SERVICE)),PaymentProvider=$(PAYMENT_PROVIDER) $(if $(STRIPE_RETURN_URL),StripeReturnUrl=$(STRIPE_RETURN_URL)))

deploy: build $(STAMP)
	$(BIN)/python deploy/preflight.py --service $(SERVICE) --project $(PROJECT) --stage $(STAGE) \
		--provider $(PAYMENT_PROVIDER)
	$(SAM) deploy -t .aws-sam/build/$(SERVICE)/template.yaml \
		--config-file $(CURDIR)/deploy/samconfig.toml --config-env $(SAM_CONFIG_ENV) \
		--stack-name $(PROJECT)-$(STAGE)-$(SERVICE) \
		--parameter-overrides Project=$(PROJECT) Stage=$(STAGE) $(PAYMENT_OVERRIDES)

deploy-all:
	@for unit in $(UNITS); do $(MAKE) --no-print-directory deploy SERVICE=$$unit || exit 1; done

destroy: $(TOOLS_STAMP)
	@test -n "$(SERVICE)" || { echo "usage: make destroy SERVICE=<$(UNITS)> STAGE=<name>"; exit 2; }
	$(SAM) delete --stack-name $(PROJECT)-$(STAGE)-$(SERVICE) \
		--config-file $(CURDIR)/deploy/samconfig.toml --config-env $(SAM_CONFIG_ENV) --no-prompts

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache

# --- targets `sam build` calls; see deploy/sam-targets.mk ---------------------------------------
include deploy/sam-targets.mk
