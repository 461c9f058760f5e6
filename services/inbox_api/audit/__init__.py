"""The audit log: every agent action (a mutating API call that succeeded, and every sign-in),
with who, when and what; read by admins (docs/inbox-api.md, "Audit log")."""
