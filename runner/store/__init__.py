"""The durable store: the source of truth for desired and observed state.

``Store`` opens SQLite (default) or PostgreSQL, creates the schema through
alembic migrations (``Store.migrate``) and offers the queries the gateway and
actors need as one object per group of tables, composed here (no mixins):
``store.jobs``, ``store.containers``, ``store.capsules``, ``store.quotas``,
``store.registries``, ``store.schedules``, ``store.functions``, ``store.hosts``,
``store.usage_records``, ``store.images`` and ``store.secrets``. They share one engine. Every job
status change goes through ``store.jobs.transition_job``.
"""

from runner.store.base import Database
from runner.store.capsules import CapsuleQueries
from runner.store.containers import ContainerQueries
from runner.store.functions import FunctionQueries
from runner.store.hosts import HostQueries
from runner.store.images import ImageQueries
from runner.store.jobs import JobQueries
from runner.store.quotas import QuotaQueries
from runner.store.registries import RegistryQueries
from runner.store.schedules import ScheduleQueries
from runner.store.secrets import SecretQueries
from runner.store.usage import UsageQueries


class Store(Database):
    """Durable state shared by the gateway and the actors."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.quotas = QuotaQueries(self)
        self.jobs = JobQueries(self)
        self.containers = ContainerQueries(self, self.quotas)
        self.capsules = CapsuleQueries(self, self.quotas)
        self.registries = RegistryQueries(self)
        self.schedules = ScheduleQueries(self)
        self.functions = FunctionQueries(self)
        self.hosts = HostQueries(self)
        self.usage_records = UsageQueries(self)
        self.images = ImageQueries(self)
        self.secrets = SecretQueries(self)


__all__ = ["Store"]
