// Package demo holds the messages and the GRPCDemo service of
// examples/data_transmission (demo.proto): demo.pb.go from protoc-gen-go,
// demo_grpcpy.pb.go from protoc-gen-grpcpy.
package demo

//go:generate protoc --go_out=. --go_opt=paths=source_relative --grpcpy_out=. --grpcpy_opt=paths=source_relative demo.proto
