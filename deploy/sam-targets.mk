# Targets `sam build` calls for resources with `BuildMethod: makefile` (SAM sets ARTIFACTS_DIR).
# Every template's CodeUri/ContentUri is the repository root, built with --build-in-source, so a
# function bundle is assembled from the sources here: its own service plus shared/, nothing else.
# No list of functions: `deploy.bundle --function` finds the template that defines the logical id.
BUNDLE := python3 -m deploy.bundle

build-DependenciesLayer:
	$(BUNDLE) layer --out "$(ARTIFACTS_DIR)"

build-%Function:
	$(BUNDLE) code --function $*Function --out "$(ARTIFACTS_DIR)"
