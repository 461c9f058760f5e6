"""The business the contract suite plays: one number on one WhatsApp Business Account, its
templates, and the customer it talks to. Every test gets a fresh sandbox holding exactly these."""

from __future__ import annotations

from pydantic import SecretStr
from pywa.types.templates import BaseParams, BodyText

from sandbox.catalog import TemplateSpec
from shared.channels import Channel

PHONE_NUMBER_ID = "100000000000091"
DISPLAY_PHONE_NUMBER = "15550009191"
WABA_ID = "200000000000091"
TOKEN = "contract-token"
APP_SECRET = "contract-app-secret"
# pywa takes the Graph API version as a number; the sandbox answers any version.
GRAPH_VERSION = "25.0"

CHANNEL = Channel(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_PHONE_NUMBER,
                  waba_id=WABA_ID, tenant_id="contract", access_token=SecretStr(TOKEN),
                  throughput_mps=1000)

TEMPLATES = [
    TemplateSpec(name="hello_world", category="UTILITY",
                 body_text="Hello from the WhatsApp sandbox!"),
    TemplateSpec(name="order_update", category="UTILITY",
                 body_text="Hi {{1}}, your order {{2}} is on its way."),
    TemplateSpec(name="spring_sale", category="MARKETING",
                 body_text="Hi {{1}}, our spring sale starts today."),
]

CUSTOMER = "16505551234"
CUSTOMER_NAME = "Sheena Nelson"


def body_parameters(*values: str) -> BaseParams:
    """pywa's parameters for a positional template body ("Hi {{1}}, order {{2}}")."""
    # pywa declares ``BodyText.params`` without @staticmethod; it is called on the class.
    return BodyText.params(*values)  # type: ignore[arg-type]
