"""A real gRPC server on 127.0.0.1 that records each request message a real Google client sends.

Tests of the adapters without an emulator (Cloud Build, Vertex AI) point the real client at it and
check the requests at the transport. Each method answers with a queued responder (``then``) or its
default; ``of(method)`` lists the requests that method received.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

Responder = Callable[[Any, grpc.ServicerContext], Any]
R = TypeVar("R", bound="GrpcRecorder")


@dataclass(frozen=True)
class Method:
    """One unary method: how to read its request, write its response, and the default answer."""

    request_type: Any
    serialize: Callable[[Any], bytes]
    default: Responder


class GrpcRecorder:
    """Answers each method of gRPC service ``service_name`` with a queued responder (or its default), keeping
    every request."""

    def __init__(self, service_name: str, methods: Mapping[str, Method]) -> None:
        self.service_name = service_name
        self.methods = dict(methods)
        self.address = ""
        self.requests: list[tuple[str, Any]] = []
        self.queued: dict[str, list[Responder]] = {}

    def then(self, method: str, responder: Responder) -> None:
        self.queued.setdefault(method, []).append(responder)

    def of(self, method: str) -> list[Any]:
        return [request for name, request in self.requests if name == method]

    def handler(self, name: str) -> grpc.RpcMethodHandler:
        method = self.methods[name]

        def answer(request: Any, context: grpc.ServicerContext) -> Any:
            self.requests.append((name, request))
            queue = self.queued.get(name) or []
            responder = queue.pop(0) if queue else method.default
            return responder(request, context)

        return grpc.unary_unary_rpc_method_handler(
            answer, request_deserializer=method.request_type.deserialize, response_serializer=method.serialize
        )


def fail(code: grpc.StatusCode, message: str) -> Responder:
    """A responder that aborts the call with ``code``."""

    def respond(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return respond


@contextmanager
def serving(recorder: R) -> Iterator[R]:
    """Serve ``recorder`` on a free port of 127.0.0.1 for the ``with`` block (its ``address`` is set)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handlers = {name: recorder.handler(name) for name in recorder.methods}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(recorder.service_name, handlers),))
    recorder.address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield recorder
    finally:
        server.stop(grace=None)
