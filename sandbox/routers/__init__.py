"""HTTP entry points of the sandbox."""
