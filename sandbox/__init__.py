"""A local stand-in for Meta's WhatsApp Cloud API: never deployed to production."""
