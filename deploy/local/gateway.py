"""The local API Gateway: the templates' Api events as routes, proxy-integration events.

Like a REST API with Lambda proxy integration: the request becomes an API Gateway proxy event, the
function's `{"statusCode", "headers", "body"}` becomes the response, and a function that fails
answers 502 `{"message": "Internal server error"}`. A request no route matches answers 403
`{"message": "Missing Authentication Token"}`, as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from deploy.local.deployer import Route
from deploy.local.runtime import LambdaRuntime
from deploy.local.serving import BackgroundServer
from deploy.local.tracing import SegmentEmitter, TraceContext, new_segment_id, segment

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # a burst of storefront clients must queue, not be reset


class LocalApiGateway(BackgroundServer):
    def __init__(
        self,
        runtime: LambdaRuntime,
        routes: list[Route],
        host: str,
        port: int,
        stage: str,
        emitter: SegmentEmitter | None = None,
    ) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm holds
                # the body for the client's delayed ACK (~40 ms per keep-alive request).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def __getattr__(self, name: str) -> Any:
                # Every method reaches the gateway, as at API Gateway (http.server would answer
                # 501 for one it has no `do_<METHOD>` for): routes decide, ANY included.
                if name.startswith("do_"):
                    return lambda: gateway.handle(self)
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                return  # access lines go through LocalApiGateway.access_log

        self.runtime = runtime
        self.emitter = emitter
        self.routes = routes
        self.stage = stage
        self.access_log: list[str] = []
        super().__init__(_Server((host, port), Handler))

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route of this method on this path; else the path's ANY route, as API Gateway
        prefers an explicit method to ANY."""
        for wanted in (method, "ANY"):
            for route in self.routes:
                found = route.pattern.match(path)
                if found and route.method == wanted:
                    return route, found.groupdict()
        return None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        url = urlsplit(request.path)
        raw_length = request.headers.get("Content-Length") or "0"
        if not raw_length.isdigit():
            request.close_connection = True
            self._reply(request, 400, {"message": "Invalid Content-Length"})
            return
        length = int(raw_length)
        if length > MAX_PAYLOAD_BYTES:
            request.close_connection = True  # the unread body must not become the next request
            self._reply(request, 413, {"message": "Request Too Long"})
            return
        body = request.rfile.read(length) if length else b""
        matched = self._match(request.command, url.path)
        if matched is None:
            self._reply(request, 403, {"message": "Missing Authentication Token"})
            return
        route, path_parameters = matched
        self.runtime.usage.api_request()
        event = self._event(request, route, path_parameters, url.query, body)
        trace, segment_id, began = TraceContext.new(), new_segment_id(), time.time()
        outcome = self.runtime.invoke(route.function, event, trace.header(segment_id))
        status = 502
        if outcome.failed or not isinstance(outcome.payload, dict):
            self._reply(request, 502, {"message": "Internal server error"})
        else:
            response = outcome.payload
            raw = response.get("body") or ""
            data = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
            headers = [(k, v) for k, v in (response.get("headers") or {}).items()]
            for key, values in (response.get("multiValueHeaders") or {}).items():
                headers += [(key, value) for value in values]
            status = int(response.get("statusCode", 200))
            headers.append(("X-Amzn-Trace-Id", f"Root={trace.root}"))
            self._send(request, status, headers, data)
        if self.emitter is not None:
            self.emitter.emit(
                segment(
                    name=f"checkout-api/{self.stage}",
                    segment_id=segment_id,
                    context=trace,
                    start=began,
                    end=time.time(),
                    origin="AWS::ApiGateway::Stage",
                    extra={
                        "http": {
                            "request": {"method": request.command, "url": url.path},
                            "response": {"status": status},
                        },
                        "annotations": {"route": f"{route.method} {route.path}"},
                    },
                )
            )
        self.access_log.append(
            f"{request.command} {url.path} -> {route.function} "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )

    def _event(self, request: BaseHTTPRequestHandler, route: Route, path_parameters: dict[str, str],
               query: str, body: bytes) -> dict[str, Any]:  # fmt: skip
        headers = dict(request.headers.items())
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi_headers.setdefault(key, []).append(value)
        pairs = parse_qsl(query, keep_blank_values=True)
        try:
            text, encoded = body.decode(), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        return {
            "resource": route.path,
            "path": urlsplit(request.path).path,
            "httpMethod": request.command,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": dict(pairs) or None,
            "multiValueQueryStringParameters": {k: [v for kk, v in pairs if kk == k]
                                                for k, _ in pairs} or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.command,
                "path": f"/{self.stage}{urlsplit(request.path).path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": request.client_address[0]},
            },
            "body": text or None,
            "isBase64Encoded": encoded,
        }  # fmt: skip

    def _reply(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        self._send(
            request, status, [("Content-Type", "application/json")], json.dumps(body).encode()
        )

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]],
              data: bytes) -> None:  # fmt: skip
        request.send_response(status)
        for key, value in headers:
            if key.lower() != "content-length":
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if request.command != "HEAD":  # a HEAD answer has the headers of a GET, and no body
            request.wfile.write(data)
