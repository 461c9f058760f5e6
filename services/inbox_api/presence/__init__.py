"""Presence: who has a conversation open now and who is typing in it, shared by every replica
through MongoDB (docs/inbox-api.md, "Presence")."""
