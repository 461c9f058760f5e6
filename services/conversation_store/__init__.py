"""conversation_store: folds inbound, outbound and command events into MongoDB conversations."""
