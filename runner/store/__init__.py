"""The durable store: the source of truth for desired and observed state.

``Store`` opens SQLite (default) or PostgreSQL, creates the schema through
alembic migrations (``Store.migrate``) and offers the few queries the gateway
and actors need. Every status change goes through ``Store.transition_job``.
"""

from runner.store.jobs import Store

__all__ = ["Store"]
