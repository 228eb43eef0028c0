"""The one exception type LocalHub raises for problems a test author can act on.

Kept in its own module so every other part of the package (git discovery, repo store, TLS) can
raise it without importing the server.
"""

from __future__ import annotations

__all__ = ["LocalHubError"]


class LocalHubError(RuntimeError):
    """LocalHub could not do what was asked: git is missing, a repo exists already, and so on.

    Messages never contain a token: they may end up in CI logs.
    """
