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
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.paths import BIN_DIR, CACHE_DIR, SetupError
from devstack.process import ManagedProcess, free_port, port_in_use, wait_port_free

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"


@dataclass(frozen=True)
class SourcePatch:
    """Replace ``old`` (which must occur exactly once in ``path``) by ``new``."""

    path: str
    old: str
    new: str
    why: str


FERRETDB_PATCHES: tuple[SourcePatch, ...] = (
    SourcePatch(
        path="internal/handler/msg_update.go",
        old=(
            "\t\tcloser := iterator.NewMultiCloser()\n"
            "\t\tdefer closer.Close()\n"
            "\n"
            "\t\tcloser.Add(res.Iter)\n"
        ),
        new=(
            "\t\tcloser := iterator.NewMultiCloser()\n"
            "\t\t// devstack patch: closed below, once per statement (a defer here held one\n"
            "\t\t// pooled SQLite connection per statement until the whole command returned).\n"
            "\n"
            "\t\tcloser.Add(res.Iter)\n"
        ),
        why=(
            "an update command with 100 or more statements exhausted the SQLite connection pool "
            "(one open query per statement, closed only at return) and hung the server"
        ),
    ),
    SourcePatch(
        path="internal/handler/msg_update.go",
        old=(
            "\t\tif !u.Multi {\n"
            "\t\t\titer = common.LimitIterator(iter, closer, 1)\n"
            "\t\t}\n"
            "\n"
            '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n'
            "\t\tif err != nil {\n"
        ),
        new=(
            "\t\tif !u.Multi {\n"
            "\t\t\titer = common.LimitIterator(iter, closer, 1)\n"
            "\n"
            "\t\t\t// devstack patch: read the one document and end the read before writing it\n"
            "\t\t\t// back, so no read is open across the write's commit (else SQLite's WAL\n"
            "\t\t\t// never restarts, and every commit past the threshold tries a checkpoint).\n"
            "\t\t\tdocs, consumeErr := iterator.ConsumeValues(iter)\n"
            "\t\t\tcloser.Close()\n"
            "\n"
            "\t\t\tif consumeErr != nil {\n"
            "\t\t\t\treturn 0, 0, nil, lazyerrors.Error(consumeErr)\n"
            "\t\t\t}\n"
            "\n"
            "\t\t\titer = iterator.Values(iterator.ForSlice(docs))\n"
            "\t\t\tcloser = iterator.NewMultiCloser(iter)\n"
            "\t\t}\n"
            "\n"
            '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n'
            "\t\tcloser.Close()\n"
            "\n"
            "\t\tif err != nil {\n"
        ),
        why=(
            "the per-statement close that replaces the deferred one; a single-document update "
            "also ends its read before its write"
        ),
    ),
    SourcePatch(
        path="internal/backends/sqlite/metadata/metadata.go",
        old="\tIDColumn = DefaultColumn + \"->'$._id'\"\n",
        new=(
            "\t// devstack patch: spelled like the _id index's expression, so SQLite uses it.\n"
            "\tIDColumn = DefaultColumn + \"->'_id'\"\n"
        ),
        why=(
            "the _id index is on `_ferretdb_sjson->\"_id\"` but lookups used `->'$._id'`, an "
            "expression SQLite does not match to the index, so every _id lookup scanned the table"
        ),
    ),
    SourcePatch(
        path="internal/backends/sqlite/collection.go",
        old=(
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
            "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
            "\t\t}\n"
        ),
        new=(
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
            "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
            "\t\tcase *types.Document:\n"
            "\t\t\t// devstack patch: {_id: {$in: [...]}} as an index search too.\n"
            "\t\t\twhereClause, args = devstackIDIn(v.(*types.Document))\n"
            "\t\t}\n"
        ),
        why=(
            "`{_id: {$in: [...]}}` (a batch of lookups, or of deletes) scanned the whole "
            "collection in Go; the handler still re-checks every returned document"
        ),
    ),
    SourcePatch(
        path="internal/backends/sqlite/collection.go",
        old=(
            "\t\t\tfilterPushdown = true\n"
            "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
            "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
            "\t\t}\n"
        ),
        new=(
            "\t\t\tfilterPushdown = true\n"
            "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
            "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
            "\t\tcase *types.Document:\n"
            "\t\t\twhereClause, args = devstackIDIn(v.(*types.Document))\n"
            '\t\t\tfilterPushdown = whereClause != ""\n'
            "\t\t}\n"
        ),
        why="`explain` reports the `_id $in` pushdown like the equality one",
    ),
    SourcePatch(
        path="internal/backends/sqlite/collection.go",
        old="// check interfaces\n",
        new=(
            "// devstackIDIn pushes `{$in: [...]}` on _id down to SQLite when every value is a\n"
            "// string or an ObjectID (the types the equality pushdown trusts), as\n"
            "// `_id IN (...)`. Anything else is left to the handler's filter (no WHERE clause).\n"
            "func devstackIDIn(cond *types.Document) (string, []any) {\n"
            "\tif cond.Len() != 1 {\n"
            '\t\treturn "", nil\n'
            "\t}\n"
            "\n"
            '\tv, _ := cond.Get("$in")\n'
            "\n"
            "\tvalues, ok := v.(*types.Array)\n"
            "\tif !ok || values.Len() == 0 || values.Len() > 10000 {\n"
            '\t\treturn "", nil\n'
            "\t}\n"
            "\n"
            "\targs := make([]any, values.Len())\n"
            "\tplaceholders := make([]string, values.Len())\n"
            "\n"
            "\tfor i := 0; i < values.Len(); i++ {\n"
            "\t\tvalue := must.NotFail(values.Get(i))\n"
            "\n"
            "\t\tswitch value.(type) {\n"
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\targs[i] = string(must.NotFail(sjson.MarshalSingleValue(value)))\n"
            '\t\t\tplaceholders[i] = "?"\n'
            "\t\tdefault:\n"
            '\t\t\treturn "", nil\n'
            "\t\t}\n"
            "\t}\n"
            "\n"
            "\twhere := fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, "
            'strings.Join(placeholders, ", "))\n'
            "\n"
            "\treturn where, args\n"
            "}\n"
            "\n"
            "// check interfaces\n"
        ),
        why="the helper of the `_id $in` pushdown",
    ),
    SourcePatch(
        path="internal/backends/sqlite/collection.go",
        old=(
            "\tif params.Filter.Len() == 1 {\n"
            '\t\tv, _ := params.Filter.Get("_id")\n'
            "\t\tswitch v.(type) {\n"
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
            "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
            "\t\tcase *types.Document:\n"
        ),
        new=(
            "\t// devstack patch: an _id condition narrows the read whatever else the filter\n"
            "\t// says; the handler still checks every document against the whole filter.\n"
            '\tif params.Filter.Has("_id") {\n'
            '\t\tv, _ := params.Filter.Get("_id")\n'
            "\t\tswitch v.(type) {\n"
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
            "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
            "\t\tcase *types.Document:\n"
        ),
        why=(
            "a filter on `_id` and anything else (`{_id: {$in: ids}, state: 'queued'}`, the "
            "conditional updates of a batch) scanned the whole collection in Go"
        ),
    ),
    SourcePatch(
        path="internal/backends/sqlite/collection.go",
        old=(
            "\tif params.Filter.Len() == 1 {\n"
            '\t\tv, _ := params.Filter.Get("_id")\n'
            "\t\tswitch v.(type) {\n"
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\tfilterPushdown = true\n"
        ),
        new=(
            "\t// devstack patch: as in Query; the filter counts as pushed down only when the\n"
            "\t// _id condition is all of it.\n"
            '\tif params.Filter.Has("_id") {\n'
            '\t\tv, _ := params.Filter.Get("_id")\n'
            "\t\tswitch v.(type) {\n"
            "\t\tcase string, types.ObjectID:\n"
            "\t\t\tfilterPushdown = params.Filter.Len() == 1\n"
        ),
        why="`explain` shows the `_id` narrowing of a larger filter, and says it is partial",
    ),
    SourcePatch(
        path="internal/backends/sqlite/collection.go",
        old=(
            "\t\t\twhereClause, args = devstackIDIn(v.(*types.Document))\n"
            '\t\t\tfilterPushdown = whereClause != ""\n'
        ),
        new=(
            "\t\t\twhereClause, args = devstackIDIn(v.(*types.Document))\n"
            '\t\t\tfilterPushdown = whereClause != "" && params.Filter.Len() == 1\n'
        ),
        why="the same for `_id $in`",
    ),
)


# SQLite settings for the local server (FerretDB adds busy_timeout, WAL and auto_vacuum itself).
# - synchronous=NORMAL: in WAL mode a commit no longer waits for fsync. A killed server loses
#   nothing; only an OS crash or power loss may drop the last commits. That is MongoDB's own
#   default bargain (w:1 acknowledges before the journal is flushed, every 100 ms).
# - wal_autocheckpoint=10000 pages (~40 MB) instead of 1,000: fewer, bigger checkpoints, so a page
#   written many times between two checkpoints is copied into the database file once.
# Measured on 1,000 replaces of indexed documents in a fresh database: FULL (SQLite's default)
# 3.4 s, NORMAL 0.6 s, NORMAL with this checkpoint interval 0.3 s.
SQLITE_PRAGMAS = "_pragma=synchronous(normal)&_pragma=wal_autocheckpoint(10000)"


def patch_set_stamp(patches: tuple[SourcePatch, ...] = FERRETDB_PATCHES) -> str:
    """Identifies the version and the exact patch set a binary was built from."""
    digest = hashlib.sha256(FERRETDB_VERSION.encode())
    for patch in patches:
        for part in (patch.path, patch.old, patch.new):
            digest.update(b"\0" + part.encode())
    return f"{FERRETDB_VERSION}+devstack.{digest.hexdigest()[:16]}"


def apply_patches(source: Path, patches: tuple[SourcePatch, ...] = FERRETDB_PATCHES) -> None:
    """Apply each patch to the source tree; refuse loudly if upstream text is not found once."""
    for patch in patches:
        target = source / patch.path
        text = target.read_text()
        count = text.count(patch.old)
        if count != 1:
            raise SetupError(
                f"FerretDB patch for {patch.path} ({patch.why}) expected its upstream text once, "
                f"found it {count} times: the module changed; review FERRETDB_PATCHES"
            )
        target.write_text(text.replace(patch.old, patch.new))


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
