# Shortcuts; the scripts are the source of truth (README names them).
.PHONY: demo test proto bench static fuzz soak
demo:
	./scripts/demo.sh
test:
	./scripts/test.sh
# Regenerates the committed protobuf and service code.
proto:
	./scripts/proto.sh
# grpcpy against the grpc-go peer: the table of issue 7 (about 6 minutes).
bench:
	./scripts/bench.sh
# A binary with the C core linked in statically.
static:
	go build -tags grpc_static -o bin/greeter_server_static ./examples/helloworld/greeter_server
# Each fuzz target for FUZZTIME (default 10s); the seed corpora run in make test.
fuzz:
	./scripts/fuzz.sh
# A long soak (not in CI): all four RPC shapes with cancels, printing RSS, Go
# heap, goroutines, threads and C objects every 30 s. SOAK_DURATION=10m.
soak:
	go run ./cmd/soak --duration=$${SOAK_DURATION:-10m} --interval=30s
