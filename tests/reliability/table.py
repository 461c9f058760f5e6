"""The one table per run: per scenario, load, faults, the invariants' counts, time to recover."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ARTIFACT = Path("artifacts/reliability/table.md")
HEADER = ("scenario", "load (messages)", "faults injected", "lost", "duplicated",
          "wrong final status", "stuck unknown", "time to recover (s)", "result")


@dataclass
class Row:
    scenario: str
    load: int
    faults: str
    lost: int
    duplicated: int
    wrong_status: int
    stuck_unknown: int
    recover_seconds: float | None
    failures: list[str] = field(default_factory=list)
    detail: str = ""  # the full findings, for the failure message

    @property
    def passed(self) -> bool:
        return not self.failures

    def cells(self) -> tuple[str, ...]:
        recover = "n/a" if self.recover_seconds is None else f"{self.recover_seconds:.1f}"
        result = "pass" if self.passed else f"FAIL: {self.failures[0][:120]}"
        return (self.scenario, str(self.load), self.faults, str(self.lost), str(self.duplicated),
                str(self.wrong_status), str(self.stuck_unknown), recover, result)


def render(rows: list[Row], title: str = "") -> str:
    """A Markdown table (readable as plain text too)."""
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |"

    lines = [f"## {title}", ""] if title else []
    lines += [line(HEADER), line(tuple("---" for _ in HEADER))]
    lines += [line(row.cells()) for row in rows]
    return "\n".join(lines) + "\n"


def write(rows: list[Row], title: str, path: Path = ARTIFACT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    details = [f"### {r.scenario}\n\n```\n{r.detail}\n```\n" for r in rows if r.detail]
    path.write_text(render(rows, title) + "\n" + "\n".join(details))
    return path
