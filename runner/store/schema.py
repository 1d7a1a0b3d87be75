"""Tables of the store (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("submission_id", sa.String(255), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False, default=""),
    sa.Column("capsule", sa.JSON, nullable=False),
    sa.Column("timeout_s", sa.Float, nullable=True),
    sa.Column("max_retries", sa.Integer, nullable=False, default=0),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("not_before", sa.Float, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("trace_context", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("completions", sa.Integer, nullable=False, default=1),
    sa.Column("parallelism", sa.Integer, nullable=False, default=1),
    sa.Column("backoff_limit", sa.Integer, nullable=False, default=0),
    sa.Column("retries_used", sa.Integer, nullable=False, default=0),
    sa.Column("parent_id", sa.String(36), nullable=True),
    sa.Column("task_index", sa.Integer, nullable=True),
    sa.UniqueConstraint("project_id", "submission_id", name="uq_jobs_submission"),
    sa.Index("ix_jobs_status", "status"),
    sa.Index("ix_jobs_project_created", "project_id", "created_at"),
    sa.Index("ix_jobs_finished", "finished_at"),  # the dashboard's outcomes per minute
)

#: the history of every kind's status changes (job, container, capsule, instance), written in the
#: transaction that makes the change (``Tables._transition``); at most ``EVENTS_PER_OBJECT`` each
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("object_id", sa.String(36), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Index("ix_events_object", "object_id", "id"),
)

job_logs = sa.Table(
    "job_logs",
    metadata,
    sa.Column(
        "job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("truncated_bytes", sa.Integer, nullable=False, default=0),
)

containers = sa.Table(
    "containers",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("task_state", sa.String(32), nullable=True),
    sa.Column("status_reason", sa.Text, nullable=False),
    sa.Column("status_detail", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("container_id", sa.String(64), nullable=True),
    sa.Column("start_on_create", sa.Boolean, nullable=False),
    sa.Column("capsule", sa.JSON, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("trace_context", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Index("ix_containers_project_name", "project_id", "name"),
    sa.Index("ix_containers_host", "host"),
)

container_actions = sa.Table(
    "container_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("container_uuid", sa.String(36), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("start_time", sa.Float, nullable=False),
    sa.Column("finish_time", sa.Float, nullable=True),
    sa.Column("result", sa.String(16), nullable=True),  # Success | Error
    sa.Column("message", sa.Text, nullable=True),
    sa.Index("ix_container_actions_uuid", "container_uuid"),
)

capsules = sa.Table(
    "capsules",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("restart_policy", sa.String(16), nullable=False),
    sa.Column("capsule", sa.JSON, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
    sa.Column("members", sa.JSON, nullable=False),
    sa.Column("trace_context", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_capsules_project_name", "project_id", "name"),
)

quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("hard_limit", sa.Float, nullable=False),
)

quota_classes = sa.Table(
    "quota_classes",
    metadata,
    sa.Column("class_name", sa.String(64), primary_key=True),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("hard_limit", sa.Float, nullable=False),
)

registries = sa.Table(
    "registries",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("username", sa.String(255), nullable=True),
    sa.Column("password", sa.Text, nullable=True),  # encrypted (runner.secrets)
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("value", sa.Text, nullable=False),  # sealed (runner.secrets), never returned
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_secrets_name"),
)

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("cron", sa.String(255), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("job", sa.JSON, nullable=False),  # the job template, as POST /v1/jobs takes it
    sa.Column("concurrency_policy", sa.String(16), nullable=False),
    sa.Column("starting_deadline_s", sa.Float, nullable=True),
    sa.Column("successful_history_limit", sa.Integer, nullable=False),
    sa.Column("failed_history_limit", sa.Integer, nullable=False),
    sa.Column("suspend", sa.Boolean, nullable=False),
    sa.Column("checked_until", sa.Float, nullable=False),  # fire times up to here are decided
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

schedule_runs = sa.Table(
    "schedule_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("schedule_uuid", sa.String(36), nullable=False),
    sa.Column("scheduled_at", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # Started | Skipped | Missed | Replaced
    sa.Column("job_id", sa.String(36), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("schedule_uuid", "scheduled_at", name="uq_schedule_runs_time"),
)

functions = sa.Table(
    "functions",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),  # runner.functions.model.FunctionSpec
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_functions_name"),
)

function_instances = sa.Table(
    "function_instances",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("function_uuid", sa.String(36), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),  # the function's spec at that version
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("trace_context", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_function_instances_function", "function_uuid"),
)

invocations = sa.Table(
    "invocations",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("function_uuid", sa.String(36), nullable=False),
    sa.Column("function_name", sa.String(255), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("result", sa.LargeBinary, nullable=True),
    sa.Column("result_kind", sa.String(8), nullable=True),  # json | bytes
    sa.Column(
        "error", sa.JSON, nullable=True
    ),  # the handler's type, message, traceback, stderr tail
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Index("ix_invocations_status", "status"),
    sa.Index("ix_invocations_project_created", "project_id", "created_at"),
)

host_admin = sa.Table(
    "host_admin",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),  # why an operator disabled it
    sa.Column("updated_at", sa.Float, nullable=False),
    # Zun's force_down: placement counts the host as down whatever its heartbeats say
    sa.Column("forced_down", sa.Boolean, nullable=False, server_default=sa.false()),
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column(
        "kind", sa.String(16), nullable=False
    ),  # job | container | capsule | instance | function
    sa.Column("object_id", sa.String(36), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("runtime", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),  # this record's interval
    sa.Column("ended_at", sa.Float, nullable=False),
    sa.Column("wall_s", sa.Float, nullable=False),
    sa.Column("cpus", sa.Float, nullable=False),  # allocated
    sa.Column("memory_mb", sa.Float, nullable=False),  # allocated
    sa.Column("cpu_s", sa.Float, nullable=False),  # cpus x wall_s
    sa.Column("memory_mb_s", sa.Float, nullable=False),  # memory_mb x wall_s
    sa.Column("invocations", sa.Integer, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # Running (an interval) or how it ended
    sa.Index("ix_usage_ended", "ended_at"),
    sa.Index("ix_usage_project_ended", "project_id", "ended_at"),
    sa.Index("ix_usage_object", "object_id", "ended_at"),
)

image_records = sa.Table(
    "image_records",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    # commit: the project made this tag (only it may replace it); pull: the project pulled it with its registry's credentials
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("reference", sa.String(512), primary_key=True),  # repository:tag or repository@digest
    sa.Column("repository", sa.String(512), nullable=False),
    sa.Column(
        "registry", sa.String(255), nullable=False
    ),  # the registry's domain of a pull; "" for a commit
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_image_records_repository", "kind", "repository"),
)
