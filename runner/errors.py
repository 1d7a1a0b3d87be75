"""The one error tree of Zunray.

Drivers translate Docker/OpenStack/database exceptions into these at their
boundary (``raise ... from exc``); the gateway maps each class to an HTTP
status in one table (``gateway/errors.py``).

    ZunrayError
    ├── InvalidSpec            bad input, names the field            (400)
    │   └── TooLarge           a body over its limit                 (413)
    ├── Unauthorized           no valid token                        (401)
    ├── Forbidden              an access rule says no                (403)
    │   └── OverQuota          the project's quota would be exceeded
    ├── NotFound               no such object (or not yours)         (404)
    ├── Conflict               the object is in the wrong state      (409)
    │   └── InvalidTransition  a status change the state machine refuses
    ├── Unavailable            a dependency is down (Docker, Ray)    (503, Retry-After)
    ├── Throttled              a cap on running work is reached      (429, Retry-After)
    └── RuntimeFailure         the container runtime failed an operation
        ├── ImageUnavailable   image neither local nor pullable
        ├── FunctionFailed     a function's handler raised or its instance died (502)
        └── FunctionTimedOut   a function did not answer in its timeout (504)
"""

from __future__ import annotations

from typing import Any


class ZunrayError(Exception):
    """Base of every error Zunray raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the request field at fault, when there is one


class InvalidSpec(ZunrayError):
    """The request is malformed or asks for something impossible."""


class TooLarge(InvalidSpec):
    """A request body (or invocation payload) is over its limit."""


class Unauthorized(ZunrayError):
    """The request carries no valid token."""


class Forbidden(ZunrayError):
    """An access rule does not allow this caller to do this."""


class OverQuota(Forbidden):
    """Admitting the request would exceed the project's quota."""


class NotFound(ZunrayError):
    """No such object, or it belongs to another project (never say which)."""


class Conflict(ZunrayError):
    """The object exists but its state forbids the operation."""


class InvalidTransition(Conflict):
    """A status change that the state machine does not allow."""

    def __init__(self, kind: str, obj_id: str, current: str, wanted: str) -> None:
        super().__init__(f"{kind} {obj_id} is {current}; it cannot become {wanted}")
        self.current = current
        self.wanted = wanted


class Unavailable(ZunrayError):
    """A dependency (Docker engine, Ray, the store, Keystone) cannot serve now.

    ``retry_after_s`` is when trying again makes sense (the ``Retry-After`` header):
    by default a few seconds, about what a restarted engine or actor needs.
    """

    def __init__(
        self, message: str, *, field: str | None = None, retry_after_s: float = 5.0
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


class RuntimeFailure(ZunrayError):
    """The container runtime failed an operation."""


class ImageUnavailable(RuntimeFailure):
    """The image is not present locally and could not be pulled."""


class Throttled(ZunrayError):
    """A cap on running work (such as a project's concurrent invocations) is reached.

    ``retry_after_s`` is when trying again makes sense (the ``Retry-After`` header).
    """

    def __init__(
        self, message: str, *, field: str | None = None, retry_after_s: float = 1.0
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


class FunctionFailed(RuntimeFailure):
    """A function's handler raised, or its instance died while serving.

    ``error`` is what the handler side reported: type, message, traceback and
    the tail of its stderr (empty when the process died without a word).
    """

    def __init__(self, message: str, *, error: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.error = error or {}


class FunctionTimedOut(RuntimeFailure):
    """A function did not answer within its timeout; its instance was replaced."""
