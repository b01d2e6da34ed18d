module github.com/grpcpy/grpcpy

go 1.23

require go.uber.org/goleak v1.3.0
