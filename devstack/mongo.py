"""A MongoDB-wire server: ``mongod`` when one is on PATH, else FerretDB v1 with its SQLite backend.

FerretDB is built once from the Go module proxy. ``go install ...@v1.24.2`` alone yields a binary
that panics at start (the module ships without ``build/version/version.txt``, which FerretDB's own
build generates), so the setup installs from a copy of that same module with the version file
written in, and with the small source patches in ``FERRETDB_PATCHES`` applied (see
docs/infrastructure.md). The binary still reports v1.24.2; a stamp file beside it records the
patch set, so changing a patch rebuilds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from devstack.ferretdb_patches import (
    FERRETDB_MODULE,
    FERRETDB_VERSION,
    apply_patches,
    patch_set_stamp,
)
from devstack.paths import BIN_DIR, CACHE_DIR, SetupError
from devstack.process import ManagedProcess, free_port, port_in_use, wait_port_free

# SQLite settings for the local server (FerretDB adds busy_timeout, WAL and auto_vacuum itself).
# - synchronous=NORMAL: in WAL mode a commit no longer waits for fsync. A killed server loses
#   nothing; only an OS crash or power loss may drop the last commits. That is MongoDB's own
#   default bargain (w:1 acknowledges before the journal is flushed, every 100 ms).
# - wal_autocheckpoint=10000 pages (~40 MB) instead of 1,000: fewer, bigger checkpoints, so a page
#   written many times between two checkpoints is copied into the database file once.
# Measured on 1,000 replaces of indexed documents in a fresh database: FULL (SQLite's default)
# 3.4 s, NORMAL 0.6 s, NORMAL with this checkpoint interval 0.3 s.
SQLITE_PRAGMAS = "_pragma=synchronous(normal)&_pragma=wal_autocheckpoint(10000)"


def ferretdb_binary() -> Path:
    return BIN_DIR / "ferretdb"


def _stamp_file() -> Path:
    return BIN_DIR / "ferretdb.stamp"


def _binary_is_current(binary: Path) -> bool:
    if not binary.exists() or not _stamp_file().exists():
        return False
    if _stamp_file().read_text().strip() != patch_set_stamp():
        return False
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return f"version: {FERRETDB_VERSION}" in out.stdout


def ensure_ferretdb() -> Path:
    binary = ferretdb_binary()
    if _binary_is_current(binary):
        return binary
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    # Several test sessions may start at once: one builds, the others wait and reuse its result.
    with open(BIN_DIR / "ferretdb.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _binary_is_current(binary):
            return binary
        return _build_ferretdb(binary)


def _build_ferretdb(binary: Path) -> Path:
    if shutil.which("go") is None:
        raise SetupError(
            "no `mongod` on PATH and no `go` to build FerretDB: install one of them "
            "or set MONGODB_URI"
        )
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if download.returncode != 0:
        raise SetupError(
            "downloading FerretDB failed: " + download.stdout[-1500:] + download.stderr[-1500:]
        )
    module_dir = Path(json.loads(download.stdout)["Dir"])
    source = CACHE_DIR / "ferretdb-src"
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(module_dir, source)
    for path in [source, *source.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    apply_patches(source)
    # Build into a scratch directory, then rename over the old binary: a FerretDB that is running
    # from the old file keeps running, and a failed build leaves the old binary in place.
    with tempfile.TemporaryDirectory(dir=BIN_DIR) as scratch:
        build = subprocess.run(
            ["go", "install", "./cmd/ferretdb"],
            cwd=source,
            capture_output=True,
            text=True,
            check=False,
            env={**env, "GOBIN": scratch},
        )
        if build.returncode != 0:
            raise SetupError(
                "building FerretDB failed: " + build.stdout[-1500:] + build.stderr[-1500:]
            )
        os.replace(Path(scratch) / "ferretdb", binary)
    _stamp_file().write_text(patch_set_stamp() + "\n")
    if not _binary_is_current(binary):
        raise SetupError(f"the FerretDB build at {binary} does not report {FERRETDB_VERSION}")
    return binary


def engine() -> str:
    """Which server this machine will run: 'mongod' or 'ferretdb'."""
    return "mongod" if shutil.which("mongod") else "ferretdb"


class MongoServer:
    """A MongoDB-wire server on loopback. ``port`` 0 picks a free port."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.debug_port = free_port()
        self.engine = engine()
        self.process: ManagedProcess | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def prepare(self) -> None:
        if self.engine == "ferretdb":
            ensure_ferretdb()

    def start(self) -> None:
        if port_in_use(self.port):
            raise SetupError(
                f"port {self.port} is in use: is another MongoDB (or devstack) running?"
            )
        self.prepare()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.engine == "mongod":
            argv = [
                shutil.which("mongod") or "mongod",
                "--dbpath",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--bind_ip",
                "127.0.0.1",
                "--quiet",
            ]
        else:
            argv = [
                str(ferretdb_binary()),
                "--handler=sqlite",
                f"--sqlite-url=file:{self.data_dir}/?{SQLITE_PRAGMAS}",
                f"--listen-addr=127.0.0.1:{self.port}",
                f"--debug-addr=127.0.0.1:{self.debug_port}",
                "--telemetry=disable",
                f"--state-dir={self.data_dir}",
                "--log-level=warn",
                "--log-format=json",
            ]
        self.process = ManagedProcess(self.engine, argv, self.data_dir / f"{self.engine}.log")
        self.process.start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        from pymongo import MongoClient

        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and not self.process.alive():
                raise SetupError(f"{self.engine} exited at start-up:\n" + self.process.log_tail())
            if port_in_use(self.port):
                client: MongoClient[dict[str, object]] = MongoClient(
                    self.uri, serverSelectionTimeoutMS=2000
                )
                try:
                    client.admin.command("ping")
                    return
                except Exception as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                finally:
                    client.close()
            time.sleep(0.2)
        raise SetupError(f"{self.engine} did not become ready in {timeout:.0f}s ({last_error})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        wait_port_free(self.port)
