"""The database schema's history, as Alembic migrations (``tessera migrate`` runs them).

A package only so that it ships with the distribution: ``server.storage.migrate`` finds the
scripts through it, installed or not.
"""
