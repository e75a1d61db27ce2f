"""Who may call the standalone API: a bearer token, or nobody but this machine.

``recs serve`` needs a token (``RECS_API_TOKEN``, or ``[serve] token`` in recs.toml) that every request sends
as ``Authorization: Bearer <token>``; it is compared in constant time (``hmac.compare_digest``). Without one it
refuses to start, unless told ``--no-auth-localhost``, which serves without authentication and only on a
loopback address.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from jobs.config import Settings

log = logging.getLogger("recs.api")


#: The ``Authorization: Bearer`` header, parsed (None when absent or another scheme); in the OpenAPI page too.
_CREDENTIALS = Security(HTTPBearer(auto_error=False, description="the API token (RECS_API_TOKEN)"))


class ServeRefused(ValueError):
    """``recs serve`` will not start as asked (the message says why and what to do)."""


def bearer_auth(token: str) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that answers 401 (with ``WWW-Authenticate``) unless the request sends ``token``."""
    expected = token.encode()

    async def require_bearer_token(credentials: HTTPAuthorizationCredentials | None = _CREDENTIALS) -> None:
        if credentials is None:
            raise HTTPException(401, "missing bearer token: send the header `Authorization: Bearer <token>`",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    return require_bearer_token


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_for(settings: Settings, host: str, no_auth_localhost: bool) -> Callable[..., Awaitable[None]] | None:
    """The dependency guarding ``recs serve``'s routes, or None for ``--no-auth-localhost``; raises
    ``ServeRefused`` for a setup that would expose the API without a token."""
    token = settings.serve.token.strip()
    if no_auth_localhost:
        if not is_loopback(host):
            raise ServeRefused(f"--no-auth-localhost serves on a loopback address only (127.0.0.1, ::1, localhost), "
                               f"not {host!r}; set RECS_API_TOKEN to serve on other addresses")
        if token:
            log.warning("--no-auth-localhost: the configured API token is not required by this server")
        return None
    if not token:
        raise ServeRefused("no API token: set RECS_API_TOKEN (or [serve] token in recs.toml) and send it as "
                           "`Authorization: Bearer <token>`, or pass --no-auth-localhost to serve this machine only "
                           "without authentication")
    return bearer_auth(token)
