"""A training run keeps pushing when someone edits the Hub copy meanwhile (a model-card edit on
the website, another job's push): the pusher replays its commits on top instead of failing."""

from __future__ import annotations

from pathlib import Path

import hfgit
from gitcli import git, git_with_lfs
from hfgit.testing import LocalHub

MiB = 1024 * 1024


def test_a_readme_edit_pushed_by_git_between_two_submissions_ends_up_in_order_with_both(
    hub: LocalHub, repo_id: str, clone_dir: Path, tmp_path: Path
) -> None:
    work = hfgit.clone(repo_id, clone_dir, token=hub.write_token, endpoint=hub.endpoint)
    model = Path(work.path) / "model.bin"
    other = tmp_path / "other"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(other), token=hub.write_token)

    with hfgit.CheckpointPusher(work.path, token=hub.write_token) as pusher:
        model.write_bytes(b"\x01" * (2 * MiB))
        pusher.submit("step 1")
        pusher.wait(timeout=120)
        git_with_lfs("pull", "-q", cwd=other, token=hub.write_token)
        (other / "README.md").write_text("# A model card edited on the Hub\n")
        git("add", "README.md", cwd=other)
        git(
            "-c",
            "user.name=Web",
            "-c",
            "user.email=web@example.com",
            "commit",
            "-qm",
            "Update README.md",
            cwd=other,
        )
        git_with_lfs("push", "-q", "origin", "main", cwd=other, token=hub.write_token)
        model.write_bytes(b"\x02" * (2 * MiB))
        pusher.submit("step 2")

    assert pusher.pushes_completed == 2
    assert pusher.stopped_by is None
    bare = str(hub.repo_path(repo_id))
    messages = git("--git-dir", bare, "log", "--format=%s", "main").splitlines()
    assert messages[:3] == ["step 2", "Update README.md", "step 1"]
    fresh = tmp_path / "fresh"
    git_with_lfs("clone", "-q", hub.repo_url(repo_id), str(fresh), token=hub.read_token)
    git("fsck", "--full", "--strict", cwd=fresh)
    assert (fresh / "README.md").read_text() == "# A model card edited on the Hub\n"
    assert (fresh / "model.bin").read_bytes() == b"\x02" * (2 * MiB)
    assert (Path(work.path) / "README.md").read_text() == "# A model card edited on the Hub\n"
