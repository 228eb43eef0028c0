"""``python -m hfgit``: the ``hfgit`` command line (``python -m hfgit demo``, ``... clone``)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m hfgit"))
