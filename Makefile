# ZARISH SPHERE — build, run and test.
GO        ?= go
BIN       := bin/zarish
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/zarish-sphere/zarish/config.Version=$(VERSION)
# The end-to-end tests compile the embedded Temporal server; give them room.
TEST_TIMEOUT ?= 45m
# The hospital day (make load, make soak): admissions per minute, for how long, the patients in their
# beds at the start, and the real time of one simulated 15-minute nursing round.
LOAD_RATE       ?= 20
LOAD_DURATION   ?= 60s
LOAD_INPATIENTS ?= 40
LOAD_ROUND      ?= 5s
SOAK_DURATION   ?= 1h
# The soak's workflow cache (WORKER_WORKFLOW_CACHE_SIZE): small, so it is full by the end of the warm-up.
SOAK_WORKFLOW_CACHE ?= 200
SOAK_TIMEOUT    ?= 2h
# The mixed-traffic run (make load-mixed): how long, and how many concurrent clients.
MIXED_DURATION  ?= 30s
LOAD_CLIENTS    ?= 16
DAY_ENV = LOAD_RATE=$(LOAD_RATE) LOAD_INPATIENTS=$(LOAD_INPATIENTS) LOAD_ROUND=$(LOAD_ROUND)

.PHONY: run build test unit vet bench bench-observations load clean services

## run: build and start the whole engine on embedded defaults (zarish dev)
run: build services
	./$(BIN) dev

## build: compile the zarish binary into bin/
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/zarish

services:
	@./scripts/ensure-services.sh

## test: every test — unit, store, workflow and end-to-end — on the real components, then the fault
## suite (test-faults), then short runs of the fuzz tests: every API route with generated input, the query
## parsers (dates, If-Match, buckets, counts, code lists, durations, DICOM date ranges, dose frequencies,
## quantities), the HL7 v2 parser, ACK builder and MLLP framer, the DICOM reader and the FHIR Bundle reader.
## Each fuzz run is a count of inputs (-fuzztime Nx), a few seconds' worth here, not a duration: a duration
## ends on a deadline that Go's fuzz coordinator can report as a failure, "context deadline exceeded",
## with no failing input (golang/go#75804)
test: vet
	@./scripts/ensure-services.sh --with-kcat --with-chromium --with-dcmtk --with-node
	$(GO) test -count=1 -p 2 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -tags faults -count=1 -run TestFault -timeout 30m ./cmd/zarish/
	$(GO) test -run '^$$' -fuzz '^FuzzRoutes$$' -fuzztime 1000x ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 15000x ./integrations/hl7v2/
	$(GO) test -run '^$$' -fuzz '^FuzzACK$$' -fuzztime 15000x ./integrations/hl7v2/
	$(GO) test -run '^$$' -fuzz '^FuzzMLLPReader$$' -fuzztime 5000x ./integrations/hl7v2/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime 50000x ./integrations/dicom/
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime 20000x ./integrations/fhir/bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzDateBound$$' -fuzztime 5000x ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParseIfMatch$$' -fuzztime 3000x ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzBucketParam$$' -fuzztime 5000x ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzCountParam$$' -fuzztime 5000x ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzCodeList$$' -fuzztime 4000x ./api/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDuration$$' -fuzztime 200000x ./domain/careplan/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDateRange$$' -fuzztime 150000x ./domain/dicom/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFrequency$$' -fuzztime 150000x ./domain/medication/
	$(GO) test -run '^$$' -fuzz '^FuzzParseQuantity$$' -fuzztime 120000x ./domain/observation/

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

## load: a hospital day on the embedded stack — per operation count, rate, p50/p95/p99 and unexpected answers,
## then each figure beside its Temporal, PostgreSQL and Kafka ceiling measured in the same run
.PHONY: load load-mixed soak
load: services
	$(DAY_ENV) LOAD_DURATION=$(LOAD_DURATION) \
		$(GO) test -run '^$$' -bench '^BenchmarkHospitalDay$$' -benchtime 1x -timeout 30m ./cmd/zarish/

## load-mixed: mixed traffic for MIXED_DURATION with LOAD_CLIENTS, printing throughput, latency and memory
load-mixed: services
	LOAD_DURATION=$(MIXED_DURATION) LOAD_CLIENTS=$(LOAD_CLIENTS) \
		$(GO) test -run '^$$' -bench '^BenchmarkMixedLoad$$' -benchtime 1x -timeout 20m ./cmd/zarish/

## soak: the hospital day for SOAK_DURATION, sampling heap, RSS, goroutines and DB connections every minute;
## fails when the heap or the goroutines keep growing
soak: services
	$(DAY_ENV) LOAD_SOAK=$(SOAK_DURATION) LOAD_WORKFLOW_CACHE=$(SOAK_WORKFLOW_CACHE) \
		$(GO) test -run '^$$' -bench '^BenchmarkHospitalDay$$' -benchtime 1x -timeout $(SOAK_TIMEOUT) ./cmd/zarish/

## test-faults: the fault suite, the engine's roles as separate processes of the built binary: a worker
## process killed mid-workflow, PostgreSQL stopped under load, the broker stopped and started again, the
## Temporal server restarted past a due timer, SMTP and SMS providers failing, and every role on its own
## process against `zarish temporal-server` on PostgreSQL with its server killed; each asserts the exact end state
.PHONY: test-faults
test-faults: services
	$(GO) test -tags faults -count=1 -p 1 -run TestFault -timeout 30m ./cmd/zarish/

clean:
	rm -rf bin
