"""The durable store: the source of truth for desired and observed state.

``Store`` opens SQLite (default) or PostgreSQL, creates the schema through
alembic migrations (``Store.migrate``) and offers the few queries the gateway
and actors need, grouped by object kind. Every job status change goes through
``Store.transition_job``.
"""

from runner.store.capsules import CapsuleQueries
from runner.store.containers import ContainerQueries
from runner.store.functions import FunctionQueries
from runner.store.hosts import HostQueries
from runner.store.images import ImageQueries
from runner.store.usage import UsageQueries
from runner.store.jobs import JobQueries
from runner.store.quotas import QuotaQueries
from runner.store.registries import RegistryQueries
from runner.store.schedules import ScheduleQueries


class Store(JobQueries, ContainerQueries, CapsuleQueries, QuotaQueries, RegistryQueries, ScheduleQueries, FunctionQueries, HostQueries, UsageQueries, ImageQueries):
    """Durable state shared by the gateway and the actors."""


__all__ = ["Store"]
