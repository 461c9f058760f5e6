"""API keys and the tenant's numbers through the API: keys listed, made and revoked by admins;
the numbers listed for everyone."""
