package health

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

// seeds are encodings of either message: valid, with unknown fields,
// repeated fields, wrong wire types, groups, bad UTF-8, truncated.
var seeds = []string{
	"", "\x0a\x00", "\x0a\x01a", "\x0a\x12helloworld.Greeter", "\x0a\x01a\x0a\x01b",
	"\x08\x01", "\x08\x02", "\x08\x03", "\x08\x07", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "\x08\x01\x08\x00",
	"\x12\x01x\x0a\x01a", "\x10\x05\x08\x02", "\x0a\x02\xc3\xa9", "\x0a\x02\xff\xfe", "\x0a\x05", "\x08",
	"\x0b\x0c", "\x0b\x14", "\x0c", "\x00", "\x0d\x01\x02\x03\x04", "\x09\x01\x02\x03\x04\x05\x06\x07\x08",
	"\xfa\xff\xff\xff\x0f\x00", "\x82\x80\x80\x80\x10\x00", "\x0e",
}

// FuzzRequest: deserializeRequest accepts exactly what protobuf-go's
// Unmarshal of grpc.health.v1.HealthCheckRequest (health.proto's
// descriptor) accepts, with the same service; serializeRequest writes
// proto.Marshal's bytes.
func FuzzRequest(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	desc := grpcprotos.Message("grpc.health.v1.HealthCheckRequest")
	field := desc.Fields().ByName("service")
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := deserializeRequest(b)
		d := dynamicpb.NewMessage(desc)
		derr := proto.Unmarshal(b, d)
		if (err == nil) != (derr == nil) {
			t.Fatalf("%q: error %v, protobuf-go's %v", b, err, derr)
		}
		if err != nil {
			return
		}
		r := got.(*HealthCheckRequest)
		if want := d.Get(field).String(); r.Service != want {
			t.Fatalf("%q: service %q, protobuf-go's %q", b, r.Service, want)
		}
		enc, err := serializeRequest(r)
		d.SetUnknown(nil)
		want, merr := proto.Marshal(d)
		if err != nil || merr != nil || !bytes.Equal(enc, want) {
			t.Fatalf("%q: serialized %q, %v; protobuf-go's %q, %v", b, enc, err, want, merr)
		}
	})
}

// FuzzResponse is FuzzRequest for HealthCheckResponse.
func FuzzResponse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	desc := grpcprotos.Message("grpc.health.v1.HealthCheckResponse")
	field := desc.Fields().ByName("status")
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := deserializeResponse(b)
		d := dynamicpb.NewMessage(desc)
		derr := proto.Unmarshal(b, d)
		if (err == nil) != (derr == nil) {
			t.Fatalf("%q: error %v, protobuf-go's %v", b, err, derr)
		}
		if err != nil {
			return
		}
		r := got.(*HealthCheckResponse)
		if want := ServingStatus(d.Get(field).Enum()); r.Status != want {
			t.Fatalf("%q: status %v, protobuf-go's %v", b, r.Status, want)
		}
		enc, err := serializeResponse(r)
		d.SetUnknown(nil)
		want, merr := proto.Marshal(d)
		if err != nil || merr != nil || !bytes.Equal(enc, want) {
			t.Fatalf("%q: serialized %q, %v; protobuf-go's %q, %v", b, enc, err, want, merr)
		}
	})
}

// TestSerializeWrongType: a serializer given another type fails (the
// RPC then fails), it does not panic.
func TestSerializeWrongType(t *testing.T) {
	if _, err := serializeRequest(&HealthCheckResponse{}); err == nil {
		t.Error("serializeRequest took a response")
	}
	if _, err := serializeResponse("SERVING"); err == nil {
		t.Error("serializeResponse took a string")
	}
	var nilReq *HealthCheckRequest
	if b, err := serializeRequest(nilReq); err != nil || len(b) != 0 {
		t.Errorf("a nil request: %q, %v", b, err)
	}
}
