package grpc

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcpy/grpcpy/core"
)

// Serializer turns a message into bytes: grpcio's request_serializer and
// response_serializer. A nil Serializer sends the message as it is, which
// must then be a []byte or a string ("Request goes unserialized").
type Serializer func(message any) ([]byte, error)

// Deserializer turns bytes into a message: grpcio's request_deserializer and
// response_deserializer. A nil Deserializer hands over the raw []byte.
type Deserializer func(data []byte) (any, error)

// encoder is a request or response serializer as the RPC paths hold it:
// the user's Serializer, or protobuf's default, which the typed stubs and
// generated code install (typedOptions, typedHandlerOptions) and which
// marshals straight into core memory. The marker travels with the
// options, so a Serializer is never compared with ProtoSerializer: one
// passed explicitly is called as any other and its bytes copied.
type encoder struct {
	ser   Serializer
	proto bool // protobuf's default: the message goes to core as a core.Payload with protoMarshaler
}

// decoder is a deserializer as the RPC paths hold it: the user's
// Deserializer, or protobuf's default for one message type, which reads
// the message where the core received it (no Go copy of the bytes).
type decoder struct {
	des   Deserializer
	proto protoreflect.MessageType // protobuf's default for this type: unmarshal in place
}

// protoMarshaler marshals protobuf messages straight into the core slice
// core.Payload's batch holds: proto.Size, then MarshalAppend into exactly
// that many bytes, reusing the sizes Size cached. Stateless, so a Payload
// carries it with no allocation.
type protoMarshaler struct{}

func (protoMarshaler) Size(message any) int { return proto.Size(message.(proto.Message)) }

func (protoMarshaler) MarshalAppend(buf []byte, message any) ([]byte, error) {
	return proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, message.(proto.Message))
}

// serialize runs the encoder, turning a panic into an error (grpcio
// catches any exception a serializer raises). Bytes are copied into core
// memory when the message's batch starts, so the caller's []byte may be
// reused once the send returns. Protobuf's default only checks the message
// here: core marshals it when it starts the batch, and reports a failure
// then as a *core.MarshalError (marshalFailed).
func serialize(enc encoder, message any) (out core.Payload, err error) {
	if enc.proto {
		m, ok := message.(proto.Message)
		if !ok || m == nil {
			return out, fmt.Errorf("want a proto.Message, got %T", message)
		}
		return core.Payload{Marshaler: protoMarshaler{}, Message: m}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("serializer panicked: %v", r)
		}
	}()
	if enc.ser == nil {
		switch v := message.(type) {
		case []byte:
			return core.Payload{Bytes: v}, nil
		case string:
			return core.Payload{Bytes: []byte(v)}, nil
		case nil:
			return out, fmt.Errorf("message is nil")
		default:
			return out, fmt.Errorf("no serializer for a message of type %T (want []byte or string)", message)
		}
	}
	b, err := enc.ser(message)
	if err == nil && b == nil {
		b = []byte{}
	}
	return core.Payload{Bytes: b}, err
}

// marshalFailed reports whether err is protobuf's default marshalling
// failing in core (serialize's deferred half), and its cause. Core returns
// the *core.MarshalError itself: a type assertion, no allocation per send.
func marshalFailed(err error) (cause error, ok bool) {
	if me, is := err.(*core.MarshalError); is {
		return me.Err, true
	}
	return nil, false
}

// deserialize runs des, turning a panic into an error.
func deserialize(des Deserializer, data []byte) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("deserializer panicked: %v", r)
		}
	}()
	if des == nil {
		return data, nil
	}
	return des(data)
}

// decode deserializes a received message and releases the core's buffer,
// on the goroutine that consumes it (never a poller). Protobuf's default
// unmarshals where the core received the message (proto.Unmarshal keeps no
// reference to its input: protobuf aliases it only when asked to, with
// protoiface.UnmarshalAliasBuffer, which proto.Unmarshal never sets). Any
// other deserializer, and nil (raw bytes), gets a []byte of its own: the
// message copied once out of core memory.
func decode(d decoder, m *core.Received) (out any, err error) {
	if d.proto == nil {
		return deserialize(d.des, m.Bytes())
	}
	defer func() {
		m.Release() // View released it unless it did not run
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("deserializer panicked: %v", r)
		}
	}()
	msg := d.proto.New().Interface()
	if err := m.View(func(b []byte) error { return proto.Unmarshal(b, msg) }); err != nil {
		return nil, err
	}
	return msg, nil
}
