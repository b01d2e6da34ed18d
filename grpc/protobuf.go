package grpc

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// ProtoSerializer is the serializer for protobuf messages, what generated
// Python code passes as Message.SerializeToString.
func ProtoSerializer(message any) ([]byte, error) {
	m, ok := message.(proto.Message)
	if !ok || m == nil {
		return nil, fmt.Errorf("want a proto.Message, got %T", message)
	}
	return proto.Marshal(m)
}

// ProtoDeserializer returns the deserializer for protobuf message type T,
// what generated Python code passes as Message.FromString:
// ProtoDeserializer[pb.HelloReply]() yields *pb.HelloReply values.
func ProtoDeserializer[T any, PT interface {
	*T
	proto.Message
}]() Deserializer {
	return func(data []byte) (any, error) {
		m := PT(new(T))
		if err := proto.Unmarshal(data, m); err != nil {
			return nil, err
		}
		return m, nil
	}
}
