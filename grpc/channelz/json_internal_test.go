package channelz

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpcpy/grpcpy/core"
)

// TestFromJSON: the core's JSON (as the core 1.51 renders it, with an
// Any the core does not send today) becomes the response message; fields
// the proto lacks and Any values of unknown types are dropped, not fatal;
// what is not JSON of the message is an error (INTERNAL in the servicer).
func TestFromJSON(t *testing.T) {
	socket := `{"socket":{"data":{"messagesReceived":"2","streamsStarted":"2","someFutureCounter":"9"},` +
		`"local":{"tcpip_address":{"ip_address":"fwAAAQ==","port":35561}},` +
		`"remote":{"other_address":{"name":"future","value":{"@type":"type.googleapis.com/grpc.future.Address","host":"h","port":1}}},` +
		`"security":{"other":{"name":"spiffe","value":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"id"}}},` +
		`"ref":{"name":"chttp2 ipv4:127.0.0.1:59952","socketId":"5"}}}`
	m, err := fromJSON(socket, "grpc.channelz.v1.GetSocketResponse")
	if err != nil {
		t.Fatalf("fromJSON: %v", err)
	}
	got := format(t, m)
	for _, want := range []string{`"socketId":"5"`, `"messagesReceived":"2"`, `"port":35561`,
		`"remote":{"otherAddress":{"name":"future","value":{"@type":"type.googleapis.com/grpc.future.Address"}}}`} {
		if !strings.Contains(got, want) {
			t.Errorf("fromJSON: lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "someFutureCounter") || strings.Contains(got, `"host"`) {
		t.Errorf("fromJSON kept unknown fields:\n%s", got)
	}
	// A known Any type keeps its value.
	other := m.ProtoReflect()
	sec := other.Get(other.Descriptor().Fields().ByName("socket")).Message()
	sec = sec.Get(sec.Descriptor().Fields().ByName("security")).Message()
	sec = sec.Get(sec.Descriptor().Fields().ByName("other")).Message()
	value := sec.Get(sec.Descriptor().Fields().ByName("value")).Message().Interface()
	var a anypb.Any
	b, _ := proto.Marshal(value)
	if err := proto.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	var s wrapperspb.StringValue
	if err := a.UnmarshalTo(&s); err != nil || s.GetValue() != "id" {
		t.Errorf("security.other.value: %v (%v), want StringValue \"id\"", &s, err)
	}

	for _, bad := range []string{`not json`, `{"socket": 5}`, `{"socket":{"ref":{"socketId":"five"}}}`} {
		if _, err := fromJSON(bad, "grpc.channelz.v1.GetSocketResponse"); err == nil {
			t.Errorf("fromJSON(%s): no error", bad)
		}
	}
}

// TestCoreJSONParses: what this core renders for an empty process reads
// into the responses.
func TestCoreJSONParses(t *testing.T) {
	for _, c := range []struct{ text, name string }{
		{core.ChannelzTopChannels(0), "grpc.channelz.v1.GetTopChannelsResponse"},
		{core.ChannelzServers(0), "grpc.channelz.v1.GetServersResponse"},
	} {
		m, err := fromJSON(c.text, protoreflect.FullName(c.name))
		if err != nil {
			t.Fatalf("%s: %v", c.text, err)
		}
		if got := format(t, m); got != `{"end":true}` {
			t.Errorf("%s: %s", c.name, got)
		}
	}
}

// format is m's JSON without protojson's random spaces.
func format(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.MarshalOptions{Resolver: anyResolver{}}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
