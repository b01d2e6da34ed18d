module github.com/grpcpy/grpcpy

go 1.23

require go.uber.org/goleak v1.3.0

require google.golang.org/protobuf v1.36.12 // indirect
