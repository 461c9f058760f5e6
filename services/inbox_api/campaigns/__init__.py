"""Campaigns in inbox_api: pure rules (audience, schedule, states, report) and their shell."""
