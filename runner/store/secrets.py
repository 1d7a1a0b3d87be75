"""A project's secrets (values sealed by ``runner.secrets``), what references them, and the
re-sealing of every sealed column when the key rotates."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from runner.errors import Conflict, NotFound, OverQuota
from runner.models import JobStatus
from runner.store.base import Tables
from runner.store.schema import capsules, containers, functions, jobs, registries, schedules
from runner.store.schema import secrets

#: every column holding a sealed value: (table, key column, sealed column)
SEALED_COLUMNS = (
    (secrets, secrets.c.uuid, secrets.c.value),
    (registries, registries.c.uuid, registries.c.password),
)
_ENDED_JOBS = [s.value for s in JobStatus if s.is_terminal()]
_METADATA = [c for c in secrets.c if c.name != "value"]


def secret_names_in(spec: Any) -> set[str]:
    """The secret names a stored spec references: every ``{"secret": name}`` in a ``secrets`` list
    anywhere in it (a job's capsule, a schedule's job template, a function, a Zun container)."""
    found: set[str] = set()
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "secrets" and isinstance(value, list):
                found |= {r["secret"] for r in value if isinstance(r, dict) and "secret" in r}
            else:
                found |= secret_names_in(value)
    elif isinstance(spec, list):
        for item in spec:
            found |= secret_names_in(item)
    return found


class SecretQueries(Tables):
    def create_secret(
        self, *, project_id: str, user_id: str, name: str, sealed: str, max_per_project: int
    ) -> dict[str, Any]:
        """A new secret; Conflict if the name is taken, OverQuota past ``max_per_project``."""
        now = time.time()
        with self._write() as conn:
            if conn.dialect.name == "postgresql":  # serialise the project's creations, as quotas do
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:p))"),
                    {"p": f"zunray-secrets:{project_id}"},
                )
            count = conn.execute(
                sa.select(sa.func.count()).where(secrets.c.project_id == project_id)
            ).scalar_one()
            if count >= max_per_project:
                raise OverQuota(f"at most {max_per_project} secrets per project")
            taken = conn.execute(
                sa.select(secrets.c.uuid).where(
                    secrets.c.project_id == project_id, secrets.c.name == name
                )
            ).first()
            if taken is not None:
                raise Conflict(f"a secret named {name} exists")
            ident = str(uuid.uuid4())
            conn.execute(
                secrets.insert().values(
                    uuid=ident,
                    name=name,
                    project_id=project_id,
                    user_id=user_id,
                    value=sealed,
                    created_at=now,
                    updated_at=now,
                )
            )
        return self.get_secret(project_id, name)

    def get_secret(self, project_id: str, name: str) -> dict[str, Any]:
        """A secret's metadata (never its value); NotFound outside ``project_id``."""
        with self._read() as conn:
            row = conn.execute(sa.select(*_METADATA).where(*_named(project_id, name))).first()
        if row is None:
            raise NotFound(f"Secret {name} could not be found.")
        return dict(row._mapping)

    def sealed_value(self, project_id: str, name: str) -> str:
        """The sealed value, for the node that resolves a reference at a container's start."""
        with self._read() as conn:
            value = conn.execute(
                sa.select(secrets.c.value).where(*_named(project_id, name))
            ).scalar_one_or_none()
        if value is None:
            raise NotFound(f"Secret {name} could not be found.")
        return value

    def missing(self, project_id: str, names: set[str]) -> set[str]:
        """Which of ``names`` the project has no secret by."""
        if not names:
            return set()
        with self._read() as conn:
            have = set(
                conn.execute(
                    sa.select(secrets.c.name).where(
                        secrets.c.project_id == project_id, secrets.c.name.in_(names)
                    )
                ).scalars()
            )
        return names - have

    def list_secrets(self, project_id: str) -> list[dict[str, Any]]:
        query = sa.select(*_METADATA).where(secrets.c.project_id == project_id)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(secrets.c.name))]

    def replace_value(self, project_id: str, name: str, sealed: str) -> dict[str, Any]:
        with self._write() as conn:
            done = conn.execute(
                secrets.update()
                .where(*_named(project_id, name))
                .values(value=sealed, updated_at=time.time())
            ).rowcount
        if not done:
            raise NotFound(f"Secret {name} could not be found.")
        return self.get_secret(project_id, name)

    def delete_secret(self, project_id: str, name: str) -> None:
        """Conflict while anything not ended references it (naming one); NotFound if absent."""
        self.get_secret(project_id, name)
        users = self.referenced_by(project_id, name)
        if users:
            raise Conflict(
                f"secret {name} is referenced by {', '.join(users[:3])}"
                + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            )
        with self._write() as conn:
            conn.execute(secrets.delete().where(*_named(project_id, name)))

    def referenced_by(self, project_id: str, name: str) -> list[str]:
        """``kind id`` of each job not ended, schedule, function, Zun container or capsule of the
        project whose spec references the secret. A LIKE on the JSON text narrows the rows (it may
        match more, never less: ``_`` is a wildcard); the spec itself decides."""
        sources = (
            ("job", jobs, jobs.c.id, jobs.c.capsule, [jobs.c.status.not_in(_ENDED_JOBS)]),
            ("schedule", schedules, schedules.c.uuid, schedules.c.job, []),
            ("function", functions, functions.c.uuid, functions.c.spec, []),
            ("container", containers, containers.c.uuid, containers.c.capsule, []),
            ("capsule", capsules, capsules.c.uuid, capsules.c.capsule, []),
        )
        found = []
        with self._read() as conn:
            for kind, table, key, spec, conditions in sources:
                rows = conn.execute(
                    sa.select(key, spec).where(
                        table.c.project_id == project_id,
                        sa.cast(spec, sa.Text).like(f"%{name}%"),
                        *conditions,
                    )
                )
                found += [f"{kind} {r[0]}" for r in rows if name in secret_names_in(r[1])]
        return found

    # -- key rotation ------------------------------------------------------
    def sealed_rows(self) -> Iterator[tuple[sa.Table, str, str]]:
        """(table, key, sealed value) of every sealed value in the store."""
        for table, key, column in SEALED_COLUMNS:
            with self._read() as conn:
                rows = list(conn.execute(sa.select(key, column).where(column.is_not(None))))
            for ident, value in rows:
                yield table, ident, value

    def reseal(self, table: sa.Table, ident: str, old: str, new: str) -> bool:
        """Swap one sealed value if it is still ``old`` (a concurrent update wins); True if done."""
        key, column = next((k, c) for t, k, c in SEALED_COLUMNS if t is table)
        with self._write() as conn:
            return bool(
                conn.execute(
                    table.update().where(key == ident, column == old).values({column.name: new})
                ).rowcount
            )

    def reseal_all(self, reseal: Callable[[str], str], keep: Callable[[str], bool]) -> int:
        """Re-seal every sealed value ``keep`` does not accept; how many were re-sealed."""
        done = 0
        for table, ident, value in self.sealed_rows():
            if not keep(value) and self.reseal(table, ident, value, reseal(value)):
                done += 1
        return done


def _named(project_id: str, name: str) -> tuple[sa.ColumnElement, ...]:
    return secrets.c.project_id == project_id, secrets.c.name == name
