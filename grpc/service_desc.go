package grpc

import (
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// ServiceDesc describes one service for generated code: its full name,
// and per method its shape and how to make its handler from a servicer S
// (the generated FooServicer interface). protoc-gen-grpcpy writes one per
// service (Foo_ServiceDesc); AddFooServicerToServer registers its
// Handlers, and test code can drive them without a network. It is the
// Go form of what Python reads from the generated module and
// DESCRIPTOR.services_by_name. A Go addition.
type ServiceDesc[S any] struct {
	// ServiceName is the service's full name ("helloworld.Greeter").
	ServiceName string
	// Methods are the service's methods, in .proto order.
	Methods []MethodDesc[S]
}

// MethodDesc describes one method of a ServiceDesc.
type MethodDesc[S any] struct {
	// Name is the method's name ("SayHello").
	Name string
	// RequestStreaming and ResponseStreaming give the method's shape.
	RequestStreaming, ResponseStreaming bool
	// Handler makes the method's handler from a servicer, with the
	// method's protobuf (de)serializers.
	Handler func(servicer S) *RpcMethodHandler
}

// Handlers returns servicer's handlers by method name, what
// MethodHandlersGenericHandler takes.
func (d *ServiceDesc[S]) Handlers(servicer S) map[string]*RpcMethodHandler {
	out := make(map[string]*RpcMethodHandler, len(d.Methods))
	for _, m := range d.Methods {
		out[m.Name] = m.Handler(servicer)
	}
	return out
}

// FullMethod is the path of method name on the wire ("/helloworld.Greeter/SayHello").
func (d *ServiceDesc[S]) FullMethod(name string) string {
	return "/" + d.ServiceName + "/" + name
}

// Descriptor looks the service up in the protobuf registry (its .pb.go
// file registers it when its package is linked in): Python's
// DESCRIPTOR.services_by_name[name].
func (d *ServiceDesc[S]) Descriptor() (protoreflect.ServiceDescriptor, error) {
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(d.ServiceName))
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", d.ServiceName, err)
	}
	sd, ok := desc.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is a %T, not a service", d.ServiceName, desc)
	}
	return sd, nil
}
