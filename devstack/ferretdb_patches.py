"""The small source patches devstack applies to FerretDB v1.24.2 before building it.

Each says why (docs/infrastructure.md tells the story); :func:`patch_set_stamp` names the exact set
a binary was built from, so changing a patch rebuilds the binary.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from devstack.paths import SetupError

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
