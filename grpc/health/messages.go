package health

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// ServingStatus mirrors health_pb2.HealthCheckResponse.ServingStatus, the
// enum of grpc.health.v1; its values are the proto's.
type ServingStatus int32

// The members of HealthCheckResponse.ServingStatus. Python reaches them
// through the message (health_pb2.HealthCheckResponse.SERVING), grpc-go
// as healthpb.HealthCheckResponse_SERVING: the Go name is either one
// without its separator.
const (
	// HealthCheckResponseUnknown mirrors HealthCheckResponse.UNKNOWN (0).
	HealthCheckResponseUnknown ServingStatus = 0
	// HealthCheckResponseServing mirrors HealthCheckResponse.SERVING (1).
	HealthCheckResponseServing ServingStatus = 1
	// HealthCheckResponseNotServing mirrors HealthCheckResponse.NOT_SERVING (2).
	HealthCheckResponseNotServing ServingStatus = 2
	// HealthCheckResponseServiceUnknown mirrors
	// HealthCheckResponse.SERVICE_UNKNOWN (3), used only by Watch.
	HealthCheckResponseServiceUnknown ServingStatus = 3
)

var servingStatusNames = [...]string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}

// String is the proto name of the value
// (HealthCheckResponse.ServingStatus.Name(value)), "SERVING";
// a value the proto does not name prints as its number.
func (s ServingStatus) String() string {
	if s >= 0 && int(s) < len(servingStatusNames) {
		return servingStatusNames[s]
	}
	return fmt.Sprintf("ServingStatus(%d)", int32(s))
}

// HealthCheckRequest mirrors health_pb2.HealthCheckRequest.
type HealthCheckRequest struct {
	// Service mirrors the service field: the name of the service asked
	// about; OverallHealth ("") for the whole server.
	Service string
}

// GetService returns Service, or "" for a nil request (as protoc-gen-go's
// getters do).
func (m *HealthCheckRequest) GetService() string {
	if m == nil {
		return ""
	}
	return m.Service
}

// HealthCheckResponse mirrors health_pb2.HealthCheckResponse.
type HealthCheckResponse struct {
	// Status mirrors the status field.
	Status ServingStatus
}

// GetStatus returns Status, or HealthCheckResponseUnknown for a nil
// response.
func (m *HealthCheckResponse) GetStatus() ServingStatus {
	if m == nil {
		return HealthCheckResponseUnknown
	}
	return m.Status
}

// The messages are plain Go structs, not generated protobuf types: the
// canonical generated package, grpc-go's grpc_health_v1, registers
// grpc.health.v1 in protobuf-go's global registry (a program linking both
// would panic at start-up if grpcpy registered the names too) and links
// all of grpc-go (+5.4 MiB). They are encoded with protowire, field by
// field as health.proto declares them (proto3: field 1, a string in the
// request, an enum in the response); dynamic messages over the
// descriptors of internal/grpcprotos would do the same for +452 KiB of
// protobuf-go (protodesc, dynamicpb, descriptorpb). Tests check the
// encoding against those descriptors and against foreign peers.

// serializeRequest is HealthCheckRequest.SerializeToString.
func serializeRequest(m any) ([]byte, error) {
	r, ok := m.(*HealthCheckRequest)
	if !ok {
		return nil, fmt.Errorf("health: want a *health.HealthCheckRequest, got %T", m)
	}
	var b []byte
	if s := r.GetService(); s != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return b, nil
}

// serializeResponse is HealthCheckResponse.SerializeToString.
func serializeResponse(m any) ([]byte, error) {
	r, ok := m.(*HealthCheckResponse)
	if !ok {
		return nil, fmt.Errorf("health: want a *health.HealthCheckResponse, got %T", m)
	}
	var b []byte
	if s := r.GetStatus(); s != HealthCheckResponseUnknown {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(s)))
	}
	return b, nil
}

// deserializeRequest is HealthCheckRequest.FromString.
func deserializeRequest(b []byte) (any, error) {
	r := new(HealthCheckRequest)
	err := fields(b, protowire.BytesType, func(v []byte) error {
		if !utf8.Valid(v) {
			return errors.New("health: HealthCheckRequest.service: invalid UTF-8")
		}
		r.Service = string(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// deserializeResponse is HealthCheckResponse.FromString.
func deserializeResponse(b []byte) (any, error) {
	r := new(HealthCheckResponse)
	err := fields(b, protowire.VarintType, func(v []byte) error {
		x, _ := protowire.ConsumeVarint(v)
		r.Status = ServingStatus(int32(x)) // an open enum: any int32
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// fields walks a message of one field (number 1, of wire type typ) as
// protobuf-go's Unmarshal does: the last occurrence wins, anything else
// (other numbers, or 1 with another wire type) is an unknown field,
// skipped; malformed input is an error. field gets each occurrence's
// value bytes (the string's bytes, the varint's encoding).
func fields(b []byte, typ protowire.Type, field func([]byte) error) error {
	for len(b) > 0 {
		num, t, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("health: %w", protowire.ParseError(n))
		}
		if num > protowire.MaxValidNumber {
			return fmt.Errorf("health: field number %d out of range", num)
		}
		b = b[n:]
		if num == 1 && t == typ {
			var v []byte
			if typ == protowire.BytesType {
				v, n = protowire.ConsumeBytes(b)
			} else {
				_, n = protowire.ConsumeVarint(b)
				if n >= 0 {
					v = b[:n]
				}
			}
			if n < 0 {
				return fmt.Errorf("health: %w", protowire.ParseError(n))
			}
			if err := field(v); err != nil {
				return err
			}
		} else {
			n = protowire.ConsumeFieldValue(num, t, b)
			if n < 0 {
				return fmt.Errorf("health: %w", protowire.ParseError(n))
			}
		}
		b = b[n:]
	}
	return nil
}
