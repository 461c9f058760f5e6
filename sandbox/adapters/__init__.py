"""The sandbox's outbound I/O: webhook POSTs."""
