"""helloworld's greeter_client_reflection.py, in the shape of grpc/grpc examples/python.

The original reads the server's descriptors with grpcio-reflection's
ProtoReflectionDescriptorDatabase. Debian ships no grpcio-reflection, so
ReflectionDatabase below plays its part (the DescriptorDatabase methods a
DescriptorPool calls, plus get_services) over reflection_pb2, generated at
test time from grpc/reflection/v1alpha/reflection.proto.

After the original's lines it calls SayHello with message classes built
from what reflection returned: no helloworld_pb2 anywhere.

The target comes from EXAMPLE_TARGET (default the original's localhost:50051).
"""
import logging
import os

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import MessageFactory
import grpc
import reflection_pb2

_SERVER_REFLECTION_INFO = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


class ReflectionDatabase(object):
    """Answers a DescriptorPool's lookups with server reflection requests."""

    def __init__(self, channel):
        self._info = channel.stream_stream(
            _SERVER_REFLECTION_INFO,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        self._files = {}

    def _ask(self, **question):
        # One request on a stream of its own; the stream ends with it.
        responses = self._info(iter([reflection_pb2.ServerReflectionRequest(**question)]), timeout=10)
        response = next(responses)
        if response.HasField("error_response"):
            raise KeyError(response.error_response.error_message)
        return response

    def _file_of(self, response):
        # The file asked for comes first; its imports follow it.
        protos = [descriptor_pb2.FileDescriptorProto.FromString(serialized)
                  for serialized in response.file_descriptor_response.file_descriptor_proto]
        for proto in protos:
            self._files.setdefault(proto.name, proto)
        return self._files[protos[0].name]

    def get_services(self):
        response = self._ask(list_services="")
        return tuple(service.name for service in response.list_services_response.service)

    def FindFileByName(self, name):
        if name in self._files:
            return self._files[name]
        return self._file_of(self._ask(file_by_filename=name))

    def FindFileContainingSymbol(self, symbol):
        return self._file_of(self._ask(file_containing_symbol=symbol))


def run():
    print("Will try to greet world ...")
    with grpc.insecure_channel(os.environ.get("EXAMPLE_TARGET", "localhost:50051")) as channel:
        reflection_db = ReflectionDatabase(channel)
        services = reflection_db.get_services()
        print(f"found services: {services}")

        desc_pool = DescriptorPool(reflection_db)
        service_desc = desc_pool.FindServiceByName("helloworld.Greeter")
        print(f"found Greeter service with name: {service_desc.full_name}")
        for methods in service_desc.methods:
            print(f"found method name: {methods.full_name}")
            input_type = methods.input_type
            print(f"input type for this method: {input_type.full_name}")

        request_desc = desc_pool.FindMessageTypeByName("helloworld.HelloRequest")
        print(f"found request name: {request_desc.full_name}")

        # Beyond the original: a call made with what reflection returned.
        method = service_desc.methods_by_name["SayHello"]
        factory = MessageFactory(desc_pool)
        request_class = factory.GetPrototype(method.input_type)
        reply_class = factory.GetPrototype(method.output_type)
        say_hello = channel.unary_unary(
            "/%s/%s" % (service_desc.full_name, method.name),
            request_serializer=request_class.SerializeToString,
            response_deserializer=reply_class.FromString)
        response = say_hello(request_class(name="you"), timeout=10)
        print("Greeter client received: " + response.message)


if __name__ == "__main__":
    logging.basicConfig()
    run()
