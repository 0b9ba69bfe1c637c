"""WSGI apps served on 127.0.0.1 for a test: plain http, or https with a throwaway certificate.

``Recorder`` wraps an app and keeps each request's method, path, body and Authorization header, so
tests check what really crossed the wire. ``self_signed_certificate`` makes a certificate for
127.0.0.1 that clients trust through ``REQUESTS_CA_BUNDLE`` (requests) or
``MLFLOW_TRACKING_SERVER_CERT_PATH`` (MLflow).
"""

from __future__ import annotations

import datetime
import ipaddress
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: bytes
    authorization: str | None


class Recorder:
    """Records every request, then answers 403 when ``required_authorization`` is set and not matched."""

    def __init__(self, app: WsgiApp, required_authorization: Callable[[], str] | None = None) -> None:
        self.app = app
        self.required_authorization = required_authorization
        self.seen: list[Seen] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        authorization = environ.get("HTTP_AUTHORIZATION")
        self.seen.append(Seen(environ["REQUEST_METHOD"], environ["PATH_INFO"], body, authorization))
        if self.required_authorization is not None and authorization != self.required_authorization():
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Your client does not have permission to get URL from this server."]
        return self.app(environ, start_response)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` for https://127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def serving(app: WsgiApp, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve ``app`` on a free port for the ``with`` block; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         ssl_context=(str(tls[0]), str(tls[1])) if tls else None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(10)


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token with ``claims`` (what ``id_tokens.expiry_of`` reads); not signed."""
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def proxy_to(upstream: str) -> WsgiApp:
    """A WSGI app forwarding every request to ``upstream`` (an http server), as a load balancer would."""
    import requests

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING")
        url = upstream.rstrip("/") + environ["PATH_INFO"] + (f"?{query}" if query else "")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {"Content-Type": environ["CONTENT_TYPE"]} if environ.get("CONTENT_TYPE") else {}
        answer = requests.request(environ["REQUEST_METHOD"], url, data=body, headers=headers, timeout=30)
        start_response(f"{answer.status_code} {answer.reason}",
                       [("Content-Type", answer.headers.get("Content-Type", "application/octet-stream"))])
        return [answer.content]

    return app
