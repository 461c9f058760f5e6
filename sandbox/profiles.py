"""Business numbers as Graph objects: the phone-number node and its business profile. Pure.

``GET /{phone_number_id}`` answers the number as Meta describes it (id, display number,
verified name, quality rating, code verification, platform, throughput level, ...) and
``GET``/``POST /{phone_number_id}/whatsapp_business_profile`` read and update its business
profile with Meta's limits. Both honour ``fields=``: only the named fields come back (``id`` of a
node always), and a field the node does not have is Meta's error 100.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sandbox.errors import CloudApiError, nonexisting_field, unknown_param
from sandbox.identity import UNKNOWN_COUNTRY, country_of
from shared.channels import Channel
from shared.phone import InvalidPhoneNumber

PHONE_NUMBER_NODE = "WhatsAppBusinessPhoneNumber"
PROFILE_NODE = "WhatsAppBusinessProfile"
# What Meta answers when no ``fields=`` is given.
PHONE_NUMBER_DEFAULT_FIELDS = ("verified_name", "code_verification_status",
                               "display_phone_number", "quality_rating", "platform_type",
                               "throughput", "id")
PROFILE_FIELDS = ("about", "address", "description", "email", "profile_picture_url",
                  "websites", "vertical")
VERTICALS = frozenset({
    "UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN",
    "FINANCE", "GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL",
    "TRAVEL", "RESTAURANT", "NOT_A_BIZ"})
_TEXT_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
_MAX_WEBSITES = 2
_WEBSITE_LIMIT = 256


_FIELD_NAME = re.compile(r"\s*([A-Za-z0-9_]+)")


def requested_fields(fields: str | None) -> list[str] | None:
    """The top-level names in ``fields=about,throughput{level},x.limit(2)`` (None: no
    selection)."""
    if fields is None or not fields.strip():
        return None
    names: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(fields + ","):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            found = _FIELD_NAME.match(fields[start:i])
            if found:
                names.append(found.group(1))
            start = i + 1
    return names


def select(node: Mapping[str, Any], wanted: Iterable[str], node_type: str,
           *, known: Iterable[str] = (), always: Iterable[str] = ()) -> dict[str, Any]:
    """The node's ``wanted`` fields (plus ``always``); Meta's error 100 for a field the node
    type does not have. A field of the type that has no value here (``known``) is left out,
    as Meta leaves out empty fields."""
    fields = set(node) | set(known)
    out: dict[str, Any] = {}
    for name in wanted:
        if name not in fields:
            raise nonexisting_field(name[:80], node_type)
        if name in node:
            out[name] = node[name]
    for name in always:
        out[name] = node[name]
    return out


def messaging_limit_tier(limit: int | None) -> str:
    """Meta's tier name for a number's messaging limit (None: unlimited)."""
    if limit is None:
        return "TIER_UNLIMITED"
    for bound, tier in ((250, "TIER_250"), (1000, "TIER_1K"), (2000, "TIER_2K"),
                        (10_000, "TIER_10K"), (100_000, "TIER_100K")):
        if limit <= bound:
            return tier
    return "TIER_UNLIMITED"


# Fields of Meta's phone-number node the sandbox has no value for (Meta leaves them out).
PHONE_NUMBER_EMPTY_FIELDS = frozenset({
    "webhook_configuration", "new_name_status", "certificate", "new_certificate",
    "eligibility_for_api_business_global_search", "username", "new_display_name"})
ONBOARDED = "2026-01-01T00:00:00+0000"


def display_number(digits: str) -> str:
    """Meta's display format: ``+1 555-000-1111`` for North America, ``+<digits>`` otherwise."""
    if len(digits) == 11 and digits.startswith("1"):
        return f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
    return f"+{digits}"


def phone_number_node(channel: Channel) -> dict[str, Any]:
    """Every field the sandbox has a value for, as Meta names them."""
    digits = channel.display_phone_number or channel.phone_number_id
    tier = messaging_limit_tier(channel.messaging_limit)
    available = {"can_send_message": "AVAILABLE"}
    return {
        "id": channel.phone_number_id,
        "display_phone_number": display_number(digits),
        "verified_name": f"Sandbox {channel.tenant_id}",
        "quality_rating": "GREEN",
        "quality_score": {"score": "GREEN"},
        "code_verification_status": "VERIFIED",
        "platform_type": "CLOUD_API",
        # Meta: STANDARD (80 mps) until the automatic upgrade to HIGH (1,000 mps).
        "throughput": {"level": "HIGH" if channel.throughput_mps > 80 else "STANDARD"},
        "name_status": "APPROVED",
        "status": "CONNECTED",
        "account_mode": "LIVE",
        "is_official_business_account": False,
        "is_on_biz_app": False,
        "is_pin_enabled": False,
        "is_preverified_number": False,
        "search_visibility": "VISIBLE",
        "messaging_limit_tier": tier,
        "whatsapp_business_manager_messaging_limit": tier,
        "conversational_automation": {"enable_welcome_message": False, "prompts": [],
                                      "commands": [], "id": channel.phone_number_id},
        "health_status": {**available, "entities": [
            {"entity_type": "PHONE_NUMBER", "id": channel.phone_number_id, **available},
            {"entity_type": "WABA", "id": channel.waba_id, **available}]},
        "country_code": _country(digits),
        "country_dial_code": _dial_code(digits),
        "last_onboarded_time": ONBOARDED,
    }


def _country(digits: str) -> str:
    try:
        return country_of(digits)
    except InvalidPhoneNumber:
        return UNKNOWN_COUNTRY


def _dial_code(digits: str) -> str:
    # Enough for the sandbox's numbers: North America, else the first two digits.
    return "1" if digits.startswith("1") else digits[:2]


def phone_number_json(channel: Channel, fields: str | None) -> dict[str, Any]:
    """Meta's answer to ``GET /{phone_number_id}`` (an item of ``/{waba_id}/phone_numbers``)."""
    wanted = requested_fields(fields)
    node = phone_number_node(channel)
    if wanted is None:
        return {name: node[name] for name in PHONE_NUMBER_DEFAULT_FIELDS}
    return select(node, wanted, PHONE_NUMBER_NODE, known=PHONE_NUMBER_EMPTY_FIELDS,
                  always=("id",))


@dataclass(frozen=True, slots=True)
class BusinessProfile:
    """A number's business profile (what customers see when they tap the business's name)."""

    about: str = "Sandbox business on WhatsApp"
    address: str = ""
    description: str = ""
    email: str = ""
    profile_picture_url: str = ""
    websites: tuple[str, ...] = ()
    vertical: str = "OTHER"

    def node(self) -> dict[str, Any]:
        return {"about": self.about, "address": self.address,
                "description": self.description, "email": self.email,
                "profile_picture_url": self.profile_picture_url,
                "websites": list(self.websites), "vertical": self.vertical,
                "messaging_product": "whatsapp"}


def profile_json(profile: BusinessProfile, fields: str | None) -> dict[str, Any]:
    """Meta's answer to ``GET /{phone_number_id}/whatsapp_business_profile``."""
    wanted = requested_fields(fields)
    node = profile.node()
    item = (select(node, wanted, PROFILE_NODE, always=("messaging_product",))
            if wanted is not None else node)
    return {"data": [item]}


def updated_profile(profile: BusinessProfile, body: Mapping[str, Any]) -> BusinessProfile:
    """The profile after ``POST /{phone_number_id}/whatsapp_business_profile``, or Meta's error."""
    product = body.get("messaging_product")
    if product is None:
        raise CloudApiError(100, "The parameter messaging_product is required.")
    if product != "whatsapp":
        raise CloudApiError(100, "Param messaging_product must be one of {WHATSAPP}.")
    known = {*_TEXT_LIMITS, "websites", "vertical", "profile_picture_handle",
             "messaging_product"}
    for key in body:
        if key not in known:
            raise unknown_param(str(key)[:80])
    changes: dict[str, Any] = {}
    for key, limit in _TEXT_LIMITS.items():
        if key in body:
            value = body[key]
            low = 1 if key == "about" else 0
            if not isinstance(value, str) or not low <= len(value) <= limit:
                raise CloudApiError(100, f"Param {key} must be a string of {low} to {limit} "
                                    "characters.")
            if key == "email" and value and "@" not in value:
                raise CloudApiError(100, "Param email must be a valid email address.")
            changes[key] = value
    if "websites" in body:
        sites = body["websites"]
        if (not isinstance(sites, list) or len(sites) > _MAX_WEBSITES
                or not all(isinstance(s, str) and s.startswith(("http://", "https://"))
                           and len(s) <= _WEBSITE_LIMIT for s in sites)):
            raise CloudApiError(100, f"Param websites must be at most {_MAX_WEBSITES} http(s) "
                                f"URLs of at most {_WEBSITE_LIMIT} characters.")
        changes["websites"] = tuple(sites)
    if "vertical" in body:
        if body["vertical"] not in VERTICALS:
            raise CloudApiError(100, "Param vertical must be one of "
                                f"{{{', '.join(sorted(VERTICALS))}}}.")
        changes["vertical"] = body["vertical"]
    if "profile_picture_handle" in body:
        handle = body["profile_picture_handle"]
        if not isinstance(handle, str) or not handle:
            raise CloudApiError(100, "Param profile_picture_handle must be an upload handle.")
        # Meta turns the Resumable Upload handle into a CDN URL; the sandbox keeps no image.
        changes["profile_picture_url"] = f"https://pps.whatsapp.net/sandbox/{handle[:64]}"
    return replace(profile, **changes)
