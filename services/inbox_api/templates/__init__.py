"""Templates: the list, management (create, edit, delete, preview) and the sync with Meta.

Read top to bottom: ``routes.py`` -> ``service.py`` -> pure ``rules.py``, ``preview.py``,
``sync.py``, ``variables.py`` (a send's variables, used by conversations and campaigns too) and
``views.py`` -> ``ports.py``, which ``repository.py`` (MongoDB) and ``adapters/cloud_templates.py``
implement.
"""
