// Package grpcprotos holds the descriptors of gRPC's own service protos
// that grpcpy's companion packages serve: grpc.health.v1, grpc.reflection.v1
// and v1alpha, and grpc.channelz.v1, compiled from Debian's grpc-proto
// (/usr/share/grpc-proto; `make proto` regenerates grpc_protos.binpb).
//
// They are kept in a registry of their own (Files), not in protobuf-go's
// global one, and their messages are dynamicpb messages: a Go program may
// also link grpc-go, whose generated packages register the same proto names
// globally, and protobuf-go refuses (panics at start-up on) a name
// registered twice. The wire format is the same either way; the cost is
// dynamic (reflection-driven) encoding, which these low-rate services
// (health checks, reflection, channelz) do not notice.
package grpcprotos

import (
	_ "embed"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// The well-known types channelz imports, registered globally by
	// protobuf-go itself (no conflict: everyone shares these).
	_ "google.golang.org/protobuf/types/known/anypb"
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/timestamppb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"
)

//go:embed grpc_protos.binpb
var raw []byte

// Files is the private registry of the gRPC service protos (their imports,
// the well-known types, resolve from protoregistry.GlobalFiles).
var Files *protoregistry.Files

// Types resolves the message and extension types of Files only; callers
// that also need the global types (google.protobuf.Any payloads) fall
// back to protoregistry.GlobalTypes themselves.
var Types *dynamicpb.Types

func init() {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		panic("grpcprotos: " + err.Error())
	}
	Files = new(protoregistry.Files)
	for _, fdp := range set.File {
		if _, err := protoregistry.GlobalFiles.FindFileByPath(fdp.GetName()); err == nil {
			continue // a well-known type: protobuf-go's own registration serves
		}
		fd, err := protodesc.NewFile(fdp, resolver{})
		if err != nil {
			panic("grpcprotos: " + fdp.GetName() + ": " + err.Error())
		}
		if err := Files.RegisterFile(fd); err != nil {
			panic("grpcprotos: " + err.Error())
		}
	}
	Types = dynamicpb.NewTypes(Files)
}

// resolver finds imports in Files first, then in the global registry.
type resolver struct{}

func (resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := Files.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := Files.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}

// Message is the descriptor of the message full name ("grpc.health.v1.HealthCheckRequest").
func Message(name protoreflect.FullName) protoreflect.MessageDescriptor {
	d, err := Files.FindDescriptorByName(name)
	if err != nil {
		panic(fmt.Sprintf("grpcprotos: %s: %v", name, err))
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		panic(fmt.Sprintf("grpcprotos: %s is not a message", name))
	}
	return md
}

// New returns an empty dynamic message of the full name.
func New(name protoreflect.FullName) *dynamicpb.Message { return dynamicpb.NewMessage(Message(name)) }

// Serializer marshals a proto.Message (a dynamic message here): the
// request_serializer / response_serializer of the companion services.
func Serializer(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("want a proto.Message, got %T", m)
	}
	return proto.Marshal(pm)
}

// Deserializer returns the deserializer of messages of the full name.
func Deserializer(name protoreflect.FullName) func([]byte) (any, error) {
	md := Message(name)
	return func(b []byte) (any, error) {
		m := dynamicpb.NewMessage(md)
		if err := (proto.UnmarshalOptions{Resolver: Types}).Unmarshal(b, m); err != nil {
			return nil, err
		}
		return m, nil
	}
}
