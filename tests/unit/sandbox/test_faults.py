"""Injected faults: per number, first in first out, each taken by one request."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandbox.faults import Fault, FaultBook


class TestFaultBook:
    def test_faults_apply_in_order_to_the_next_requests_of_their_number(self) -> None:
        book = FaultBook()
        book.add("A", Fault(kind="server_error", count=2))
        book.add("A", Fault(kind="rate_limit"))
        book.add("B", Fault(kind="slow", seconds=0.5))
        taken = [book.take("A") for _ in range(4)]
        assert [f.kind if f else None for f in taken] == [
            "server_error", "server_error", "rate_limit", None]
        assert book.pending() == {"B": [Fault(kind="slow", seconds=0.5)]}

    def test_pending_shows_what_is_left(self) -> None:
        book = FaultBook()
        book.add("A", Fault(kind="unknown_error", count=3))
        book.take("A")
        assert book.pending() == {"A": [Fault(kind="unknown_error", count=2)]}

    def test_clear_one_number_or_all(self) -> None:
        book = FaultBook()
        book.add("A", Fault(kind="timeout"))
        book.add("B", Fault(kind="timeout"))
        book.clear("A")
        assert list(book.pending()) == ["B"]
        book.clear()
        assert book.take("B") is None


class TestFault:
    def test_an_error_fault_needs_a_code(self) -> None:
        with pytest.raises(ValidationError):
            Fault(kind="error")
        assert Fault(kind="error", code=131026).code == 131026

    def test_a_server_error_is_5xx(self) -> None:
        with pytest.raises(ValidationError):
            Fault(kind="server_error", http_status=404)

    def test_default_delays(self) -> None:
        assert Fault(kind="timeout").delay == 60.0
        assert Fault(kind="slow").delay == 2.0
        assert Fault(kind="slow", seconds=0.1).delay == 0.1
        assert Fault(kind="server_error").delay == 0.0

    def test_unknown_kinds_and_fields_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            Fault.model_validate({"kind": "explode"})
        with pytest.raises(ValidationError):
            Fault.model_validate({"kind": "slow", "sconds": 1})
