"""Meta's notices about the tenant's WhatsApp accounts and numbers: the banner every agent sees
(``GET /api/v1/account/notices``; docs/inbox-api.md, "Account notices")."""
