package grpc

import (
	"fmt"

	"github.com/grpcpy/grpcpy/core"
)

// Metadatum is one metadata entry, grpcio's _Metadatum(key, value). Keys are
// lowercase ASCII; values of keys ending in "-bin" are arbitrary bytes
// (the core base64-encodes them on the wire), other values printable ASCII.
type Metadatum struct {
	Key   string
	Value string
}

// Metadata is grpcio's metadata: a sequence of (key, value) pairs, in
// order, keys may repeat.
type Metadata []Metadatum

// Pairs builds Metadata from alternating keys and values:
// Pairs("k1", "v1", "k2", "v2"). An odd trailing key gets an empty value.
func Pairs(kv ...string) Metadata {
	md := make(Metadata, 0, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		v := ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		md = append(md, Metadatum{kv[i], v})
	}
	return md
}

// Get returns every value of key, in order.
func (md Metadata) Get(key string) []string {
	var out []string
	for _, m := range md {
		if m.Key == key {
			out = append(out, m.Value)
		}
	}
	return out
}

// reservedKeys are keys the core itself writes or reads with a meaning
// of its own; given by the application they crash the core 1.51 or
// corrupt the RPC's status, so they are refused (grpcio passes them on):
//   - grpc-timeout: SEND_INITIAL_METADATA/SEND_STATUS on a server trips
//     an assertion in chttp2_transport.cc (the process aborts); a client
//     sets its deadline with WithTimeout.
//   - grpclb_client_stats: the core's encoder abort()s on it, on any path.
//   - grpc-status, grpc-message: the status is the library's to send; a
//     client that sent them got its unary response dropped with OK.
var reservedKeys = map[string]string{
	"grpc-timeout":        "the deadline is set with WithTimeout (timeout=), never as metadata",
	"grpclb_client_stats": "the core reserves it for the grpclb load balancer",
	"grpc-status":         "the status is sent by the library (SetCode, Abort)",
	"grpc-message":        "the status details are sent by the library (SetDetails, Abort)",
}

// checkMetadata applies the core's header rules before anything is sent.
func checkMetadata(md Metadata) (core.OutgoingMetadata, error) {
	if len(md) == 0 {
		return core.OutgoingMetadata{}, nil
	}
	in := make([]core.Metadatum, len(md))
	for i, m := range md {
		if why, ok := reservedKeys[m.Key]; ok {
			return core.OutgoingMetadata{}, &ValueError{Msg: fmt.Sprintf("metadata key %q (entry %d) is reserved: %s", m.Key, i, why)}
		}
		in[i] = core.Metadatum{Key: m.Key, Value: m.Value}
	}
	buf, err := core.CheckMetadata(in)
	if err != nil {
		return buf, &ValueError{Msg: err.Error(), Err: err}
	}
	return buf, nil
}

func fromCoreMetadata(in []core.Metadatum) Metadata {
	if len(in) == 0 {
		return nil
	}
	out := make(Metadata, len(in))
	for i, m := range in {
		out[i] = Metadatum{m.Key, m.Value}
	}
	return out
}
