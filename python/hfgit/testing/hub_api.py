"""LocalHub's HTTP API (`/api/...`): the endpoints hfgit calls, answered as the Hub answers.

* `POST /api/repos/create` with `{"name", "organization", "type", "private" | "visibility",
  "sdk"}` (huggingface_hub `HfApi.create_repo`): 200 `{"url", "name", "id"}`; 409 when the repo
  exists, with the Hub's text "You already created this {type} repo" (seen in users' reports);
  400 for an invalid name or a Space without an SDK; 403 for a read token (the Hub's text for that
  is *unconfirmed*); 401 without a valid token.
* `GET /api/{type}s/{repo_id}`: a small repo info (`id`, `private`, `sha`); 404 as `RepoNotFound`.
* `GET /api/whoami-v2`: the token owner in huggingface_hub's `whoami()` shape, with
  `auth.accessToken.role` the token's scope; 401 "Invalid credentials in Authorization header"
  (the Hub's text as users report it) for a missing or unknown token.
* `POST /api/{type}s/{repo_id}/discussions` with `{"title", "description", "pullRequest"}`
  (huggingface_hub `create_discussion`): 200 `{"num", ...}`. Any valid token may open one, a read
  token included (hub-2026.md row 4); 403 when the repo's discussions are turned off
  (`LocalHub.set_discussions_enabled`; text *unconfirmed*); 400 for a title outside 3-200
  characters (huggingface_hub's documented limits).
* `GET /api/{type}s/{repo_id}/discussions/{num}` (`get_discussion_details`): the discussion, or
  404.

Errors are JSON `{"error": ...}` with the same text in `X-Error-Message`, which is where
huggingface_hub looks first (`hf_raise_for_status`). LocalHub has a single account (`username`,
`fullname`): every valid token belongs to it and may use every namespace.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .discussions import Discussion, DiscussionsDisabledError
from .errors import LocalHubError
from .repos import URL_PREFIXES, is_valid_repo_id

if TYPE_CHECKING:
    from .http_handler import HubRequestHandler
    from .state import Identity

__all__ = ["Account", "serve_api"]

MAX_BODY = 1024 * 1024
TITLE_LENGTH = range(3, 201)
SPACE_SDKS = ("gradio", "docker", "static", "streamlit")

_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_DISCUSSIONS = re.compile(
    r"/api/(?P<type>models|datasets|spaces)/(?P<id>.+?)/discussions(?:/(?P<num>[0-9]+))?"
)
_REPO = re.compile(r"/api/(?P<type>models|datasets|spaces)/(?P<id>[^/]+(?:/[^/]+)?)")


@dataclass(frozen=True)
class Account:
    """The one user behind every LocalHub token."""

    username: str
    fullname: str


def serve_api(handler: HubRequestHandler, path: str, identity: Identity) -> None:
    """Route one `/api/...` request."""
    command = handler.command
    if path == "/api/whoami-v2" and command == "GET":
        _whoami(handler, identity)
    elif path == "/api/repos/create" and command == "POST":
        _create_repo(handler, identity)
    elif (found := _DISCUSSIONS.fullmatch(path)) is not None:
        repo_type, repo_id = _TYPES[found["type"]], found["id"]
        if found["num"] is None and command == "POST":
            _open_discussion(handler, identity, repo_type, repo_id)
        elif found["num"] is not None and command == "GET":
            _get_discussion(handler, identity, repo_type, repo_id, int(found["num"]))
        else:
            _error(handler, 405, "Method not allowed")
    elif (found := _REPO.fullmatch(path)) is not None and command == "GET":
        _repo_info(handler, identity, _TYPES[found["type"]], found["id"])
    else:
        _error(handler, 404, "Sorry, we can't find the page you are looking for.")


# ---------------------------------------------------------------------- endpoints


def _whoami(handler: HubRequestHandler, identity: Identity) -> None:
    if identity.scope is None:
        _error(handler, 401, "Invalid credentials in Authorization header")
        return
    account = handler.server.context.account
    _json(
        handler,
        200,
        {
            "type": "user",
            "id": "localhub-" + account.username,
            "name": account.username,
            "fullname": account.fullname,
            "email": f"{account.username}@localhost",
            "emailVerified": True,
            "isPro": False,
            "orgs": [],
            "auth": {
                "type": "access_token",
                "accessToken": {
                    "displayName": f"localhub-{identity.scope}",
                    "role": identity.scope,
                },
            },
        },
    )


def _create_repo(handler: HubRequestHandler, identity: Identity) -> None:
    payload = _read_json(handler)
    if payload is None:
        return
    if identity.scope is None:
        _error(handler, 401, "Invalid credentials in Authorization header")
        return
    account = handler.server.context.account
    name, organization = payload.get("name"), payload.get("organization")
    repo_type = payload.get("type") or "model"
    if repo_type not in URL_PREFIXES:
        _error(handler, 400, f"Invalid repo type {repo_type!r}")
        return
    namespace = organization if isinstance(organization, str) and organization else account.username
    repo_id = f"{namespace}/{name}" if isinstance(name, str) else ""
    if not is_valid_repo_id(repo_id):
        _error(handler, 400, f"Invalid repo name {name!r}")
        return
    if identity.scope != "write":
        _error(
            handler, 403, f'You don\'t have the rights to create a {repo_type} under "{namespace}"'
        )
        return
    if repo_type == "space" and payload.get("sdk") not in SPACE_SDKS:
        _error(handler, 400, f"Invalid sdk: pick one of {', '.join(SPACE_SDKS)}")
        return
    private = payload.get("private") is True or payload.get("visibility") == "private"
    store = handler.server.context.store
    try:
        store.create(repo_id, repo_type, private=private)
    except LocalHubError:
        _error(handler, 409, f"You already created this {repo_type} repo")
        return
    url = f"{_endpoint(handler)}/{URL_PREFIXES[repo_type]}{repo_id}"
    _json(handler, 200, {"url": url, "name": repo_id, "id": repo_id})


def _repo_info(
    handler: HubRequestHandler, identity: Identity, repo_type: str, repo_id: str
) -> None:
    if not _visible(handler, identity, repo_type, repo_id):
        return
    store = handler.server.context.store
    _json(
        handler,
        200,
        {
            "id": repo_id,
            "private": store.is_private(repo_id, repo_type),
            "sha": store.head(repo_id, repo_type),
        },
    )


def _open_discussion(
    handler: HubRequestHandler, identity: Identity, repo_type: str, repo_id: str
) -> None:
    payload = _read_json(handler)
    if payload is None or not _visible(handler, identity, repo_type, repo_id):
        return
    if identity.scope is None:
        _error(handler, 401, "Invalid credentials in Authorization header")
        return
    title = payload.get("title")
    title = title.strip() if isinstance(title, str) else ""
    if len(title) not in TITLE_LENGTH:
        _error(handler, 400, "Title must be between 3 and 200 characters")
        return
    description = payload.get("description")
    try:
        discussion = handler.server.context.discussions.create(
            repo_id,
            repo_type,
            title,
            description if isinstance(description, str) else "",
            pull_request=payload.get("pullRequest") is True,
        )
    except DiscussionsDisabledError:
        _error(handler, 403, "Discussions are disabled for this repo")
        return
    _json(handler, 200, _discussion_json(discussion, repo_type, repo_id))


def _get_discussion(
    handler: HubRequestHandler, identity: Identity, repo_type: str, repo_id: str, num: int
) -> None:
    if not _visible(handler, identity, repo_type, repo_id):
        return
    discussion = handler.server.context.discussions.get(repo_id, repo_type, num)
    if discussion is None:
        _error(handler, 404, "Discussion not found", code="DiscussionNotFound")
        return
    _json(handler, 200, _discussion_json(discussion, repo_type, repo_id))


# ---------------------------------------------------------------------- helpers


def _discussion_json(discussion: Discussion, repo_type: str, repo_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "num": discussion.num,
        "title": discussion.title,
        "status": discussion.status,
        "isPullRequest": discussion.isPullRequest,
        "createdAt": discussion.createdAt,
        "repo": {"name": repo_id, "type": repo_type},
        "events": [],
        "author": {"name": "localhub"},
    }
    if discussion.isPullRequest:
        answer["changes"] = {"base": "refs/heads/main"}
        answer["filesWithConflicts"] = []
    return answer


def _visible(handler: HubRequestHandler, identity: Identity, repo_type: str, repo_id: str) -> bool:
    """The git endpoints' rules: bad credentials, or anonymous and private or missing: 401;
    a valid token and a missing repo: 404 RepoNotFound."""
    store = handler.server.context.store
    exists = is_valid_repo_id(repo_id) and store.exists(repo_id, repo_type)
    if not identity.anonymous and not identity.authenticated:
        _error(handler, 401, "Invalid credentials in Authorization header")
        return False
    if identity.anonymous and (not exists or store.is_private(repo_id, repo_type)):
        _error(handler, 401, "Repository not found", code="RepoNotFound")
        return False
    if not exists:
        _error(handler, 404, "Repository not found", code="RepoNotFound")
        return False
    return True


def _read_json(handler: HubRequestHandler) -> dict[str, Any] | None:
    body = handler.read_body(MAX_BODY)
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        _error(handler, 400, "The body must be a JSON object")
        return None
    return payload


def _endpoint(handler: HubRequestHandler) -> str:
    server = handler.server
    return f"{server.scheme}://127.0.0.1:{server.server_port}"


def _json(handler: HubRequestHandler, status: int, payload: dict[str, Any]) -> None:
    handler.send_text(status, json.dumps(payload), content_type="application/json")


def _error(
    handler: HubRequestHandler, status: int, message: str, *, code: str | None = None
) -> None:
    headers = [("X-Error-Message", message)]
    if code is not None:
        headers.append(("X-Error-Code", code))
    handler.send_text(
        status, json.dumps({"error": message}), headers, content_type="application/json"
    )
