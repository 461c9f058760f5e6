"""Canned replies: a tenant's snippets, picked in the composer by ``/shortcut`` and filled
with the contact's details (docs/inbox-api.md, "Canned replies")."""
