"""The ``templates`` collection: each template's Meta status (docs/templates-collection.md).

conversation_store folds Meta's template status webhooks into it; outbound_sender reads it
before sending a template; the template sync (issue 8) fills in the components.
"""

from __future__ import annotations

TEMPLATES_COLLECTION = "templates"


def template_doc_id(waba_id: str, name: str, language: str) -> str:
    """A template's ``_id``: Meta names a template by its account, name and language."""
    return f"{waba_id}:{name}:{language}"
