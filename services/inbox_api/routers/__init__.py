"""HTTP routes under /api/v1, thin: validate, call the service, map the result."""
