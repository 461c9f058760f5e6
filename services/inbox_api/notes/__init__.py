"""Private notes: agents' notes in a conversation's thread (never sent to WhatsApp), and their
@mentions, which mark the conversation unread for the mentioned agent (docs/inbox-api.md)."""
