# scalestore — top-level make targets. The lab's targets live in lab/lab.mk.
GO ?= go
BIN := scalestore

.PHONY: build unit test vet bench deps fmt
build:
	$(GO) build -o $(BIN) .

vet:
	$(GO) vet ./...

unit: vet
	$(GO) test ./...

-include lab/lab.mk
