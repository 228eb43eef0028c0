"""LocalHub's Hub API endpoints on the wire: statuses, bodies and headers a client sees.

These pin what hfgit.testing.hub_api answers independently of hfgit's client (the client's own
behaviour is in test_hub_api.py and test_pull_requests.py, with real git as the oracle).
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hfgit.testing import LocalHub


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def call(hub: LocalHub, method: str, path: str, token: str | None = None, **payload: Any) -> Answer:
    headers = {"Content-Type": "application/json"} if payload else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(hub.endpoint.removeprefix("http://"), timeout=30)
    try:
        connection.request(method, path, json.dumps(payload) if payload else None, headers)
        response = connection.getresponse()
        return Answer(response.status, dict(response.getheaders()), json.loads(response.read()))
    finally:
        connection.close()


def test_create_answers_the_url_then_409_with_the_hubs_text(local_hub: LocalHub) -> None:
    hub = local_hub
    created = call(hub, "POST", "/api/repos/create", hub.write_token, name="m", organization="o")
    assert (created.status, created.body["url"]) == (200, hub.repo_url("o/m"))
    again = call(hub, "POST", "/api/repos/create", hub.write_token, name="m", organization="o")
    assert again.status == 409
    assert again.body == {"error": "You already created this model repo"}
    assert again.headers["X-Error-Message"] == "You already created this model repo"


@pytest.mark.parametrize(
    ("payload", "token", "status"),
    [
        ({"name": "bad..name"}, "write", 400),
        ({"name": "s", "type": "space"}, "write", 400),
        ({"name": "m", "type": "kernel-ish"}, "write", 400),
        ({"name": "m"}, "read", 403),
        ({"name": "m"}, None, 401),
        ({"name": "m"}, "hf_" + "q" * 34, 401),
    ],
)
def test_create_refuses_bad_names_sdks_types_and_tokens(
    local_hub: LocalHub, payload: dict[str, str], token: str | None, status: int
) -> None:
    scoped = {"write": local_hub.write_token, "read": local_hub.read_token}
    answer = call(local_hub, "POST", "/api/repos/create", scoped.get(token or "", token), **payload)
    assert answer.status == status
    assert isinstance(answer.body["error"], str)


def test_create_honours_private_and_visibility(local_hub: LocalHub) -> None:
    hub = local_hub
    for name, field in (("p1", {"private": True}), ("p2", {"visibility": "private"})):
        call(
            hub, "POST", "/api/repos/create", hub.write_token, name=name, organization="o", **field
        )
        assert call(hub, "GET", f"/api/models/o/{name}").status == 401
        info = call(hub, "GET", f"/api/models/o/{name}", hub.read_token)
        assert (info.status, info.body["private"]) == (200, True)


def test_whoami_v2_reports_the_account_and_the_tokens_role(local_hub: LocalHub) -> None:
    me = call(local_hub, "GET", "/api/whoami-v2", local_hub.write_token)
    assert me.status == 200
    assert (me.body["type"], me.body["name"]) == ("user", local_hub.username)
    assert me.body["auth"]["accessToken"]["role"] == "write"
    nobody = call(local_hub, "GET", "/api/whoami-v2")
    assert (nobody.status, nobody.body) == (
        401,
        {"error": "Invalid credentials in Authorization header"},
    )


def test_discussions_number_together_and_only_pull_requests_get_a_ref(
    local_hub: LocalHub,
) -> None:
    hub = local_hub
    hub.create_repo("o/m")
    path = "/api/models/o/m/discussions"
    question = call(hub, "POST", path, hub.read_token, title="Why?", pullRequest=False)
    pull = call(hub, "POST", path, hub.read_token, title="Fix", description="d", pullRequest=True)
    assert (question.body["num"], pull.body["num"]) == (1, 2)
    details = call(hub, "GET", f"{path}/2", hub.read_token).body
    assert (details["isPullRequest"], details["status"], details["changes"]["base"]) == (
        True,
        "draft",
        "refs/heads/main",
    )
    assert call(hub, "GET", f"{path}/1", hub.read_token).body["isPullRequest"] is False
    missing = call(hub, "GET", f"{path}/3", hub.read_token)
    assert (missing.status, missing.headers["X-Error-Code"]) == (404, "DiscussionNotFound")
    assert [d.num for d in hub.discussions("o/m") if d.git_reference] == [2]


@pytest.mark.parametrize(
    ("title", "token", "repo", "status"),
    [
        ("ab", "read", "o/m", 400),
        ("x" * 201, "read", "o/m", 400),
        ("Fine title", None, "o/m", 401),
        ("Fine title", "read", "o/missing", 404),
        ("Fine title", None, "o/private", 401),
    ],
)
def test_opening_a_discussion_checks_title_token_and_repo(
    local_hub: LocalHub, title: str, token: str | None, repo: str, status: int
) -> None:
    local_hub.create_repo("o/m")
    local_hub.create_repo("o/private", private=True)
    scoped = local_hub.read_token if token == "read" else None
    answer = call(
        local_hub, "POST", f"/api/models/{repo}/discussions", scoped, title=title, pullRequest=True
    )
    assert answer.status == status


def test_disabled_discussions_answer_403(local_hub: LocalHub) -> None:
    local_hub.create_repo("o/m")
    local_hub.set_discussions_enabled("o/m", False)
    path = "/api/models/o/m/discussions"
    refused = call(local_hub, "POST", path, local_hub.write_token, title="Fix", pullRequest=True)
    assert refused.status == 403 and "disabled" in refused.body["error"]
    local_hub.set_discussions_enabled("o/m", True)
    assert call(local_hub, "POST", path, local_hub.read_token, title="Fix").status == 200
