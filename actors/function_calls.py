"""Calling one warm instance of a function: the FunctionActor's service for it.

The actor holds one ``InstanceCalls``, given its settings, how to reach an instance
through its node (``invoke_remote``, ``instance_logs``) and its own ``retire``. A
local shim instance is called over its unix socket (connections kept for the next
call), any other through its node actor. What goes wrong is said in
``runner.errors`` terms and counted on the pool; an instance that timed out or
died is retired (replaced).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from actors.function_pool import Pool, Slot
from runner.errors import FunctionFailed, FunctionTimedOut, ZunrayError
from runner.functions import wire
from runner.functions.instance import InstanceFiles
from runner.functions.model import SHIM
from runner.settings import Settings


class InstanceCalls:
    """One invocation's call to the instance chosen for it."""

    def __init__(
        self,
        *,
        settings: Settings,
        invoke_remote: Callable[[str, str, dict, bytes, float], Awaitable[wire.Reply]],
        instance_logs: Callable[[str, str], Awaitable[bytes]],
        retire: Callable[[Pool, Slot], None],
    ) -> None:
        self.settings = settings
        self.invoke_remote = (
            invoke_remote  # (host, instance uuid, header, payload, timeout_s): the node serves it
        )
        self.instance_logs = instance_logs  # (host, instance uuid): what the instance printed
        self.retire = retire  # the actor's: (pool, slot) -> the instance stopped and replaced

    async def call(self, pool: Pool, slot: Slot, header: dict, payload: bytes) -> wire.Reply:
        """The instance's reply; its failures raised as ``runner.errors`` and counted on ``pool``."""
        spec = slot.inst.spec
        try:
            if slot.local and spec.protocol == SHIM:
                reply = await self._call_local(slot, header, payload, spec.timeout_s)
            else:
                reply = await self._remote(
                    self.invoke_remote(
                        slot.inst.host, slot.inst.uuid, header, payload, spec.timeout_s
                    ),
                    spec.timeout_s + 5,
                )
        except wire.InvocationTimeout as exc:
            pool.timeouts += 1
            self.retire(pool, slot)
            raise FunctionTimedOut(
                f"function {pool.fn.name} did not answer within its timeout of {spec.timeout_s:g} s; its instance was replaced"
            ) from exc
        except wire.ReplyTooLarge:  # the instance lives on; only that connection is dropped
            pool.errors += 1
            raise
        except FunctionFailed as exc:  # the instance died under the call
            pool.errors += 1
            logs = await self._logs(slot)
            pool.last_error = f"instance died: {logs[-200:]}"
            self.retire(pool, slot)
            raise FunctionFailed(
                f"the instance of {pool.fn.name} died while serving ({exc.message}); it was replaced",
                error={
                    "type": "InstanceDied",
                    "message": exc.message,
                    "traceback": "",
                    "stderr": logs,
                },
            ) from exc
        if reply.kind == "error":
            pool.errors += 1
            err = reply.error
            pool.last_error = f"{err.get('type')}: {err.get('message')}"[:500]
            raise FunctionFailed(
                f"function {pool.fn.name} failed: {err.get('type')}: {err.get('message')}",
                error=err,
            )
        if len(reply.body) > self.settings.function_payload_max_bytes:
            raise FunctionFailed(
                f"function {pool.fn.name} returned {len(reply.body)} bytes, over the limit of {self.settings.function_payload_max_bytes}"
            )
        return reply

    async def _call_local(
        self, slot: Slot, header: dict, payload: bytes, timeout_s: float
    ) -> wire.Reply:
        if slot.conns:
            reader, writer = slot.conns.pop()
        else:
            try:
                with InstanceFiles(
                    self.settings.data_dir, slot.inst.uuid
                ).socket_address() as address:
                    reader, writer = await asyncio.open_unix_connection(address)
            except OSError as exc:
                raise wire.InstanceLost(f"cannot connect to the instance ({exc})") from exc
        try:
            reply = await wire.call_async(
                reader,
                writer,
                header,
                payload,
                timeout_s,
                max_bytes=self.settings.function_payload_max_bytes,
            )
        except ZunrayError:
            writer.close()
            raise
        slot.conns.append((reader, writer))
        return reply

    @staticmethod
    async def _remote(ref: Awaitable, timeout_s: float):  # noqa: ANN205
        """Await a node actor's answer; its own ZunrayError comes back as itself."""
        try:
            return await asyncio.wait_for(ref, timeout_s)
        except TimeoutError as exc:
            raise wire.InvocationTimeout(f"no answer within {timeout_s:g} s") from exc
        except Exception as exc:  # RayTaskError carries the actor's own error as its cause
            cause = getattr(exc, "cause", None)
            if isinstance(cause, ZunrayError):
                raise cause from None
            raise wire.InstanceLost(f"the node actor did not answer: {exc}") from exc

    async def _logs(self, slot: Slot) -> str:
        try:
            data = await asyncio.wait_for(self.instance_logs(slot.inst.host, slot.inst.uuid), 5)
        except Exception:  # noqa: BLE001 - the logs only explain; never fail on them
            return ""
        return data.decode(errors="replace")[-4096:]
