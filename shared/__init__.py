"""What more than one service needs: event contracts, settings, Kafka/Mongo plumbing, shared rules.

Never imports from ``services``.
"""
