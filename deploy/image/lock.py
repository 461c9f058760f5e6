"""``python deploy/image/lock.py``: rewrite requirements.lock beside it from pyproject.toml.

It asks pip to resolve the project's runtime dependencies (not its dev extras) for the running
interpreter, which must be CPython 3.11 on Linux like the image, without installing anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HEADER = """\
# The image's Python packages, resolved for CPython 3.11 on Linux from pyproject.toml's
# [project.dependencies] by `python deploy/image/lock.py`. The Dockerfile installs exactly these.
"""


def main() -> int:
    if sys.version_info[:2] != (3, 11):
        print("lock.py: run it with Python 3.11 (the image's)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
             "--report", str(report), str(ROOT)],
            check=True,
        )
        installs = json.loads(report.read_text())["install"]
    own = "whatsapp-inbox"
    pins = sorted(
        f"{i['metadata']['name'].lower()}=={i['metadata']['version']}"
        for i in installs if i["metadata"]["name"] != own
    )
    (HERE / "requirements.lock").write_text(HEADER + "\n".join(pins) + "\n")
    print(f"lock.py: {len(pins)} packages pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
