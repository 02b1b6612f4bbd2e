# Targets `sam build` calls for resources with `BuildMethod: makefile` (SAM sets ARTIFACTS_DIR).
# Every template's CodeUri/ContentUri is the repository root, built with --build-in-source, so a
# function bundle is assembled from the sources here: its own service plus shared/, nothing else.
BUNDLE := python3 -m deploy.bundle

inventory_functions := ReserveStockFunction ReleaseStockFunction GetProductsFunction
payment_functions := ChargePaymentFunction RefundPaymentFunction
order_functions := CreateOrderFunction ConfirmOrderFunction CancelOrderFunction
orchestration_functions := CheckoutApiFunction ReconcilerFunction

$(addprefix build-,$(inventory_functions)):
	$(BUNDLE) code --service inventory --out "$(ARTIFACTS_DIR)"

$(addprefix build-,$(payment_functions)):
	$(BUNDLE) code --service payment --out "$(ARTIFACTS_DIR)"

$(addprefix build-,$(order_functions)):
	$(BUNDLE) code --service order --out "$(ARTIFACTS_DIR)"

$(addprefix build-,$(orchestration_functions)):
	$(BUNDLE) code --service orchestration --out "$(ARTIFACTS_DIR)"

build-DependenciesLayer:
	$(BUNDLE) layer --out "$(ARTIFACTS_DIR)"
