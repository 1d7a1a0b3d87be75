"""Access rules: which caller may do what, as a table of defaults.

A rule is ``"admin"`` (the admin role), ``"any"`` (any authenticated caller of
the project) or ``"role:<name>"``. Operators override rules with a JSON file
(``Settings.policy_file``, read by the gateway); unknown rule names in it are
refused at start-up. Pure: this module parses what the caller has read.
Names follow Zun's policy names where Zun has one.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_RULES: dict[str, str] = {
    "container:create:privileged": "admin",
    "container:create:requested_destination": "admin",  # the `host` hint
    "container:create:runtime": "admin",
    "container:create:image_pull_policy": "admin",
    "container:create:host_mounts": "admin",  # host paths as mount sources (members: their project's volumes only)
    "container:delete_force": "admin",
    "container:get_all_all_projects": "admin",
    "capsule:get_all_all_projects": "admin",
    "capsule:create:runtime": "admin",  # spec.runtime other than runc (a VM per capsule)
    "job:create:runtime": "admin",
    "job:create:capabilities": "admin",  # NFV: NET_ADMIN, NET_RAW, IPC_LOCK, SYS_NICE
    "job:create:hugepages": "admin",  # NFV: huge pages (each job gets a hugetlbfs of its own, sized to its ask)
    "job:create:sysctls": "any",  # only namespaced ones from Settings.allowed_sysctls
    "function:create:runtime": "admin",
    # a pull policy other than ifnotpresent: "always" replaces a local tag (a shared image) with what a registry holds now
    "job:create:image_pull_policy": "admin",
    "function:create:image_pull_policy": "admin",
    "capsule:create:image_pull_policy": "admin",
    # commit into any repository; without it only under "<project_id>/" (platform images and others' tags never)
    "container:commit:any_repository": "admin",
    # interactive shells (a TTY in a container of the caller's project): operators may make them admin-only
    "container:execute:interactive": "any",
    "container:attach": "any",
    "container:execute_resize": "any",
    "container:resize": "any",
    "host:get_all": "admin",
    "host:get": "admin",
    "host:update": "admin",  # enable or disable a host for new placements
    # Zun's services: one zun-compute per host (list; enable, disable, force_down)
    "zun-service:get_all": "admin",
    "zun-service:enable": "admin",
    "zun-service:disable": "admin",
    "zun-service:force_down": "admin",
    "availability_zones:get_all": "any",
    "usage:get_all": "admin",
    "dashboard:series_all": "admin",  # the dashboard's charts of every project (others see their own project's)
    "metrics:get": "admin",  # the whole cloud's queues and hosts  # every project's usage at once (billing)
    "quota:update": "admin",
    "quota:delete": "admin",
    "quota_class:get": "admin",
    "quota_class:update": "admin",
}


def rules_with(overrides: dict[str, str] | None, *, source: str = "overrides") -> dict[str, str]:
    """The defaults with an operator's ``overrides`` (ValueError naming ``source`` for a bad one)."""
    rules = dict(DEFAULT_RULES)
    if not overrides:
        return rules
    if not isinstance(overrides, dict):
        raise ValueError(
            f"{source}: a JSON object of rule names to rules, not {type(overrides).__name__}"
        )
    unknown = sorted(set(overrides) - set(DEFAULT_RULES))
    if unknown:
        raise ValueError(
            f"unknown access rules in {source}: {unknown}; known: {sorted(DEFAULT_RULES)}"
        )
    for name, rule in overrides.items():
        if rule not in ("admin", "any") and not str(rule).startswith("role:"):
            raise ValueError(f"rule {name}: {rule!r} is not admin, any or role:<name>")
    rules.update(overrides)
    return rules


def allowed(rules: dict[str, str], name: str, roles: Iterable[str]) -> bool:
    rule = rules[name]
    roles = set(roles)
    if rule == "any":
        return True
    if rule == "admin":
        return "admin" in roles
    return rule.removeprefix("role:") in roles or "admin" in roles
