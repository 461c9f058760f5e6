import pytest

from tests.unit.outbound_sender.fakes import FakeLedger
from tests.unit.outbound_sender.ledger_contract import LedgerContract


class TestFakeLedger(LedgerContract):
    @pytest.fixture
    def ledger(self):
        return FakeLedger()
