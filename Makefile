# ZARISH SPHERE — build, run and test.
GO        ?= go
BIN       := bin/zarish
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/zarish-sphere/zarish/config.Version=$(VERSION)
# The end-to-end tests compile the embedded Temporal server; give them room.
TEST_TIMEOUT ?= 45m
# The mixed-traffic load run: how long, and how many concurrent clients.
LOAD_DURATION ?= 30s
LOAD_CLIENTS  ?= 16

.PHONY: run build test unit vet bench bench-observations load clean services

## run: build and start the whole engine on embedded defaults (zarish dev)
run: build services
	./$(BIN) dev

## build: compile the zarish binary into bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/zarish

services:
	@./scripts/ensure-services.sh

## test: every test — unit, store, workflow and end-to-end — on the real components,
## then short runs of the fuzz tests: every API route with generated input, the query parsers (dates,
## If-Match, buckets, counts, code lists, durations, DICOM date ranges, dose frequencies, quantities), the
## HL7 v2 parser, ACK builder and MLLP framer, the DICOM reader and the FHIR Bundle reader
test: vet
	@./scripts/ensure-services.sh --with-kcat --with-chromium --with-dcmtk --with-node
	$(GO) test -count=1 -p 2 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -run '^$$' -fuzz '^FuzzRoutes$$' -fuzztime 20s ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 10s ./integrations/hl7v2/
	$(GO) test -run '^$$' -fuzz '^FuzzACK$$' -fuzztime 5s ./integrations/hl7v2/
	$(GO) test -run '^$$' -fuzz '^FuzzMLLPReader$$' -fuzztime 5s ./integrations/hl7v2/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime 10s ./integrations/dicom/
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime 10s ./integrations/fhir/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzDateBound$$' -fuzztime 5s ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParseIfMatch$$' -fuzztime 5s ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzBucketParam$$' -fuzztime 5s ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzCountParam$$' -fuzztime 5s ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzCodeList$$' -fuzztime 5s ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDuration$$' -fuzztime 5s ./domain/careplan/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDateRange$$' -fuzztime 5s ./domain/dicom/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFrequency$$' -fuzztime 5s ./domain/medication/
	$(GO) test -run '^$$' -fuzz '^FuzzParseQuantity$$' -fuzztime 5s ./domain/observation/

vet:
	$(GO) vet ./...

## unit: the tests that need nothing running
unit:
	$(GO) test -count=1 ./domain/... ./config/...

## bench: the benchmarks, printing their figures
bench: services
	$(GO) test -run '^$$' -bench . -benchtime 2s ./api/ ./integrations/postgres/ ./integrations/kafka/ ./integrations/auth/ ./domain/medication/ \
		./integrations/hl7v2/ ./integrations/dicom/
	$(GO) test -run '^$$' -bench AlertFirstNotification -benchtime 30x ./cmd/zarish/
	$(GO) test -run '^$$' -bench EncounterThroughput -benchtime 1x ./cmd/zarish/
	$(GO) test -run '^$$' -bench PrescriptionPlacement -benchtime 1x ./cmd/zarish/
	$(GO) test -run '^$$' -bench DiagnosticOrderToFinal -benchtime 1x ./cmd/zarish/
	$(GO) test -run '^$$' -bench CriticalResultFirstNotification -benchtime 30x ./cmd/zarish/
	$(GO) test -run '^$$' -bench FindAndHold -benchtime 200x ./integrations/postgres/
	$(GO) test -run '^$$' -bench ProcedureBooking -benchtime 1x ./cmd/zarish/
	$(GO) test -run '^$$' -bench ConsoleWardBoard -benchtime 50x ./cmd/zarish/
	$(GO) test -run '^$$' -bench ConsoleAlertOnBoard -benchtime 30x ./cmd/zarish/
	$(GO) test -run '^$$' -bench MLLPIngest -benchtime 1x ./integrations/hl7v2/ingest/
	$(GO) test -run '^$$' -bench DICOMStow -benchtime 1x ./api/

## bench-observations: observation batch ingest, each path beside raw COPY of the same rows into the
## same table measured in the same run (ratio-to-copy): the store, then the API (full and minimal answers)
bench-observations: services
	$(GO) test -run '^$$' -bench '^BenchmarkObservationBatch$$' -benchtime 10x ./integrations/postgres/
	$(GO) test -run '^$$' -bench '^BenchmarkObservationBatchAPI$$' -benchtime 10x ./api/

## bench-import: FHIR Bundle import through the API (POST /fhir/R4: the real router, the bundle reader and the bulk
## import store on PostgreSQL), Synthea bundles one per request and merged, beside a raw CopyFrom of as many rows into
## a scratch table measured in the same run (ratio-to-copy)
.PHONY: bench-import
bench-import: services
	$(GO) test -run '^$$' -bench '^BenchmarkFHIRImportAPI$$' -benchtime 10x -timeout 20m ./api/

## load: mixed traffic on the embedded stack for LOAD_DURATION with LOAD_CLIENTS, printing throughput, latency and memory
load: services
	LOAD_DURATION=$(LOAD_DURATION) LOAD_CLIENTS=$(LOAD_CLIENTS) \
		$(GO) test -run '^$$' -bench MixedLoad -benchtime 1x -timeout 20m ./cmd/zarish/

## test-faults: the fault suite, the engine's roles as separate processes of the built binary: a worker
## process killed mid-workflow, PostgreSQL stopped under load, the broker stopped and started again, the
## Temporal server restarted past a due timer, SMTP and SMS providers failing, and every role on its own
## process against `zarish temporal-server` on PostgreSQL with its server killed; each asserts the exact end state
.PHONY: test-faults
test-faults: services
	$(GO) test -tags faults -count=1 -p 1 -run TestFault -timeout 30m ./cmd/zarish/

clean:
	rm -rf bin
