"""The Hub's HTTP API from Python: :func:`create_repo` and :func:`whoami`.

Both go through the native core's one HTTP stack (the same TLS trust, timeouts and token handling
as Git LFS), with the token sent as ``Authorization: Bearer``, as huggingface_hub sends it.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Union

from . import _native

__all__ = ["create_repo", "whoami"]

TokenArg = Union[str, bool, None]

_log = logging.getLogger("hfgit")


def create_repo(
    repo_id: str,
    *,
    repo_type: str | None = None,
    private: bool | None = None,
    exist_ok: bool = False,
    token: TokenArg = None,
    endpoint: str | None = None,
    space_sdk: str | None = None,
) -> str:
    """Create a repository on the Hub and return its URL, which :func:`hfgit.clone` takes.

    ``repo_id`` is ``"namespace/name"``, or ``"name"`` for the token owner's namespace.
    ``repo_type`` is ``"model"`` (the default), ``"dataset"`` or ``"space"``; a Space needs
    ``space_sdk`` (``"gradio"``, ``"docker"``, ``"static"`` or ``"streamlit"``). ``private=None``
    (the default) leaves visibility to the Hub: public, unless the namespace defaults to private,
    as in huggingface_hub; ``True`` or ``False`` decide. The repo starts with one commit holding
    the Hub's default ``.gitattributes``.

    The token is ``token=``, else ``HF_TOKEN``, else the token file of ``hf auth login``, else
    the Colab secret ``HF_TOKEN``; it needs write access to the namespace. ``endpoint`` defaults
    to ``HF_ENDPOINT``, else https://huggingface.co. The call is ``POST /api/repos/create``, as
    huggingface_hub's ``HfApi.create_repo`` makes it; it is not retried (a lost answer must not
    create twice).

    Raises :class:`RepositoryExistsError` (a ``FileExistsError``) when the repo exists, unless
    ``exist_ok=True``; with ``exist_ok=True`` a token that may not create in the namespace still
    succeeds if it can read the existing repo. Raises :class:`InvalidArgumentError` for a
    malformed ``repo_id`` (huggingface_hub's rules: letters, digits, ``-``, ``_``, ``.``, at most
    96 per part, no ``--`` or ``..``) or ``repo_type``, before any request;
    :class:`AuthenticationError` with the Hub's reason on 401 or 403;
    :class:`OfflineModeError` when ``HF_HUB_OFFLINE`` is set; :class:`InsecureTransportError`
    for a token over plain ``http://`` to another machine; :class:`NetworkError` (or
    :class:`CertificateError`) when the Hub cannot be reached or answers with an error.
    """
    url = _native.create_repo(
        repo_id,
        repo_type=repo_type,
        private=private,
        exist_ok=exist_ok,
        token=token,
        endpoint=endpoint,
        space_sdk=space_sdk,
    )
    _log.info("repo %s is at %s", repo_id, url)
    return url


def whoami(token: TokenArg = None, *, endpoint: str | None = None) -> dict[str, Any]:
    """Who the token belongs to: the Hub's ``GET /api/whoami-v2`` answer, as a dict.

    The same dictionary huggingface_hub's ``whoami()`` returns: ``type`` (``"user"`` or
    ``"org"``), ``name`` (the user name), ``fullname``, ``orgs``, and under
    ``auth.accessToken`` the token's ``role`` (``"read"``, ``"write"`` or ``"fineGrained"``).
    The token is found as for :func:`create_repo`; ``endpoint`` defaults to ``HF_ENDPOINT``, else
    https://huggingface.co. Not cached: commits look the author up once per process on their own.

    Raises :class:`AuthenticationError` when there is no token or the Hub does not know it
    (401), :class:`InvalidArgumentError` for ``token=False``, :class:`OfflineModeError` when
    ``HF_HUB_OFFLINE`` is set, and :class:`NetworkError` when the Hub cannot be reached.
    """
    answer: dict[str, Any] = json.loads(_native.whoami(token, endpoint=endpoint))
    return answer
