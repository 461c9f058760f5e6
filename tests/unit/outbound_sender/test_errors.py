"""The one table: every code of Meta's error reference, and what the sender does with it."""

import pytest

from shared.cloud_errors import ERROR_TABLE, Handling, rule_for

# Every code in Meta's error table (shared/whatsapp-cloud-api.md §6), written out here so a row
# removed from the code fails a test.
META_CODES = {
    131047, 130429, 131056, 131048, 131049, 131050, 131026, 131051, 131052, 131053, 131000,
    131016, 1, 2, 133004, 131057, 131008, 131009, 100, 132000, 132001, 132005, 132007, 132012,
    132015, 132016, 133010, 131045, 131042, 131031, 368, 190, 0, 10, 4, 80007,
}
RETRYABLE = {130429, 131000, 131016, 131057, 1, 2, 133004, 4, 80007}
OPERATOR_ALERTS = {131048, 133010, 131045, 131042, 131031, 368, 190, 0, 10, 100, 131008, 131009,
                   131051}


class TestTable:
    def test_every_meta_code_has_exactly_one_row(self):
        assert set(ERROR_TABLE) == META_CODES

    def test_retryable_codes_are_the_transient_ones(self):
        retried = {c for c, r in ERROR_TABLE.items() if r.handling is Handling.RETRY}
        assert retried == RETRYABLE

    def test_pair_rate_limit_delays_only_the_recipient(self):
        rule = ERROR_TABLE[131056]
        assert rule.handling is Handling.RETRY_RECIPIENT
        assert not rule.throttle_number

    @pytest.mark.parametrize("code", sorted(META_CODES - RETRYABLE - {131056}))
    def test_everything_else_is_permanent(self, code):
        assert ERROR_TABLE[code].handling is Handling.FAIL

    def test_throughput_errors_slow_the_whole_number(self):
        assert ERROR_TABLE[130429].throttle_number
        assert ERROR_TABLE[4].throttle_number
        assert ERROR_TABLE[80007].throttle_number

    def test_unknown_error_is_retried_only_a_little(self):
        assert ERROR_TABLE[131000].max_attempts == 3

    def test_operator_alerts(self):
        assert {c for c, r in ERROR_TABLE.items() if r.alert} == OPERATOR_ALERTS

    def test_every_row_says_what_it_means(self):
        assert all(r.meaning and r.code == c for c, r in ERROR_TABLE.items())


class TestUnknownCodes:
    def test_known_code_wins_over_http_status(self):
        assert rule_for(131047, 500).handling is Handling.FAIL
        assert rule_for(131016, 400).handling is Handling.RETRY

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_server_errors_without_a_known_code_are_retried(self, status):
        assert rule_for(None, status).handling is Handling.RETRY
        assert rule_for(999999, status).handling is Handling.RETRY

    def test_http_429_is_retried_and_slows_the_number(self):
        rule = rule_for(None, 429)
        assert rule.handling is Handling.RETRY
        assert rule.throttle_number

    @pytest.mark.parametrize("status", [400, 401, 403, 404])
    def test_other_client_errors_with_unknown_codes_are_permanent(self, status):
        assert rule_for(987654, status).handling is Handling.FAIL
