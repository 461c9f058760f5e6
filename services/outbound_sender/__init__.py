"""outbound_sender: sends the agents' commands through the WhatsApp Cloud API, each at most once."""
