# Builds the Lambda functions for AWS SAM (BuildMethod: makefile): SAM runs
# `make build-<LogicalId>` with ARTIFACTS_DIR set, and the binary must be
# named bootstrap for the provided.al2023 runtime.
GO_BUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w'

build-ApiFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-RelayFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/relay

build-WorkerFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/worker

build-SchedulerFunction:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/scheduler

.PHONY: build-ApiFunction build-RelayFunction build-WorkerFunction build-SchedulerFunction
