"""Who made or fetched which local image: tags a project committed (only it may
replace them) and images a project pulled with its registry's credentials
(other projects must not run that local copy without their own pull)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from runner.images.refs import parse
from runner.store.base import Tables
from runner.store.schema import image_records

COMMIT = "commit"
PULL = "pull"


class ImageQueries(Tables):
    def record_image(
        self, project_id: str, reference: str, *, kind: str, registry: str = ""
    ) -> None:
        """Remember that ``project_id`` committed (``COMMIT``) or privately pulled (``PULL``) ``reference``."""
        ref = parse(reference)
        key = (
            image_records.c.project_id == project_id,
            image_records.c.kind == kind,
            image_records.c.reference == ref.normalized,
        )
        with self._write() as conn:
            if conn.execute(sa.select(image_records.c.project_id).where(*key)).first() is None:
                conn.execute(
                    image_records.insert().values(
                        project_id=project_id,
                        kind=kind,
                        reference=ref.normalized,
                        repository=ref.repository,
                        registry=registry,
                        created_at=time.time(),
                    )
                )

    def record_private_pull(self, project_id: str, reference: str, *, registry: str) -> None:
        self.record_image(project_id, reference, kind=PULL, registry=registry)

    def image_committed_by(self, project_id: str, reference: str) -> bool:
        query = sa.select(image_records.c.project_id).where(
            image_records.c.project_id == project_id,
            image_records.c.kind == COMMIT,
            image_records.c.reference == parse(reference).normalized,
        )
        with self._read() as conn:
            return conn.execute(query).first() is not None

    def private_pullers(self, reference: str) -> set[str]:
        """Projects that pulled any tag or digest of this reference's repository with credentials."""
        query = (
            sa.select(image_records.c.project_id)
            .distinct()
            .where(
                image_records.c.kind == PULL,
                image_records.c.repository == parse(reference).repository,
            )
        )
        with self._read() as conn:
            return {row[0] for row in conn.execute(query)}
