"""Pure modules: template variables, views, credentials, cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.inbox_api.accounts.credentials import (
    bearer_token,
    digest,
    looks_like_key,
    new_api_key,
    same_digest,
)
from services.inbox_api.conversations.cursors import (
    BadCursor,
    ListPosition,
    decode_list_cursor,
    decode_thread_cursor,
    encode_list_cursor,
    encode_thread_cursor,
)
from services.inbox_api.conversations.views import conversation_view, message_view
from services.inbox_api.templates.variables import TemplateVariablesError, fill, parameter_keys
from tests.unit.inbox_api.fakes import NOW, conversation


class TestTemplateVariables:
    def test_positional_variables_fill_in_number_order(self) -> None:
        filled = fill("Hi {{2}} and {{1}}", {"1": "a", "2": "b"})
        assert filled.rendered_text == "Hi b and a"
        [body] = filled.components
        assert [p["text"] for p in body.parameters] == ["a", "b"]

    def test_named_variables_carry_their_names(self) -> None:
        filled = fill("Hi {{first_name}}", {"first_name": "Ana"})
        assert filled.components[0].parameters == [
            {"type": "text", "text": "Ana", "parameter_name": "first_name"}]

    @pytest.mark.parametrize(("variables", "named"), [
        ({"1": "a"}, "2"), ({"1": "a", "2": " "}, "2"), ({"1": "a", "2": "b", "x": "c"}, "x")])
    def test_missing_blank_or_extra_variables_are_named(self, variables: dict[str, str],
                                                        named: str) -> None:
        with pytest.raises(TemplateVariablesError) as raised:
            fill("{{1}} {{2}}", variables)
        assert raised.value.variable == named

    def test_no_variables_no_components(self) -> None:
        assert fill("Hello!", {}).components == []

    def test_an_unsynced_body_passes_variables_through(self) -> None:
        filled = fill("", {"2": "b", "1": "a", "10": "c"})
        assert filled.rendered_text is None
        assert [p["text"] for p in filled.components[0].parameters] == ["a", "b", "c"]

    def test_keys_in_order(self) -> None:
        assert parameter_keys("{{b}} {{a}} {{b}}") == ["b", "a"]


class TestViews:
    def test_window_open_and_closed(self) -> None:
        assert conversation_view(conversation(), NOW).window.open is True
        closed = conversation_view(conversation(last_inbound_minutes_ago=24 * 60), NOW)
        assert closed.window.open is False
        assert closed.window.expires_at == NOW
        never = conversation_view(conversation(last_inbound_minutes_ago=None), NOW)
        assert (never.window.open, never.window.expires_at) == (False, None)

    def test_window_meta_closed_is_closed_until_the_customer_writes(self) -> None:
        # The customer wrote 5 minutes ago; Meta answered 131047 since: closed, whatever
        # expires_at (ours) says. A report older than the customer's message is history.
        closed = conversation_view(conversation(
            window_closed_at=NOW - timedelta(minutes=1)), NOW)
        assert closed.window.open is False
        assert closed.window.expires_at == NOW - timedelta(minutes=5) + timedelta(hours=24)
        reopened = conversation_view(conversation(
            window_closed_at=NOW - timedelta(minutes=6)), NOW)
        assert reopened.window.open is True

    def test_outbound_failure_shows_reason_and_hint(self) -> None:
        view = message_view({
            "_id": "c/cmd:1", "direction": "outbound", "message_type": "text",
            "content": {"text": "hi"}, "status": "refused", "preview": "hi",
            "statuses": [{"status": "refused", "at": NOW}],
            "error": {"source": "policy", "reason": "window_expired", "hint": "Send a template",
                      "message": "Too late"},
            "reactions": [{"by": "customer", "emoji": "👍", "at": NOW}],
            "reply_to": {"wamid": "w0"}}, {"w0": "earlier"})
        assert view.text == "hi"
        assert view.error is not None
        assert (view.error.reason, view.error.hint, view.error.detail) == (
            "window_expired", "Send a template", "Too late")
        assert view.reply_to is not None
        assert view.reply_to.preview == "earlier"
        assert [r.emoji for r in view.reactions] == ["👍"]

    def test_inbound_media_points_at_the_proxy(self) -> None:
        view = message_view({"_id": "c/w", "direction": "inbound", "message_type": "image",
                             "content": {"id": "77", "mime_type": "image/jpeg",
                                         "caption": "look"}, "preview": "[image] look"})
        assert view.media is not None
        assert view.media.url == "/api/v1/media/77"
        assert view.status == "received"


class TestCredentials:
    def test_keys_are_recognisable_and_hashed(self) -> None:
        key = new_api_key()
        assert looks_like_key(key)
        assert digest(key) != key
        assert len(digest(key)) == 64
        assert same_digest(digest(key), key)
        assert not same_digest(digest(key), key + "x")

    @pytest.mark.parametrize(("header", "token"), [("Bearer abc", "abc"), ("bearer  abc ", "abc"),
                                                   ("Basic abc", None), (None, None),
                                                   ("Bearer", None)])
    def test_bearer_token(self, header: str | None, token: str | None) -> None:
        assert bearer_token(header) == token


class TestCursors:
    def test_round_trips(self) -> None:
        position = ListPosition(NOW - timedelta(seconds=1), "1:2")
        assert decode_list_cursor(encode_list_cursor(position)) == position
        assert decode_thread_cursor(encode_thread_cursor("0001.0002.w")) == "0001.0002.w"

    @pytest.mark.parametrize("cursor", ["!!", "e30", "W10", encode_thread_cursor("k")])
    def test_foreign_list_cursors_are_rejected(self, cursor: str) -> None:
        with pytest.raises(BadCursor):
            decode_list_cursor(cursor)
