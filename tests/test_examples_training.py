"""examples/train_and_push.py trains for real and its checkpoints reach the Hub.

The example runs as a user would run it, in its own process: once against the LocalHub it starts
by itself (with ``--verify``, so it clones its repo again and compares bytes), and once with
``--repo``/``--endpoint`` and ``HF_TOKEN`` pointed at a LocalHub of this test, which lets the test
inspect the server's side with the real git CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from gitcli import git
from hfgit.testing import LocalHub

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "train_and_push.py"
SMALL_RUN = ["--steps", "120", "--every", "30", "--hidden", "64"]  # four checkpoints


def run_example(args: list[str], cwd: Path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        cwd=cwd,
        env={**os.environ, "HF_HUB_DISABLE_PROGRESS_BARS": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def reported(pattern: str, output: str) -> tuple[str, ...]:
    match = re.search(pattern, output, re.MULTILINE)
    assert match, f"no line matching {pattern!r} in:\n{output}"
    return match.groups()


def test_example_trains_with_a_falling_loss_and_its_fresh_clone_has_the_last_checkpoint(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    output = run_example([*SMALL_RUN, "--out", str(out), "--verify"], cwd=tmp_path)

    first, final = map(float, reported(r"loss (\S+) -> (\S+),", output))
    assert final < first / 2, output
    pushes, submitted = map(int, reported(r"^pushed (\d+) times for (\d+) checkpoints", output))
    assert submitted == 4
    assert 1 <= pushes <= submitted
    (repo_url,) = reported(r"^repo:\s+(http://127\.0\.0\.1:\d+/\S+)$", output)
    (commit,) = reported(r"^commit:\s+([0-9a-f]{40})$", output)
    assert "verified: a fresh clone has the step 120 checkpoint, byte for byte" in output

    clone = out / repo_url.rsplit("/", 1)[-1]
    assert git("rev-parse", "HEAD", cwd=clone).strip() == commit
    assert json.loads((clone / "trainer_state.json").read_text())["step"] == 120
    assert git("status", "--porcelain", cwd=clone) == ""


def test_example_pushes_to_a_named_repo_with_the_token_from_hf_token_and_weights_in_lfs(
    hub: LocalHub, tmp_path: Path
) -> None:
    repo_id = "alice/mlp-from-example"
    hub.create_repo(repo_id, private=True)
    out = tmp_path / "out"
    args = [*SMALL_RUN, "--repo", repo_id, "--endpoint", hub.endpoint, "--out", str(out)]
    output = run_example(args, cwd=tmp_path, HF_TOKEN=hub.write_token)

    (commit,) = reported(r"^commit:\s+([0-9a-f]{40})$", output)
    bare = ["--git-dir", str(hub.repo_path(repo_id))]
    assert git(*bare, "rev-parse", "main").strip() == commit

    # One commit per completed push, oldest first, the last one for the final step.
    (pushes,) = reported(r"^pushed (\d+) times", output)
    initial, *subjects = git(*bare, "log", "--format=%s", "--reverse", "main").splitlines()
    assert initial == "initial commit"
    assert len(subjects) == int(pushes)
    assert all(re.fullmatch(r"step \d+", subject) for subject in subjects), subjects
    steps = [int(subject.removeprefix("step ")) for subject in subjects]
    assert steps == sorted(steps) and steps[-1] == 120

    # The weights went up through LFS: the server holds a pointer and the object's bytes.
    weights = (out / "mlp-from-example" / "model.safetensors").read_bytes()
    oid = hashlib.sha256(weights).hexdigest()
    pointer = git(*bare, "show", "main:model.safetensors")
    assert f"oid sha256:{oid}\nsize {len(weights)}\n" in pointer
    assert oid in hub.lfs_objects(repo_id)
    stored = hub.lfs_object_path(oid)
    assert stored is not None and stored.read_bytes() == weights

    token = hub.write_token.encode()
    assert not [path for path in out.rglob("*") if path.is_file() and token in path.read_bytes()]
