# make run: the quickstart (examples/quickstart/run.sh). RUN_ONCE=1 exits
# after the demo instead of waiting for Ctrl-C.
.PHONY: run
run: ## build, start the example servers and Portcullis, show one allowed and one blocked call
	@examples/quickstart/run.sh
