"""Labels: a tenant's named colours, put on conversations; the list filters by them
(docs/inbox-api.md, "Labels")."""
