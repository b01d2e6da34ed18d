// Package hash_name holds the messages and the HashFinder service of
// examples/cancellation (hash_name.proto): hash_name.pb.go from
// protoc-gen-go, hash_name_grpcpy.pb.go from protoc-gen-grpcpy.
package hash_name

//go:generate protoc --go_out=. --go_opt=paths=source_relative --grpcpy_out=. --grpcpy_opt=paths=source_relative hash_name.proto
