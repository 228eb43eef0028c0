"""Differential testing of hfgit's LFS staging against git + git-lfs.

A case is a list of actions (work-tree operations and commits) generated from a seed
(`ops.generate_actions`). The engine (`engine.run_case`) applies the same actions to an hfgit
clone and to a git + git-lfs clone of two fresh LocalHub repos and compares, after every commit,
the trees (`git ls-tree -r HEAD`) and the status (`Repository.status()` against `git status`);
at the end each side pushes and the other tool clones, and the clones must be byte-identical.
`runner` is the command line for long runs (`python -m tests.differential.runner --cases N`),
with greedy shrinking of failing cases; `tests/test_lfs_differential.py` is the bounded run.

The package imports `hfgit` only inside functions, so `runner` can isolate HOME first.
"""
