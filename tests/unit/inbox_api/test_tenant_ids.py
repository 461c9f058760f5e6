"""Reserved tenant ids cannot be created: ``unassigned`` holds unclaimed numbers' webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from services.inbox_api.accounts.tenant_ids import ReservedTenantId, check_tenant_id
from services.inbox_api.admin import create_tenant, main


@pytest.mark.parametrize("tenant", [
    "unassigned", "Unassigned", "system", "admin", "_internal", "_", "", " acme"])
def test_reserved_or_malformed_ids_are_refused(tenant: str) -> None:
    with pytest.raises(ReservedTenantId):
        check_tenant_id(tenant)


@pytest.mark.parametrize("tenant", ["acme", "globex-2", "unassigned-co", "my_admin"])
def test_ordinary_ids_pass(tenant: str) -> None:
    assert check_tenant_id(tenant) == tenant


async def test_create_tenant_refuses_unassigned_before_writing_anything() -> None:
    class NoDatabase:
        def __getitem__(self, name: str) -> Any:
            raise AssertionError(f"nothing may be written ({name})")

    with pytest.raises(ReservedTenantId, match="unassigned"):
        await create_tenant(NoDatabase(), tenant="unassigned",  # type: ignore[arg-type]
                            phone_number_id="1", waba_id="2", agent="ana")


def test_the_command_line_says_why(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The client connects lazily: a refused id never reaches the (absent) server.
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:1/")
    code = main(["create-tenant", "--tenant", "unassigned", "--phone-number-id", "1",
                 "--waba-id", "2", "--agent", "ana"])
    assert code == 1
    assert "reserved" in capsys.readouterr().err
