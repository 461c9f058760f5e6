"""Accounts: who is calling (API keys, browser sessions), their tenant's agents and business
numbers. Every feature stands on it (the caller's ``Identity``, ``own_channel``); it imports no
feature."""
