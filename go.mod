module github.com/grpcpy/grpcpy

go 1.23.0

require (
	go.uber.org/goleak v1.3.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250825161204-c5933d9347a5
	google.golang.org/protobuf v1.36.12
)
