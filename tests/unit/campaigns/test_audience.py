from __future__ import annotations

import pytest

from services.inbox_api.campaigns.audience import (
    MAX_ERRORS,
    AudienceFileError,
    Row,
    RowError,
    errors_to_keep,
    rows_from_csv,
    rows_from_json,
    validate,
)

BODY = "Hi {{1}}, your code is {{2}}."
NAMED = "Hi {{first_name}}!"


class TestCsv:
    def test_reads_variables_by_name_and_reports_unused_columns(self) -> None:
        rows, ignored = rows_from_csv("phone,1,2,email\n+49 151 2345678,Ana,X1,a@x\n", BODY)
        assert rows == [Row(2, "+49 151 2345678", {"1": "Ana", "2": "X1"})]
        assert ignored == ["email"]

    def test_positional_columns_without_names_follow_the_phone(self) -> None:
        rows, _ = rows_from_csv("number;name;code\n4915123456789;Ana;X1\n", BODY)
        assert rows[0].variables == {"1": "Ana", "2": "X1"}

    def test_braced_headers_and_bom(self) -> None:
        rows, _ = rows_from_csv("\ufeffPhone,{{first_name}}\n4915123456789,Bea\n", NAMED)
        assert rows[0].variables == {"first_name": "Bea"}

    def test_without_a_phone_column_the_file_is_refused(self) -> None:
        with pytest.raises(AudienceFileError):
            rows_from_csv("name,1\nAna,x\n", BODY)

    def test_blank_lines_are_skipped_and_rows_keep_spreadsheet_numbers(self) -> None:
        rows, _ = rows_from_csv("phone,1,2\n\n4915123456789,A,B\n", BODY)
        assert [r.row for r in rows] == [3]


class TestValidate:
    def test_valid_rows_go_and_bad_rows_are_reported_per_row_and_column(self) -> None:
        rows = [Row(2, "+49 151 2345678", {"1": "Ana", "2": "X"}),
                Row(3, "12", {"1": "Bo", "2": "Y"}),
                Row(4, "4915123456780", {"1": "Cy"}),
                Row(5, "4915123456781", {"1": "Di", "2": "Z", "3": "extra"}),
                Row(6, "0049 151 2345678", {"1": "Ana", "2": "X"})]
        audience = validate(rows, BODY)
        assert [r.wa_id for r in audience.recipients] == ["491512345678"]
        assert audience.recipients[0].rendered_text == "Hi Ana, your code is X."
        assert audience.recipients[0].components[0]["parameters"][0]["text"] == "Ana"
        assert [(e.row, e.column, e.code) for e in audience.errors] == [
            (3, "phone", "invalid_phone"), (4, "2", "missing_variable"),
            (5, "3", "unknown_variable"), (6, "phone", "duplicate")]
        assert (audience.rejected, audience.duplicates) == (3, 1)

    def test_numbers_already_in_the_campaign_are_duplicates(self) -> None:
        audience = validate([Row(1, "4915123456789", {"first_name": "A"})], NAMED,
                            known_wa_ids={"4915123456789"})
        assert audience.recipients == []
        assert audience.duplicates == 1

    def test_meta_parameter_rules(self) -> None:
        audience = validate([Row(1, "4915123456789", {"first_name": "a" * 1025}),
                             Row(2, "4915123456780", {"first_name": "a\nb"})], NAMED)
        assert [e.code for e in audience.errors] == ["variable_too_long", "variable_invalid"]

    def test_brazilian_spellings_are_one_recipient(self) -> None:
        audience = validate([Row(1, "551187654321", {"first_name": "A"}),
                             Row(2, "5511987654321", {"first_name": "A"})], NAMED)
        assert len(audience.recipients) == 1
        assert audience.duplicates == 1

    def test_json_rows_count_from_one(self) -> None:
        rows = rows_from_json([{"phone": "1", "variables": {"1": " x "}}])
        assert rows == [Row(1, "1", {"1": "x"})]


class TestKeptErrors:
    """What a campaign keeps of an upload's errors: the first MAX_ERRORS over all uploads."""

    def test_each_error_keeps_its_row_column_message_and_upload(self) -> None:
        audience = validate([Row(2, "12", {"1": "Bo", "2": "Y"}),
                             Row(3, "4915123456780", {"1": "Cy"})], BODY)
        assert errors_to_keep(audience.errors, kept=0, upload=2) == [
            {"upload": 2, "row": 2, "column": "phone", "code": "invalid_phone",
             "message": audience.errors[0].message},
            {"upload": 2, "row": 3, "column": "2", "code": "missing_variable",
             "message": audience.errors[1].message}]

    def test_only_the_room_left_under_the_bound_is_used(self) -> None:
        errors = [RowError(n, "phone", "invalid_phone", "bad") for n in range(2, 12)]
        kept = errors_to_keep(errors, kept=MAX_ERRORS - 3, upload=1)
        assert [e["row"] for e in kept] == [2, 3, 4]
        assert errors_to_keep(errors, kept=MAX_ERRORS, upload=1) == []
        assert len(errors_to_keep(errors * 200, kept=0, upload=1)) == MAX_ERRORS
