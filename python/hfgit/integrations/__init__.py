"""Pushing checkpoints from the training libraries people use, with hfgit.CheckpointPusher.

Each integration is a module of its own, imported only when used, so ``import hfgit`` never
imports the library it integrates:

- ``hfgit.integrations.transformers.HfGitCallback``: a ``transformers.TrainerCallback``
  (``pip install 'hfgit-native[transformers]'``).
- ``hfgit.integrations.lightning.HfGitCheckpointPush``: a PyTorch Lightning ``Callback``
  (``pip install 'hfgit-native[lightning]'``).
"""
