"""Train a small numpy model and push a checkpoint to the Hub every N steps, without pausing.

    python examples/train_and_push.py                       # a local Hub it starts by itself
    python examples/train_and_push.py --repo you/mlp-demo   # huggingface.co (create the repo first)

The model is a multilayer perceptron (two hidden layers of ``--hidden`` units, so the checkpoint
grows with ``--hidden`` squared) trained with minibatch SGD on a seeded synthetic classification
task. Every ``--every`` steps the loop writes ``model.safetensors`` and ``trainer_state.json`` into
a clone of the repo and calls ``CheckpointPusher.submit``, which returns at once: committing
(weights go to Git LFS) and pushing happen on a background thread with the GIL released, so the
loop keeps its pace. Checkpoints submitted while a push is still running coalesce: the newest
wins. Leaving the ``with`` block waits for the last push and raises its error if it failed.

With ``--repo``, the token comes from ``HF_TOKEN`` or ``hf auth login``, and the endpoint from
``--endpoint``, ``HF_ENDPOINT`` or https://huggingface.co. ``--verify`` clones the repo again at
the end and checks that the last checkpoint arrived byte for byte.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hfgit
import numpy as np
import numpy.typing as npt
from hfgit.testing import LocalHub
from safetensors.numpy import save_file

Array = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
Params = dict[str, Array]

LOCAL_REPO_ID = "demo-user/mlp-checkpoints"
CHECKPOINT_FILES = ("model.safetensors", "trainer_state.json")
FEATURES, CLASSES, SAMPLES = 64, 8, 4096


# --------------------------------------------------------------------------------------- model


def make_dataset(rng: np.random.Generator) -> tuple[Array, Labels]:
    """Gaussian inputs labelled by a random "teacher" network: learnable, but not linearly."""
    x = rng.standard_normal((SAMPLES, FEATURES), dtype=np.float32)
    teacher_in = rng.standard_normal((FEATURES, 32), dtype=np.float32)
    teacher_out = rng.standard_normal((32, CLASSES), dtype=np.float32)
    y = np.argmax(np.tanh(x @ teacher_in) @ teacher_out, axis=1).astype(np.int64)
    return x, y


def init_params(rng: np.random.Generator, hidden: int) -> Params:
    """He-initialised weights and zero biases for FEATURES -> hidden -> hidden -> CLASSES."""
    sizes = [FEATURES, hidden, hidden, CLASSES]
    params: Params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        scale = np.float32(np.sqrt(2.0 / fan_in))
        params[f"w{layer}"] = rng.standard_normal((fan_in, fan_out), dtype=np.float32) * scale
        params[f"b{layer}"] = np.zeros(fan_out, dtype=np.float32)
    return params


def forward(params: Params, x: Array) -> tuple[Array, Array, Array]:
    """Logits, plus the two hidden activations that backward() needs."""
    h1 = np.maximum(x @ params["w1"] + params["b1"], 0)
    h2 = np.maximum(h1 @ params["w2"] + params["b2"], 0)
    return h2 @ params["w3"] + params["b3"], h1, h2


def cross_entropy(logits: Array, y: Labels) -> tuple[float, Array]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(-np.log(probs[rows, y] + 1e-12).mean())
    probs[rows, y] -= 1
    return loss, probs / np.float32(len(y))


def backward(params: Params, x: Array, h1: Array, h2: Array, d_logits: Array) -> Params:
    """Gradients of the loss for every parameter, layer by layer from the top."""
    d_h2 = (d_logits @ params["w3"].T) * (h2 > 0)
    d_h1 = (d_h2 @ params["w2"].T) * (h1 > 0)
    return {
        "w3": h2.T @ d_logits,
        "b3": d_logits.sum(axis=0),
        "w2": h1.T @ d_h2,
        "b2": d_h2.sum(axis=0),
        "w1": x.T @ d_h1,
        "b1": d_h1.sum(axis=0),
    }


def evaluate(params: Params, x: Array, y: Labels) -> tuple[float, float]:
    """Loss and accuracy on the whole training set."""
    logits, _, _ = forward(params, x)
    loss, _ = cross_entropy(logits, y)
    return loss, float((logits.argmax(axis=1) == y).mean())


# ---------------------------------------------------------------------------------- checkpoints


def save_checkpoint(params: Params, state: dict[str, Any], repo_dir: Path, staging: Path) -> None:
    """Write the checkpoint beside the clone, then move it in with ``os.replace``.

    The pusher's thread may be hashing the previous checkpoint at this very moment. Replacing each
    file (a new inode) instead of rewriting it in place means it never reads a half-written file.
    ``staging`` must be on the same filesystem as the clone and outside it.
    """
    staging.mkdir(exist_ok=True)
    save_file(params, staging / "model.safetensors", metadata={"step": str(state["step"])})
    (staging / "trainer_state.json").write_text(json.dumps(state, indent=2) + "\n")
    for name in CHECKPOINT_FILES:
        os.replace(staging / name, repo_dir / name)


@dataclass
class RunSummary:
    steps: int
    seconds: float
    first_loss: float
    final_loss: float
    final_accuracy: float
    checkpoints_submitted: int
    pushes_completed: int
    close_wait: float
    commit: str | None


def train(args: argparse.Namespace, repo: hfgit.Repository, token: str | None) -> RunSummary:
    rng = np.random.default_rng(args.seed)
    x, y = make_dataset(rng)
    params = init_params(rng, args.hidden)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    first_loss, _ = evaluate(params, x, y)
    repo_dir = Path(repo.path)
    staging = repo_dir.parent / f".{repo_dir.name}-staging"
    submitted = 0

    size = sum(value.nbytes for value in params.values()) / 2**20
    print(f"training {args.steps} steps, a {size:.2f} MiB checkpoint every {args.every} steps")
    started = time.perf_counter()
    with hfgit.CheckpointPusher(repo_dir, token=token) as pusher:
        for step in range(1, args.steps + 1):
            batch = rng.integers(0, SAMPLES, size=args.batch_size)
            logits, h1, h2 = forward(params, x[batch])
            _, d_logits = cross_entropy(logits, y[batch])
            grads = backward(params, x[batch], h1, h2, d_logits)
            for name, grad in grads.items():  # SGD with momentum
                velocity[name] = np.float32(0.9) * velocity[name] - np.float32(args.lr) * grad
                params[name] += velocity[name]

            if step % args.every == 0 or step == args.steps:
                loss, accuracy = evaluate(params, x, y)
                state = {"step": step, "loss": loss, "accuracy": accuracy}
                save_checkpoint(params, state, repo_dir, staging)
                pusher.submit(f"step {step}")  # returns at once; the push runs in the background
                submitted += 1
                print(f"  step {step:>6}  loss {loss:.4f}  accuracy {accuracy:6.1%}  submitted")
        loop_seconds = time.perf_counter() - started
    # Leaving the block waited for the last push (and would have raised its error).
    close_wait = time.perf_counter() - started - loop_seconds

    final_loss, final_accuracy = evaluate(params, x, y)
    result = pusher.last_result
    return RunSummary(
        steps=args.steps,
        seconds=loop_seconds,
        first_loss=first_loss,
        final_loss=final_loss,
        final_accuracy=final_accuracy,
        checkpoints_submitted=submitted,
        pushes_completed=pusher.pushes_completed,
        close_wait=close_wait,
        commit=result.updates[0].new if result is not None and result.updates else None,
    )


def verify(repo: hfgit.Repository, summary: RunSummary, token: str | None, into: Path) -> bool:
    """Clone the repo again and compare the last checkpoint with the files the loop wrote."""
    remote_url = repo.remote_url
    assert remote_url is not None, "a clone always has an origin"
    fresh = hfgit.clone(remote_url, into, token=token, progress=False)
    problems = []
    if fresh.head != summary.commit:
        problems.append(f"the fresh clone is at {fresh.head}, the last push was {summary.commit}")
    for name in CHECKPOINT_FILES:
        if (into / name).read_bytes() != (Path(repo.path) / name).read_bytes():
            problems.append(f"{name} differs from the one written at step {summary.steps}")
    for problem in problems:
        print(f"verify FAILED: {problem}")
    if not problems:
        print(f"verified: a fresh clone has the step {summary.steps} checkpoint, byte for byte")
    return not problems


# ----------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train a numpy MLP and push checkpoints to the Hub in the background."
    )
    parser.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    parser.add_argument("--every", type=int, default=100, help="checkpoint every N steps")
    parser.add_argument(
        "--hidden", type=int, default=512, help="units per hidden layer (512: 1 MiB, 4096: 65 MiB)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="put the clone here (default: a temp dir)")
    parser.add_argument("--repo", help="push to this Hub repo (user/name) instead of a local Hub")
    parser.add_argument("--endpoint", help="Hub URL for --repo (default: HF_ENDPOINT or the Hub)")
    parser.add_argument(
        "--verify", action="store_true", help="clone again at the end and check the checkpoint"
    )
    args = parser.parse_args(argv)
    if args.steps < 1 or args.every < 1 or args.hidden < 1:
        parser.error("--steps, --every and --hidden must be positive")
    if args.endpoint and not args.repo:
        parser.error("--endpoint goes with --repo")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.ExitStack() as cleanup:
        if args.out is None:
            out = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="train-and-push-")))
        else:
            out = args.out.resolve()
            out.mkdir(parents=True, exist_ok=True)

        token: str | None
        if args.repo is None:
            hub = cleanup.enter_context(LocalHub())  # stopped (and deleted) on the way out
            hub.create_repo(LOCAL_REPO_ID)
            repo_id, endpoint, token = LOCAL_REPO_ID, hub.endpoint, hub.write_token
            print(f"started a local Hub at {endpoint} and created {repo_id}")
        else:
            # token=None: hfgit reads HF_TOKEN, else the token `hf auth login` saved.
            repo_id, endpoint, token = args.repo, args.endpoint, None

        name = repo_id.rsplit("/", 1)[-1]
        repo = hfgit.clone(repo_id, out / name, token=token, endpoint=endpoint)
        summary = train(args, repo, token)

        print(
            f"trained {summary.steps} steps in {summary.seconds:.2f} s "
            f"({summary.steps / summary.seconds:.1f} steps/s); "
            f"loss {summary.first_loss:.4f} -> {summary.final_loss:.4f}, "
            f"accuracy {summary.final_accuracy:.1%}"
        )
        coalesced = summary.checkpoints_submitted - summary.pushes_completed
        print(
            f"pushed {summary.pushes_completed} times for {summary.checkpoints_submitted} "
            f"checkpoints ({coalesced} coalesced into a later push); "
            f"waited {summary.close_wait:.2f} s for the last push at the end"
        )
        print(f"repo:   {repo.remote_url}")
        print(f"commit: {summary.commit}")
        if args.verify and not verify(repo, summary, token, out / f"{name}-verify"):
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
