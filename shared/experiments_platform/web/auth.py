"""Authentication in code, a second layer behind Cloud Run IAM (decision 053).

* Push endpoints (``web.routes.push``) and the reconcile endpoint (``web.routes.reconcile``) take a
  request only with ``Authorization: Bearer <Google-signed OIDC token>`` whose audience is
  ``PLATFORM_OIDC_AUDIENCE`` and whose verified email is the push service account
  (``PLATFORM_PUSH_SERVICE_ACCOUNT``) or, for reconcile, the scheduler's
  (``PLATFORM_SCHEDULER_SERVICE_ACCOUNT``).
* The gateway (``require_iap``) takes a request only with IAP's signed header
  ``x-goog-iap-jwt-assertion`` for ``PLATFORM_IAP_AUDIENCE`` (issuer ``https://cloud.google.com/iap``),
  and records its ``email`` as the request's user (``identity.current_user``): experiments it creates
  carry it as ``created_by``.

Tokens are verified by google-auth (``google.oauth2.id_token.verify_token``: signature against the
certificates at the settings' certs URL, expiry, audience); the certificates are fetched once per
``CERTS_TTL_S``. Each check is on when its audience is set (the deployment sets them) and off
otherwise, which the service logs at start-up. A refused request is a 401 naming what was wrong.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Request, request

from experiments_platform.config import Settings
from experiments_platform.errors import PlatformError
from experiments_platform.identity import current_user
from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
IAP_ISSUER = "https://cloud.google.com/iap"
IAP_HEADER = "x-goog-iap-jwt-assertion"
CERTS_TTL_S = 300.0
CLOCK_SKEW_S = 10


class Unauthenticated(PlatformError):
    code = "UNAUTHENTICATED"
    status = 401


class _CertsCache:
    """A google-auth transport request that keeps each certs answer for ``CERTS_TTL_S``."""

    def __init__(self) -> None:
        import google.auth.transport.requests

        self._request = google.auth.transport.requests.Request()
        self._answers: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        with self._lock:
            kept = self._answers.get(url)
            if kept and time.monotonic() - kept[0] < CERTS_TTL_S and method == "GET":
                return kept[1]
        answer = self._request(url, method=method, **kwargs)
        if answer.status == 200:
            with self._lock:
                self._answers[url] = (time.monotonic(), answer)
        return answer


_certs = _CertsCache()


def verify(token: str, *, audience: str, certs_url: str, issuers: tuple[str, ...]) -> dict[str, Any]:
    """The token's claims once google-auth verified its signature, expiry and audience, and its issuer."""
    from google.auth.exceptions import TransportError
    from google.oauth2 import id_token

    try:
        claims = dict(id_token.verify_token(token, _certs, audience=audience, certs_url=certs_url,  # type: ignore[arg-type]
                                            clock_skew_in_seconds=CLOCK_SKEW_S))
    except TransportError as exc:  # the certificates were out of reach (connection error or non-200 answer)
        log.warning(f"could not fetch the signing certificates at {certs_url}: {exc}",
                    extra=fields(certs_url=certs_url))
        raise Unauthenticated("the token could not be verified: could not fetch Google's signing certificates "
                              "(the certificate server did not answer); retry later") from None
    except Exception as exc:  # google-auth raises ValueError and GoogleAuthError subclasses
        raise Unauthenticated(f"the token was refused: {exc}") from None
    if claims.get("iss") not in issuers:
        raise Unauthenticated(f"the token's issuer {claims.get('iss')!r} is not one of {', '.join(issuers)}")
    return claims


def bearer_token(incoming: Request) -> str:
    header = incoming.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the request carries no 'Authorization: Bearer <OIDC token>' header")
    return token.strip()


def oidc_check(settings: Settings, service_account: str | None, caller: str) -> Callable[[], None] | None:
    """The check of Google-signed OIDC tokens of ``service_account`` (None when the audience is unset)."""
    audience = settings.oidc_audience
    if not audience:
        return None

    def check() -> None:
        claims = verify(bearer_token(request), audience=audience, certs_url=settings.google_certs_url,
                        issuers=GOOGLE_ISSUERS)
        email = claims.get("email")
        if not claims.get("email_verified") or (service_account and email != service_account):
            raise Unauthenticated(f"the token names {email!r}, not {caller}'s service account {service_account!r}")

    return check


def checked(view: Callable[..., Any], check: Callable[[], None] | None) -> Callable[..., Any]:
    """``view``, refusing the request first when ``check`` raises (``view`` itself when there is no check)."""
    if check is None:
        return view

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check()
        return view(*args, **kwargs)

    return guarded


def platform_settings(app: Flask) -> Settings:
    return app.extensions["platform"].settings  # type: ignore[no-any-return]


def announce(service: str, what: str, check: Callable[[], None] | None, setting: str) -> None:
    """The start-up log line saying whether ``what`` is verified."""
    if check is None:
        log.info(f"authentication off: {what} are not verified ({setting} is unset: local stack)",
                 extra=fields(service=service))
    else:
        log.info(f"authentication on: {what} are verified", extra=fields(service=service))


def require_iap(app: Flask, settings: Settings) -> None:
    """Refuse gateway requests without a valid IAP assertion (when ``PLATFORM_IAP_AUDIENCE`` is set), and
    make the assertion's email the request's ``current_user``."""
    audience = settings.iap_audience
    announce("api_gateway", "IAP assertions of gateway requests", None if not audience else (lambda: None),
             "PLATFORM_IAP_AUDIENCE")
    if not audience:
        return

    @app.before_request
    def check_iap_assertion() -> None:
        if request.path == "/healthz":
            return
        claims = iap_claims(settings, request.headers.get(IAP_HEADER))
        email = claims.get("email")
        current_user.set(str(email).removeprefix("accounts.google.com:") if email else None)


def iap_claims(settings: Settings, token: str | None) -> dict[str, Any]:
    """The claims of a verified IAP assertion for ``PLATFORM_IAP_AUDIENCE``; ``Unauthenticated`` otherwise."""
    if not token:
        raise Unauthenticated(f"the request carries no {IAP_HEADER} header (is the gateway reached through IAP?)")
    return verify(token, audience=str(settings.iap_audience), certs_url=settings.iap_certs_url, issuers=(IAP_ISSUER,))


def iap_verified(settings: Settings) -> Callable[[Mapping[str, Any]], bool] | None:
    """For WSGI middleware answering before Flask's checks run (``web.snapshot_responses``): whether a request's
    environ carries a valid IAP assertion; None when the gateway does not check assertions (locally)."""
    if not settings.iap_audience:
        return None

    def verified(environ: Mapping[str, Any]) -> bool:
        try:
            iap_claims(settings, environ.get("HTTP_X_GOOG_IAP_JWT_ASSERTION"))
        except Unauthenticated:
            return False
        return True

    return verified
