"""Meta's Graph surface besides sending: objects by id, business profiles, versions, and Meta's
error envelope for every path and method the sandbox does not serve."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sandbox.errors import CloudApiError
from sandbox.graph_paths import SUPPORTED_VERSIONS, is_graph_path, unrouted, version_refusal
from sandbox.profiles import (
    BusinessProfile,
    messaging_limit_tier,
    phone_number_json,
    requested_fields,
    updated_profile,
)
from tests.unit.sandbox.test_app import (
    AUTH,
    CHANNEL,
    NUMBER,
    TEMPLATES,
    Harness,
    code,
    text,
)
from tests.unit.sandbox.test_app import harness as app_harness

harness = app_harness  # the same fixture: the app over ASGI, a manual clock, fake webhooks

OTHER_WABA_CHANNEL = CHANNEL.model_copy(update={
    "phone_number_id": "300000000000003", "waba_id": "300000000000009",
    "display_phone_number": "15550003333"})


def error(response: httpx.Response) -> dict[str, Any]:
    value: dict[str, Any] = response.json()["error"]
    return value


class TestPaths:
    @pytest.mark.parametrize("path", ["/v25.0/1/messages", "/v19.0/1", "/", "/foo",
                                      "/whatsapp_business/attachments/"])
    def test_graph_paths(self, path: str) -> None:
        assert is_graph_path(path)

    @pytest.mark.parametrize("path", ["/_sandbox/received", "/healthz", "/readyz", "/metrics",
                                      "/docs", "/openapi.json"])
    def test_the_sandboxs_own_paths(self, path: str) -> None:
        assert not is_graph_path(path)

    def test_versions_meta_serves(self) -> None:
        assert {"v19.0", "v21.0", "v25.0", "v26.0"} <= SUPPORTED_VERSIONS
        assert version_refusal("v25.0") is None
        refusal = version_refusal("v18.0")
        assert refusal is not None
        assert refusal.code == 2500

    @pytest.mark.parametrize(("method", "path", "expected"), [
        ("GET", "/v25.0/123/messages", (100, 33)),
        ("PUT", "/v25.0/123", (100, 33)),
        ("GET", "/v25.0/123/nonsense", (2500, None)),
        ("GET", "/v25.0/123/media/extra", (2500, None)),
        ("GET", "/v25.0", (2500, None)),
        ("GET", "/nothing", (2500, None)),
    ])
    def test_unrouted_requests(self, method: str, path: str,
                               expected: tuple[int, int | None]) -> None:
        refusal = unrouted(method, path)
        assert (refusal.code, refusal.subcode) == expected


class TestProfiles:
    def test_fields_selection_ignores_nested_selections(self) -> None:
        assert requested_fields("id, throughput{level},quality_rating") == [
            "id", "throughput", "quality_rating"]
        assert requested_fields(None) is None
        assert requested_fields(" ") is None

    def test_a_number_answers_metas_default_fields(self) -> None:
        node = phone_number_json(CHANNEL, None)
        assert set(node) == {"id", "display_phone_number", "verified_name", "quality_rating",
                             "code_verification_status", "platform_type", "throughput"}
        assert node["throughput"] == {"level": "STANDARD"}
        assert node["platform_type"] == "CLOUD_API"

    def test_a_1000_mps_number_has_high_throughput(self) -> None:
        fast = CHANNEL.model_copy(update={"throughput_mps": 1000})
        assert phone_number_json(fast, "throughput")["throughput"] == {"level": "HIGH"}

    @pytest.mark.parametrize(("limit", "tier"), [
        (250, "TIER_250"), (1000, "TIER_1K"), (2000, "TIER_2K"), (100_000, "TIER_100K"),
        (200_000, "TIER_UNLIMITED"), (None, "TIER_UNLIMITED")])
    def test_messaging_limit_tiers(self, limit: int | None, tier: str) -> None:
        assert messaging_limit_tier(limit) == tier

    def test_a_profile_update_keeps_what_it_does_not_name(self) -> None:
        profile = updated_profile(BusinessProfile(), {
            "messaging_product": "whatsapp", "about": "Plants", "vertical": "RETAIL",
            "websites": ["https://shrub.example"]})
        again = updated_profile(profile, {"messaging_product": "whatsapp", "email": "a@b.c"})
        assert (again.about, again.vertical, again.websites, again.email) == (
            "Plants", "RETAIL", ("https://shrub.example",), "a@b.c")

    @pytest.mark.parametrize("body", [
        {},
        {"messaging_product": "sms"},
        {"messaging_product": "whatsapp", "about": ""},
        {"messaging_product": "whatsapp", "about": "x" * 140},
        {"messaging_product": "whatsapp", "description": "x" * 513},
        {"messaging_product": "whatsapp", "email": "not-an-email"},
        {"messaging_product": "whatsapp", "websites": ["a", "b", "c"]},
        {"messaging_product": "whatsapp", "websites": ["ftp://x"]},
        {"messaging_product": "whatsapp", "vertical": "SPACESHIPS"},
        {"messaging_product": "whatsapp", "colour": "green"},
    ])
    def test_profile_updates_outside_metas_limits_are_100(self, body: dict[str, Any]) -> None:
        with pytest.raises(CloudApiError) as caught:
            updated_profile(BusinessProfile(), body)
        assert caught.value.code == 100


class TestObjectsById:
    async def test_a_business_number(self, harness: Harness) -> None:
        response = await harness.http.get(f"/v25.0/{NUMBER}", headers=AUTH)
        assert response.status_code == 200
        node = response.json()
        assert node["id"] == NUMBER
        assert node["display_phone_number"] == "+1 555-000-1111"
        assert node["quality_rating"] == "GREEN"
        assert node["code_verification_status"] == "VERIFIED"

    async def test_fields_selects_what_comes_back(self, harness: Harness) -> None:
        response = await harness.http.get(f"/v25.0/{NUMBER}", headers=AUTH, params={
            "fields": "quality_rating,throughput{level},messaging_limit_tier"})
        assert response.json() == {"quality_rating": "GREEN", "throughput": {"level": "STANDARD"},
                                   "messaging_limit_tier": "TIER_1K", "id": NUMBER}

    async def test_every_field_of_metas_node_is_accepted(self, harness: Harness) -> None:
        fields = ("id,verified_name,display_phone_number,conversational_automation,status,"
                  "quality_rating,quality_score,webhook_configuration,name_status,"
                  "new_name_status,code_verification_status,account_mode,is_on_biz_app,"
                  "is_official_business_account,is_pin_enabled,is_preverified_number,"
                  "whatsapp_business_manager_messaging_limit,search_visibility,platform_type,"
                  "throughput,eligibility_for_api_business_global_search,health_status,"
                  "certificate,new_certificate,last_onboarded_time,country_code,"
                  "country_dial_code")
        response = await harness.http.get(f"/v25.0/{NUMBER}", headers=AUTH,
                                          params={"fields": fields})
        assert response.status_code == 200, response.text
        node = response.json()
        assert node["conversational_automation"]["id"] == NUMBER
        assert (node["country_code"], node["country_dial_code"]) == ("US", "1")
        assert "webhook_configuration" not in node  # a field with no value is left out

    async def test_the_accounts_numbers(self, harness: Harness) -> None:
        response = await harness.http.get(f"/v25.0/{CHANNEL.waba_id}/phone_numbers",
                                          headers=AUTH, params={"fields": "id,quality_rating"})
        assert response.status_code == 200
        assert response.json()["data"] == [{"id": NUMBER, "quality_rating": "GREEN"}]
        other = await harness.http.get("/v25.0/999/phone_numbers", headers=AUTH)
        assert (other.status_code, other.json()["error"]["error_subcode"]) == (400, 33)

    async def test_an_unknown_field_is_100(self, harness: Harness) -> None:
        response = await harness.http.get(f"/v25.0/{NUMBER}", headers=AUTH,
                                          params={"fields": "id,colour"})
        assert (response.status_code, code(response)) == (400, 100)
        assert "colour" in error(response)["error_data"]["details"]

    async def test_a_template_by_id(self, harness: Harness) -> None:
        template_id = TEMPLATES[1].template_id
        response = await harness.http.get(f"/v25.0/{template_id}", headers=AUTH)
        assert response.status_code == 200
        node = response.json()
        assert (node["id"], node["name"], node["status"]) == (
            template_id, "order_update", "APPROVED")
        selected = await harness.http.get(f"/v25.0/{template_id}", headers=AUTH,
                                          params={"fields": "name,message_send_ttl_seconds"})
        # As the template listing: a field the sandbox does not hold is left out.
        assert selected.json() == {"name": "order_update", "id": template_id}

    @pytest.mark.parametrize("object_id", ["999", "424242424242424", "not-an-id"])
    async def test_an_unknown_id_is_unsupported_get_request(
        self, harness: Harness, object_id: str
    ) -> None:
        response = await harness.http.get(f"/v25.0/{object_id}", headers=AUTH)
        assert response.status_code == 400
        assert (error(response)["code"], error(response)["error_subcode"],
                error(response)["type"]) == (100, 33, "GraphMethodException")
        assert f"Object with ID '{object_id}' does not exist" in error(
            response)["error_data"]["details"]

    async def test_another_accounts_objects_are_invisible(self, harness: Harness) -> None:
        other = OTHER_WABA_CHANNEL.model_copy(update={"access_token": SecretStr("other-token")})
        assert (await harness.http.put("/_sandbox/channels",
                                       json=other.to_document())).is_success
        theirs = await harness.http.get(f"/v25.0/{other.phone_number_id}", headers=AUTH)
        assert (theirs.status_code, error(theirs)["error_subcode"]) == (400, 33)
        mine = await harness.http.get(f"/v25.0/{other.phone_number_id}",
                                      headers={"Authorization": "Bearer other-token"})
        assert mine.status_code == 200


class TestBusinessProfile:
    URL = f"/v25.0/{NUMBER}/whatsapp_business_profile"

    async def test_read_update_read(self, harness: Harness) -> None:
        first = (await harness.http.get(self.URL, headers=AUTH)).json()
        (profile,) = first["data"]
        assert profile["messaging_product"] == "whatsapp"
        assert set(profile) == {"about", "address", "description", "email",
                                "profile_picture_url", "websites", "vertical",
                                "messaging_product"}
        update = {"messaging_product": "whatsapp", "about": "Succulent specialists!",
                  "websites": ["https://shrub.example/"], "vertical": "RETAIL"}
        posted = await harness.http.post(self.URL, headers=AUTH, json=update)
        assert (posted.status_code, posted.json()) == (200, {"success": True})
        selected = await harness.http.get(self.URL, headers=AUTH,
                                          params={"fields": "about,websites"})
        assert selected.json() == {"data": [{"about": "Succulent specialists!",
                                             "websites": ["https://shrub.example/"],
                                             "messaging_product": "whatsapp"}]}

    async def test_a_bad_update_is_100_and_changes_nothing(self, harness: Harness) -> None:
        posted = await harness.http.post(self.URL, headers=AUTH,
                                         json={"messaging_product": "whatsapp", "about": ""})
        assert (posted.status_code, code(posted)) == (400, 100)
        (profile,) = (await harness.http.get(self.URL, headers=AUTH)).json()["data"]
        assert profile["about"] == BusinessProfile().about

    async def test_an_unknown_number_is_unsupported_get_request(self, harness: Harness) -> None:
        response = await harness.http.get("/v25.0/999/whatsapp_business_profile", headers=AUTH)
        assert (response.status_code, error(response)["error_subcode"]) == (400, 33)


class TestMetasEnvelopeEverywhere:
    @pytest.mark.parametrize(("method", "path", "expected"), [
        ("GET", f"/v25.0/{NUMBER}/messages", (100, 33)),
        ("PUT", f"/v25.0/{NUMBER}/messages", (100, 33)),
        ("PATCH", f"/v25.0/{NUMBER}", (100, 33)),
        ("GET", f"/v25.0/{NUMBER}/phone_numbers_of_mars", (2500, None)),
        ("GET", "/v25.0", (2500, None)),
        ("GET", "/", (2500, None)),
        ("POST", "/v25.0/messages", (100, 33)),
    ])
    async def test_unserved_paths_and_methods(self, harness: Harness, method: str, path: str,
                                              expected: tuple[int, int | None]) -> None:
        response = await harness.http.request(method, path, headers=AUTH)
        assert response.status_code == 400
        body = error(response)
        assert (body["code"], body.get("error_subcode")) == expected
        assert body["fbtrace_id"]
        assert "detail" not in response.json()

    async def test_a_bad_query_value_is_metas_100(self, harness: Harness) -> None:
        response = await harness.http.get(f"/v25.0/{CHANNEL.waba_id}/message_templates",
                                          headers=AUTH, params={"limit": "many"})
        assert (response.status_code, code(response)) == (400, 100)

    @pytest.mark.parametrize("version", ["v18.0", "v27.0", "v99.0", "v25.1"])
    async def test_an_unknown_version_is_2500_on_every_endpoint(
        self, harness: Harness, version: str
    ) -> None:
        for method, path, body in [
            ("POST", f"/{version}/{NUMBER}/messages", text()),
            ("GET", f"/{version}/{NUMBER}", None),
            ("GET", f"/{version}/{CHANNEL.waba_id}/message_templates", None),
        ]:
            response = await harness.http.request(method, path, headers=AUTH, json=body)
            assert (response.status_code, code(response)) == (400, 2500), path
        assert (await harness.http.get("/_sandbox/received")).json()["total"] == 0

    @pytest.mark.parametrize("version", ["v19.0", "v22.0", "v26.0"])
    async def test_served_versions_work(self, harness: Harness, version: str) -> None:
        await harness.customer_says()
        response = await harness.send(text(), url=f"/{version}/{NUMBER}/messages")
        assert response.status_code == 200
        assert (await harness.http.get(f"/{version}/{NUMBER}", headers=AUTH)).status_code == 200

    async def test_the_190_body_is_the_same_on_every_route(self, harness: Harness) -> None:
        bad = {"Authorization": "Bearer nope"}
        answers = [
            await harness.http.post(f"/v25.0/{NUMBER}/messages", headers=bad, json=text()),
            await harness.http.get(f"/v25.0/{NUMBER}", headers=bad),
            await harness.http.delete(f"/v25.0/{NUMBER}", headers=bad),
            await harness.http.get(f"/v25.0/{NUMBER}/whatsapp_business_profile", headers=bad),
            await harness.http.post(f"/v25.0/{NUMBER}/media", headers=bad,
                                    files={"file": ("a.png", b"x", "image/png")}),
            await harness.http.get("/whatsapp_business/attachments/", headers=bad,
                                   params={"mid": "1", "ext": "1", "hash": "x"}),
            await harness.http.get(f"/v25.0/{CHANNEL.waba_id}/message_templates", headers=bad),
        ]
        bodies = []
        for response in answers:
            assert response.status_code == 401, response.request.url
            body = dict(error(response))
            assert body.pop("fbtrace_id")
            bodies.append(body)
        assert all(b == bodies[0] for b in bodies), bodies
        assert bodies[0]["code"] == 190
        assert bodies[0]["type"] == "OAuthException"

    async def test_the_control_api_keeps_fastapis_answers(self, harness: Harness) -> None:
        missing = await harness.http.get("/_sandbox/nothing-here")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
        wrong_method = await harness.http.delete("/_sandbox/clock")
        assert wrong_method.status_code == 405
        malformed = await harness.http.post("/_sandbox/customer-messages", json={})
        assert malformed.status_code == 422
        assert "detail" in malformed.json()
