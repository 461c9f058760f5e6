"""Teams and assignment: a tenant's teams (name, member agents), whom a conversation may be
assigned to, and the round-robin rotation of new conversations (docs/inbox-api.md)."""
