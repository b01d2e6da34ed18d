package grpcprotos

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestServicesPrivate: every service the companion packages serve is in
// Files and none is in the global registry (a binary that also links
// grpc-go's generated packages must start).
func TestServicesPrivate(t *testing.T) {
	for _, name := range []protoreflect.FullName{
		"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
		"grpc.reflection.v1alpha.ServerReflection", "grpc.channelz.v1.Channelz",
	} {
		d, err := Files.FindDescriptorByName(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := d.(protoreflect.ServiceDescriptor); !ok {
			t.Fatalf("%s is a %T", name, d)
		}
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err == nil {
			t.Fatalf("%s is registered globally", name)
		}
	}
	m := New("grpc.health.v1.HealthCheckResponse")
	m.Set(m.Descriptor().Fields().ByName("status"), protoreflect.ValueOfEnum(1))
	b, err := proto.Marshal(m)
	if err != nil || string(b) != "\x08\x01" {
		t.Fatalf("HealthCheckResponse{SERVING} = %q, %v", b, err)
	}
	back, err := Deserializer("grpc.health.v1.HealthCheckResponse")(b)
	if err != nil || !proto.Equal(back.(proto.Message), m) {
		t.Fatalf("round trip: %v, %v", back, err)
	}
}
