"""Where the launcher keeps downloads, builds and data (git-ignored)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("DEVSTACK_CACHE", REPO_ROOT / ".cache")).resolve()
BIN_DIR = CACHE_DIR / "bin"
POM = Path(__file__).resolve().parent / "pom.xml"


class SetupError(RuntimeError):
    """Something the launcher needs cannot be installed or started; the message says what."""
