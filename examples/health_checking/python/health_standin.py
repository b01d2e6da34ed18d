"""A stand-in for grpc_health.v1.health, for machines without it.

Debian's python3-grpcio has no grpcio-health-checking (PyPI's
grpc_health package), and this repository's tests use only what Debian
ships. The suite generates health_pb2 and health_pb2_grpc into a
grpc_health/v1 package of its own and installs this file there as
health.py, so greeter_server.py runs unchanged. It implements what the
example uses, with grpcio's behaviour: the whole server ('') starts
SERVING; Check of an unknown service is NOT_FOUND; Watch sends the current
status (SERVICE_UNKNOWN if unknown), then the status whenever it changes
(a watcher that falls behind sees the latest); set() is ignored after
enter_graceful_shutdown(). Watch is always a blocking generator:
experimental_non_blocking and experimental_thread_pool are accepted and
ignored. Where the real package is installed the suite uses it instead.
"""
import threading

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1 import health_pb2_grpc

SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
OVERALL_HEALTH = ""


class HealthServicer(health_pb2_grpc.HealthServicer):
    def __init__(self, experimental_non_blocking=True, experimental_thread_pool=None):
        self._cond = threading.Condition()
        self._status = {OVERALL_HEALTH: health_pb2.HealthCheckResponse.SERVING}
        self._shutting_down = False

    def Check(self, request, context):
        with self._cond:
            status = self._status.get(request.service)
        if status is None:
            context.set_code(grpc.StatusCode.NOT_FOUND)
            return health_pb2.HealthCheckResponse()
        return health_pb2.HealthCheckResponse(status=status)

    def Watch(self, request, context):
        unknown = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        last = None
        # A client's cancel or the server's stop ends the RPC: the callback
        # wakes the generator, which then returns.
        context.add_callback(self._wake)
        while context.is_active():
            with self._cond:
                status = self._status.get(request.service, unknown)
                if status == last:
                    self._cond.wait()
                    continue
            last = status
            yield health_pb2.HealthCheckResponse(status=status)

    def _wake(self):
        with self._cond:
            self._cond.notify_all()

    def set(self, service, status):
        with self._cond:
            if self._shutting_down:
                return
            self._status[service] = status
            self._cond.notify_all()

    def enter_graceful_shutdown(self):
        with self._cond:
            if self._shutting_down:
                return
            self._shutting_down = True
            for service in self._status:
                self._status[service] = health_pb2.HealthCheckResponse.NOT_SERVING
            self._cond.notify_all()
