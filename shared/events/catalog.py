"""Which events travel on which topic, and the documents generated from that.

``python -m shared.events.catalog docs/events`` writes one JSON Schema per topic and an AsyncAPI
3.0 document for subscribers. A test regenerates them and compares, so the committed copies
cannot drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from shared.events import topics
from shared.events.commands import INBOX_COMMANDS_ADAPTER
from shared.events.conversations import CONVERSATION_EVENTS
from shared.events.inbound import INBOUND_EVENTS
from shared.events.outbound import OUTBOUND_EVENTS

# topic -> (adapter for its records, one-line description for subscribers)
TOPIC_CONTRACTS: dict[str, tuple[TypeAdapter[Any], str]] = {
    topics.WHATSAPP_INBOUND: (
        INBOUND_EVENTS,
        "Normalized WhatsApp webhooks: messages received, statuses, template and number updates.",
    ),
    topics.INBOX_COMMANDS: (
        INBOX_COMMANDS_ADAPTER,
        "Commands from agents and services: sends, reactions, mark-read, typing, assign, resolve,"
        " media retries.",
    ),
    topics.INBOX_OUTBOUND: (
        OUTBOUND_EVENTS,
        "What the sender did with each send command: accepted, refused, failed, unknown.",
    ),
    topics.INBOX_CONVERSATIONS: (
        CONVERSATION_EVENTS,
        "A conversation changed, published after conversation_store committed the change.",
    ),
}

RAW_TOPIC_DESCRIPTION = (
    "Every verified webhook body exactly as Meta sent it (record value = raw bytes); headers "
    "`x-hub-signature-256` and `received-at` (ISO 8601). Key: the WABA id of the first entry."
)


def json_schema(topic: str) -> dict[str, Any]:
    adapter, description = TOPIC_CONTRACTS[topic]
    schema = adapter.json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schema["title"] = topic
    schema["description"] = description
    return schema


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document describing every topic, its key and its records."""
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, (_adapter, description) in TOPIC_CONTRACTS.items():
        schema = json_schema(topic)
        schemas.update(schema.pop("$defs", {}))
        name = topic.replace(".", "_")
        messages[name] = {
            "name": name,
            "contentType": "application/json",
            "summary": description,
            "payload": schema,
            "bindings": {
                "kafka": {"key": {"type": "string", "description": "conversation id or tenant id"}}
            },
        }
        channels[name] = {
            "address": topic,
            "description": description,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"receive_{name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{name}"},
        }
    channels["whatsapp_webhooks_raw_v1"] = {
        "address": topics.WHATSAPP_WEBHOOKS_RAW,
        "description": RAW_TOPIC_DESCRIPTION,
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "WhatsApp Inbox topics",
            "version": "1",
            "description": (
                "Kafka topics of the WhatsApp inbox. Topic names carry their major version; "
                "within a version, fields are only added (consumers ignore unknown fields). "
                "Each record is one JSON object whose `type` says which event it is. Every "
                "consumer has a `<topic>.dlq` dead-letter topic for records it could not process."
            ),
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render_all() -> dict[str, str]:
    """File name -> content for every generated document."""
    files = {
        f"{topic}.schema.json": json.dumps(json_schema(topic), indent=2, sort_keys=True) + "\n"
        for topic in TOPIC_CONTRACTS
    }
    files["asyncapi.json"] = json.dumps(asyncapi(), indent=2, sort_keys=True) + "\n"
    return files


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/events")
    out.mkdir(parents=True, exist_ok=True)
    for name, content in render_all().items():
        (out / name).write_text(content)
    print(f"wrote {len(render_all())} files to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
