"""@mentions in a note's text, pure: which of the tenant's agents a note names.

``@`` followed by an agent's display name (``@Bea Agent``, any case, the longest name that fits
wins) or their id (``@bea``), or the first word of a display name when only one agent has it
(``@Bea``). An ``@`` inside a word (an e-mail address) mentions nobody.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_AT = re.compile(r"(?<![\w.@])@")
_TOKEN = re.compile(r"[\w.-]+")


@dataclass(frozen=True, slots=True)
class Mentionable:
    id: str
    name: str


def _ends_word(text: str, end: int) -> bool:
    return end >= len(text) or not (text[end].isalnum() or text[end] == "_")


def mentioned(text: str, agents: Sequence[Mentionable]) -> list[str]:
    """The ids of the agents ``text`` mentions, in order of first mention, once each."""
    by_name = sorted((a for a in agents if a.name.strip()),
                     key=lambda a: len(a.name), reverse=True)
    by_id = {a.id.casefold(): a.id for a in agents}
    first_words: dict[str, list[str]] = {}
    for agent in agents:
        words = agent.name.split()
        if words:
            first_words.setdefault(words[0].casefold(), []).append(agent.id)
    found: list[str] = []
    folded = text.casefold()
    for at in _AT.finditer(text):
        start = at.end()
        hit = next((a.id for a in by_name
                    if folded.startswith(a.name.strip().casefold(), start)
                    and _ends_word(text, start + len(a.name.strip()))), None)
        if hit is None and (token := _TOKEN.match(text, start)):
            word = token.group().rstrip(".-").casefold()
            hit = by_id.get(word)
            if hit is None and len(first_words.get(word, [])) == 1:
                hit = first_words[word][0]
        if hit is not None and hit not in found:
            found.append(hit)
    return found
