"""In-memory state shared by the LocalHub API (test thread) and its request threads.

Tokens and the request log live only in memory, never on disk, and the log records the
authorization scheme but never the secret, so a test can print or assert on it freely.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
import threading
from dataclasses import dataclass, field

__all__ = ["Identity", "RequestLog", "RequestRecord", "TokenRegistry", "TokenScope"]

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_BODY_LENGTH = 34  # the Hub's user tokens are "hf_" + 34 letters and digits

TokenScope = str  # "read" or "write"; a plain str so records stay trivially comparable
_SCOPES = ("read", "write")


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request LocalHub received, as a test would want to assert on it.

    `status` is the status LocalHub answered with, or None when it sent no response (a dropped
    connection, or a client that went away). `authorization` is only the scheme ("Basic",
    "Bearer", or "unsupported"), never the credentials. `token_scope` is the scope of the token
    when it was valid, else None. `range` is the request's Range header, if it had one.
    `user_agent` and `via` are those request headers as received
    (None when absent): a forwarding proxy adds `Via`, so a plain-http request that came through
    one says so; a `CONNECT` tunnel leaves no trace here. `received` is `time.monotonic()` when
    the request arrived (so a test can tell how long a client waited before trying again); it
    takes no part in `==`.
    """

    method: str
    path: str
    query: str
    status: int | None
    authorization: str | None
    token_scope: str | None
    range: str | None = None
    user_agent: str | None = None
    via: str | None = None
    received: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class Identity:
    """Who sent a request: the authorization scheme used and the scope of a valid token.

    `scheme is None` means anonymous; a scheme without a scope means bad credentials.
    """

    scheme: str | None
    scope: TokenScope | None

    @property
    def anonymous(self) -> bool:
        return self.scheme is None

    @property
    def authenticated(self) -> bool:
        return self.scope is not None


ANONYMOUS = Identity(None, None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenRegistry:
    """Issued tokens and their scopes, keyed by SHA-256 so no secret sits in a long-lived map."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, TokenScope] = {}
        self._revoked: set[str] = set()

    def issue(self, scope: TokenScope) -> str:
        if scope not in _SCOPES:
            raise ValueError(f"token scope must be 'read' or 'write', not {scope!r}")
        body = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_BODY_LENGTH))
        token = "hf_" + body
        with self._lock:
            self._scopes[_digest(token)] = scope
        return token

    def revoke(self, token: str) -> bool:
        """Revoke `token`; return False if this registry never issued it."""
        digest = _digest(token)
        with self._lock:
            if digest in self._scopes:
                del self._scopes[digest]
                self._revoked.add(digest)
                return True
            return digest in self._revoked

    def scope_of(self, token: str) -> TokenScope | None:
        digest = _digest(token)
        with self._lock:
            return self._scopes.get(digest)

    def identify(self, authorization: str | None) -> Identity:
        """Decode an Authorization header into an Identity.

        Accepts `Basic base64(anything:token)` (the username is ignored, as on the Hub) and
        `Bearer token`. Anything unparsable is reported as bad credentials, not as anonymous,
        so the client gets a 401 instead of silently losing its token.
        """
        if authorization is None:
            return ANONYMOUS
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "basic":
            return Identity("Basic", self._scope_from_basic(credentials))
        if scheme.lower() == "bearer":
            return Identity("Bearer", self.scope_of(credentials) if credentials else None)
        # Record neither the value nor the "scheme": a bare token would be its first word.
        return Identity("unsupported", None)

    def _scope_from_basic(self, credentials: str) -> TokenScope | None:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        _user, colon, password = decoded.partition(":")
        if not colon or not password:
            return None
        return self.scope_of(password)


class RequestLog:
    """Append-only, thread-safe list of RequestRecord."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
