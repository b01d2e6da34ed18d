package grpc

import (
	"fmt"
)

// Serializer turns a message into bytes: grpcio's request_serializer and
// response_serializer. A nil Serializer sends the message as it is, which
// must then be a []byte or a string ("Request goes unserialized").
type Serializer func(message any) ([]byte, error)

// Deserializer turns bytes into a message: grpcio's request_deserializer and
// response_deserializer. A nil Deserializer hands over the raw []byte.
type Deserializer func(data []byte) (any, error)

// serialize runs ser, turning a panic into an error (grpcio catches any
// exception a serializer raises).
func serialize(ser Serializer, message any) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("serializer panicked: %v", r)
		}
	}()
	if ser == nil {
		switch v := message.(type) {
		case []byte:
			return v, nil
		case string:
			return []byte(v), nil
		case nil:
			return nil, fmt.Errorf("message is nil")
		default:
			return nil, fmt.Errorf("no serializer for a message of type %T (want []byte or string)", message)
		}
	}
	out, err = ser(message)
	if err == nil && out == nil {
		out = []byte{}
	}
	return out, err
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
