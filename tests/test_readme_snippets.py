"""The README's code blocks run as written, against a LocalHub standing in for the Hub."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gitcli import git
from hfgit.testing import LocalHub

README = Path(__file__).resolve().parent.parent / "README.md"


def snippet(name: str) -> str:
    text = README.read_text()
    match = re.search(rf"<!-- snippet: {name} .*?-->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, f"README has no snippet {name!r}"
    return match.group(1)


@pytest.mark.parametrize("name", ["notebook", "training", "local"])
def test_readme_snippet_runs_unchanged_against_a_local_hub(
    name: str, hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.create_repo("your-name/your-model")
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub.write_token)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.chdir(tmp_path)

    exec(compile(snippet(name), f"README.md:{name}", "exec"), {"__name__": "__readme__"})

    local_head = git("rev-parse", "HEAD", cwd=tmp_path / "your-model").strip()
    remote_head = git("--git-dir", str(hub.repo_path("your-name/your-model")), "rev-parse", "main")
    assert remote_head.strip() == local_head
    assert git("log", "--format=%s", "-1", cwd=tmp_path / "your-model").strip() != "initial commit"


@pytest.mark.parametrize("scope", ["write", "read"])
def test_readme_pull_request_walkthrough_pushes_to_main_or_opens_a_pull_request(
    scope: str, hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a write token the walk-through creates the repo and pushes to main; with a read
    token (the repo already there, as someone else's would be) it opens a pull request."""
    repo_id = f"{hub.username}/my-model"
    bare = str(hub.repo_path(repo_id))
    if scope == "read":
        hub.create_repo(repo_id)
        main_before = git("--git-dir", bare, "rev-parse", "main")
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_TOKEN", hub.write_token if scope == "write" else hub.read_token)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.chdir(tmp_path)

    code = compile(snippet("pull-request"), "README.md:pull-request", "exec")
    exec(code, {"__name__": "__readme__"})

    local_head = git("rev-parse", "HEAD", cwd=tmp_path / "my-model")
    if scope == "write":
        assert git("--git-dir", bare, "rev-parse", "main") == local_head
        assert hub.discussions(repo_id) == []
    else:
        assert git("--git-dir", bare, "rev-parse", "main") == main_before
        assert git("--git-dir", bare, "rev-parse", "refs/pr/1") == local_head
        [pull_request] = hub.discussions(repo_id)
        assert pull_request.title == "Describe the model"
