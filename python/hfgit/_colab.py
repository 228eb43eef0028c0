"""Google Colab's ``HF_TOKEN`` secret, the last place huggingface_hub looks for a token.

huggingface_hub reads, in order: ``HF_TOKEN`` (or ``HUGGING_FACE_HUB_TOKEN``), the token file
``hf auth login`` writes, then Colab's secret store (``huggingface_hub/utils/_auth.py``,
``get_token``, since 2026-06; before, Colab came first). hfgit keeps that order: the native layer
calls :func:`colab_token` only when neither of the first two has a token, on the calling thread,
and keeps its answer for the rest of the process, as huggingface_hub asks the store once per
session. Outside Colab (``google.colab`` cannot be imported), on Colab Enterprise (which
huggingface_hub skips too), without the secret, or when the user refuses the notebook access to
it, there is no token from here, silently: the call goes on anonymously or with the next source.
"""

from __future__ import annotations

import logging
import os
import threading

__all__ = ["colab_token"]

_log = logging.getLogger("hfgit")
_lock = threading.Lock()  # google.colab.userdata is not thread-safe (huggingface_hub #1952)
_checked = False
_secret: str | None = None


def colab_token() -> str | None:
    """The ``HF_TOKEN`` Colab secret, cleaned as huggingface_hub cleans tokens, or ``None``."""
    global _checked, _secret
    if os.environ.get("VERTEX_PRODUCT") == "COLAB_ENTERPRISE":
        return None
    with _lock:
        if not _checked:
            _secret = _read_secret()
            _checked = True
        return _secret


def _read_secret() -> str | None:
    try:
        from google.colab import userdata  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        value = userdata.get("HF_TOKEN")
    except Exception as exc:  # NotebookAccessError (refused), SecretNotFoundError, Colab errors
        _log.info("not using the Colab secret HF_TOKEN: %s", type(exc).__name__)
        return None
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\r", "").replace("\n", "").strip()
    return cleaned or None
