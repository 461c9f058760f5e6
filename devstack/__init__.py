"""Local infrastructure for development, tests and benchmarks: real Kafka and a MongoDB-wire
server.

Never deployed. ``python -m devstack up`` runs both on loopback until Ctrl-C; tests and
benchmarks use
:func:`devstack.stack.local_stack`.
"""
