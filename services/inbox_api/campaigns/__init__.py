"""Campaigns: one approved template to many customers (docs/campaigns.md).

Read top to bottom: ``routes.py`` -> ``service.py`` (and ``recipients.py``, an upload stored) ->
pure ``audience.py``, ``schedule.py``, ``states.py``, ``report.py``, ``views.py`` -> ``ports.py``,
which ``repository.py`` (MongoDB) implements. outbound_sender's dispatcher releases what this
package writes.
"""
