"""The conversation id rule (shared/contacts.py), exhaustively: every combination of the event's
identifiers and of the aliases found for them."""

from __future__ import annotations

import itertools

import pytest

from shared.contacts import (
    Resolution,
    alias_ids,
    derived_conversation_id,
    effective,
    is_bsuid,
    is_parent_bsuid,
    link,
    merged_alias,
    number_alias,
    resolve,
    user_alias,
)

PN = "106540352242922"
NUMBER = "16505551234"
BSUID = "US.13491208655302741918"
NUM = f"{PN}|wa:{NUMBER}"
UID = f"{PN}|uid:{BSUID}"


@pytest.mark.parametrize(("value", "expected"), [
    ("US.13491208655302741918", True),
    ("BR.a1B2c3", True),
    ("US." + "1" * 128, True),
    ("US." + "1" * 129, False),
    ("US.", False),
    ("us.123", False),
    ("USA.123", False),
    ("US.ENT.118", False),  # a parent BSUID is not a BSUID
    ("16505551234", False),
    ("US.12-3", False),
    (None, False),
    (123, False),
])
def test_is_bsuid(value: object, expected: bool) -> None:
    assert is_bsuid(value) is expected


def test_is_parent_bsuid() -> None:
    assert is_parent_bsuid("US.ENT.11815799212886844830")
    assert not is_parent_bsuid(BSUID)


class TestDerived:
    def test_a_known_number_keeps_the_old_scheme(self) -> None:
        assert derived_conversation_id(PN, NUMBER, None) == f"{PN}:{NUMBER}"
        assert derived_conversation_id(PN, NUMBER, BSUID) == f"{PN}:{NUMBER}"

    def test_the_number_is_canonical(self) -> None:
        # Brazil's 9th digit and a formatted number: one conversation.
        assert derived_conversation_id(PN, "551187654321", None) == f"{PN}:5511987654321"
        assert derived_conversation_id(PN, "+1 650 555 1234", BSUID) == f"{PN}:{NUMBER}"

    def test_without_a_number_the_bsuid(self) -> None:
        assert derived_conversation_id(PN, None, BSUID) == f"{PN}:{BSUID}"

    def test_a_value_that_is_no_number_is_kept(self) -> None:
        assert derived_conversation_id(PN, "group-1", None) == f"{PN}:group-1"

    def test_neither_is_refused(self) -> None:
        with pytest.raises(ValueError, match="phone number or a BSUID"):
            derived_conversation_id(PN, None, None)

    def test_alias_ids(self) -> None:
        assert number_alias(PN, "+1 (650) 555-1234") == NUM
        assert user_alias(PN, BSUID) == UID
        assert alias_ids(PN, NUMBER, BSUID) == [UID, NUM]
        assert alias_ids(PN, None, None) == []


# Every combination: which identifiers the event has, and where each one's alias points (absent,
# to conversation A, to conversation B).
IDENTIFIERS = [(NUMBER, None), (None, BSUID), (NUMBER, BSUID)]
TARGETS = [None, "A", "B"]


def cases() -> list[tuple[str | None, str | None, str | None, str | None]]:
    out = []
    for (wa, uid), by_uid, by_num in itertools.product(IDENTIFIERS, TARGETS, TARGETS):
        if uid is None and by_uid is not None:
            continue  # an alias of an identifier the event lacks is not looked up
        if wa is None and by_num is not None:
            continue
        out.append((wa, uid, by_uid, by_num))
    return out


def expected(wa: str | None, uid: str | None, by_uid: str | None, by_num: str | None
             ) -> Resolution:
    # The number's conversation first: on a conflict it survives and the BSUID's is absorbed.
    chosen = by_num or by_uid or derived_conversation_id(PN, wa, uid)
    missing = tuple(a for a, present, has in ((UID, by_uid, uid), (NUM, by_num, wa))
                    if has and present is None)
    moves = tuple((a, present) for a, present in ((UID, by_uid), (NUM, by_num))
                  if present is not None and present != chosen)
    absorbed = (by_uid,) if by_uid and by_num and by_uid != by_num else ()
    return Resolution(chosen, missing, tuple(a for a, _ in moves), absorbed, moves)


@pytest.mark.parametrize(("wa", "uid", "by_uid", "by_num"), cases())
def test_the_rule_for_every_combination(wa: str | None, uid: str | None, by_uid: str | None,
                                        by_num: str | None) -> None:
    found = {a: c for a, c in ((UID, by_uid), (NUM, by_num)) if c is not None}
    assert resolve(PN, wa, uid, found) == expected(wa, uid, by_uid, by_num)


def test_the_combinations_spelled_out() -> None:
    # Nothing known: derived, both aliases to write.
    assert resolve(PN, NUMBER, BSUID, {}) == Resolution(f"{PN}:{NUMBER}", (UID, NUM))
    assert resolve(PN, None, BSUID, {}) == Resolution(f"{PN}:{BSUID}", (UID,))
    # The number's thread gains the BSUID.
    assert resolve(PN, NUMBER, BSUID, {NUM: "A"}) == Resolution("A", (UID,))
    # The BSUID's thread gains the number.
    assert resolve(PN, NUMBER, BSUID, {UID: "B"}) == Resolution("B", (NUM,))
    # Both known, different threads: the number's survives, the BSUID's is absorbed and its
    # alias moves to the survivor.
    assert resolve(PN, NUMBER, BSUID, {UID: "B", NUM: "A"}) == Resolution(
        "A", (), (UID,), ("B",), ((UID, "B"),))
    # Both known, same thread: nothing to do.
    assert resolve(PN, NUMBER, BSUID, {UID: "A", NUM: "A"}) == Resolution("A")


def test_the_survivor_is_what_both_identifiers_first_would_give() -> None:
    # Seen apart: the number's thread has the derived id; so does the survivor of the merge.
    by_number = derived_conversation_id(PN, NUMBER, None)
    assert resolve(PN, NUMBER, BSUID, {UID: f"{PN}:{BSUID}", NUM: by_number}
                   ).conversation_id == derived_conversation_id(PN, NUMBER, BSUID)


class TestRecordedMerges:
    """A merge is recorded (absorbed -> survivor); aliases left behind resolve through it."""

    def test_a_stale_alias_follows_the_merge_and_moves_without_a_new_merge(self) -> None:
        result = resolve(PN, NUMBER, BSUID, {UID: "B", NUM: "A"}, {"B": "A"})
        assert result == Resolution("A", (), (UID,), (), ((UID, "B"),))

    def test_a_number_left_on_an_absorbed_thread_never_makes_a_cycle(self) -> None:
        # B (by BSUID) was merged into A; a number still aliased to B, with the BSUID now on A.
        result = resolve(PN, NUMBER, BSUID, {UID: "A", NUM: "B"}, {"B": "A"})
        assert (result.conversation_id, result.absorbed) == ("A", ())
        assert result.moves == ((NUM, "B"),)

    def test_chains_are_followed(self) -> None:
        assert effective("C", {"C": "B", "B": "A"}) == "A"
        result = resolve(PN, NUMBER, BSUID, {UID: "C", NUM: "X"}, {"C": "B", "B": "A"})
        assert (result.conversation_id, result.absorbed) == ("X", ("A",))

    def test_a_cycle_stops(self) -> None:
        assert effective("A", {"A": "B", "B": "A"}) == "B"
        assert effective("A", {}) == "A"

    def test_the_merge_record_id(self) -> None:
        assert merged_alias(PN, f"{PN}:{BSUID}") == f"{PN}|merged:{PN}:{BSUID}"


def test_unrelated_aliases_are_ignored() -> None:
    assert resolve(PN, NUMBER, None, {UID: "B"}) == Resolution(f"{PN}:{NUMBER}", (NUM,))


@pytest.mark.parametrize(("by_uid", "by_num"), list(itertools.product(TARGETS, TARGETS)))
def test_link_attaches_new_identifiers_first_writer_wins(by_uid: str | None,
                                                         by_num: str | None) -> None:
    found = {a: c for a, c in ((UID, by_uid), (NUM, by_num)) if c is not None}
    result = link(PN, "A", NUMBER, BSUID, found)
    assert result.conversation_id == "A"
    assert result.missing == tuple(a for a, c in ((UID, by_uid), (NUM, by_num)) if c is None)
    assert result.conflicts == tuple(a for a, c in ((UID, by_uid), (NUM, by_num)) if c == "B")
