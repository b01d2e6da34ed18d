// Regenerates helloworld.pb.go and helloworld_grpcpy.pb.go (scripts/plugin-install.sh checks they match).
//go:generate protoc --go_out=. --go_opt=paths=source_relative --grpcpy_out=. --grpcpy_opt=paths=source_relative helloworld.proto

package helloworld
