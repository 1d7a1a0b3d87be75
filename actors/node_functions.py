"""The function half of a NodeActor: start, serve and stop warm instances.

An instance is a capsule of one container (see
``runner/functions/instance.py``). ``start_instance`` returns at once and
reports through ``instance_changed`` when the instance serves or failed;
``invoke_instance`` serves one invocation (the function actor calls it for
instances on other hosts and for the command protocol, which needs Docker).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from actors.node_host import HostContext
from actors.node_isolation import Isolation
from actors.node_metering import Metering, of_instance
from runner.capsule_run import CapsuleRun
from runner.errors import FunctionFailed, NotFound, TooLarge, ZunrayError
from runner.functions import wire
from runner.functions.instance import InstanceFiles, capsule_of
from runner.functions.model import COMMAND, Instance, InstanceStatus
from runner.runtimes.docker_live import ContainerOps

log = logging.getLogger(__name__)

START_POLL_S = 0.005
STDERR_TAIL = 4096


class FunctionInstances:
    """The warm function instances on this node, and the invocations they serve here."""

    def __init__(
        self,
        host: HostContext,
        *,
        isolation: Isolation,
        metering: Metering,
        instance_changed: Callable[[str], None],
    ) -> None:
        self.host = host
        self.store = host.store
        self.runtime = host.runtime
        self.settings = host.settings
        self.isolation = isolation
        self.metering = metering
        self.instance_changed = (
            instance_changed  # (instance uuid): tells the function actor it serves or failed
        )
        self._instances: dict[str, CapsuleRun] = {}  # serving function instances
        self._exec_commands: dict[
            str, tuple[str, ...]
        ] = {}  # instances of the command protocol: what each invocation runs
        self._conns: dict[str, list[socket.socket]] = defaultdict(
            list
        )  # idle shim connections per instance

    def start_instance(self, inst: Instance) -> None:
        threading.Thread(
            target=self._start_instance, args=(inst,), name=f"fn-{inst.uuid[:8]}", daemon=True
        ).start()

    def _start_instance(self, inst: Instance) -> None:
        files = InstanceFiles(self.settings.data_dir, inst.uuid)
        run = CapsuleRun(
            self.runtime,
            capsule_id=inst.uuid,
            project=inst.project_id,
            spec=capsule_of(inst),
            networks=None,
        )
        try:
            run.host_binds = files.prepare(inst)
            run.cpuset = self.isolation.cpuset_for(inst.uuid, run.spec)
            run.start()
            self._wait_serving(inst, run, files)
        except Exception as exc:  # noqa: BLE001 - whatever failed, nothing of the instance stays
            reason = exc.message if isinstance(exc, ZunrayError) else f"internal error: {exc}"
            log.info("instance %s of %s failed to start: %s", inst.uuid, inst.function_uuid, reason)
            self._drop_instance(inst.uuid, run, files)
            self.store.functions.transition_instance(
                inst.uuid, InstanceStatus.FAILED, reason=reason
            )
            self.host.finished(inst.uuid, "instance")
            self.instance_changed(inst.uuid)
            return
        self._serve(inst, run)
        self.store.functions.transition_instance(
            inst.uuid, InstanceStatus.READY, reason=f"serving on {self.host.name}"
        )
        self.instance_changed(inst.uuid)

    def _serve(self, inst: Instance, run: CapsuleRun) -> None:
        """From now on invocations reach this instance (the command it runs kept beside it: no store read per call)."""
        if inst.spec.protocol == COMMAND:
            self._exec_commands[inst.uuid] = tuple(inst.spec.command)
        self._instances[inst.uuid] = run

    def _wait_serving(self, inst: Instance, run: CapsuleRun, files: InstanceFiles) -> None:
        """Until the shim's socket accepts (or, for a command, the container runs)."""
        deadline = time.monotonic() + self.settings.function_start_timeout_s
        cid = run.app_ids()[0]
        checked = 0.0
        while time.monotonic() < deadline:
            if inst.spec.protocol == COMMAND or files.serving():
                return
            if time.monotonic() - checked > 0.1:  # a handler that fails to import exits at once
                checked = time.monotonic()
                state = ContainerOps(self.runtime).state(cid)
                if not state.get("Running"):
                    raise FunctionFailed(
                        f"the instance exited with {state.get('ExitCode')} before serving: {_tail(run.logs())}"
                    )
            time.sleep(START_POLL_S)
        raise FunctionFailed(
            f"the instance was not serving after {self.settings.function_start_timeout_s:g} s: {_tail(run.logs())}"
        )

    def stop_instance(self, uuid: str) -> None:
        """Remove an instance's container and files, forget it, free its claim."""
        instances = self._instances
        run = instances.get(uuid)
        if run is None:
            try:
                inst = self.store.functions.get_instance(uuid)
                run = CapsuleRun.adopt(
                    self.runtime,
                    capsule_id=uuid,
                    project=inst.project_id,
                    spec=capsule_of(inst),
                    found=self.runtime.managed(capsule=uuid),
                )
            except NotFound:
                run = None
        self._drop_instance(uuid, run, InstanceFiles(self.settings.data_dir, uuid))
        try:
            inst = self.store.functions.get_instance(uuid)
            self.metering.end(
                **of_instance(inst),
                status="Stopped",
            )
        except NotFound:
            pass
        self.store.functions.delete_instance(uuid)
        self.host.finished(uuid, "instance")

    def _drop_instance(self, uuid: str, run: CapsuleRun | None, files: InstanceFiles) -> None:
        instances, conns = self._instances, self._conns
        instances.pop(uuid, None)
        self._exec_commands.pop(uuid, None)
        for conn in conns.pop(uuid, []):
            conn.close()
        if run is not None:
            try:
                run.remove()
            except ZunrayError:
                log.exception("cannot remove instance %s", uuid)
        files.remove()

    def instance_logs(self, uuid: str) -> bytes:
        run = self._instances.get(uuid)
        return run.logs() if run is not None else b""

    def invoke_instance(
        self, uuid: str, header: dict, payload: bytes, timeout_s: float
    ) -> wire.Reply:
        """Serve one invocation on a local instance (shim socket or exec)."""
        instances, conns = self._instances, self._conns
        run = instances.get(uuid)
        if run is None:
            raise wire.InstanceLost(f"instance {uuid} is not on {self.host.name}")
        command = self._exec_commands.get(uuid)
        if command is not None:
            return self._exec(run, command, payload, timeout_s)
        try:
            conn = conns[uuid].pop()
        except IndexError:
            with InstanceFiles(self.settings.data_dir, uuid).socket_address() as address:
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    conn.connect(address)
                except OSError as exc:
                    conn.close()
                    raise wire.InstanceLost(f"cannot connect to the instance ({exc})") from exc
        try:
            reply = wire.call_sync(
                conn, header, payload, timeout_s, max_bytes=self.settings.function_payload_max_bytes
            )
        except ZunrayError:
            conn.close()
            raise
        conns[uuid].append(conn)
        return reply

    def _exec(
        self, run: CapsuleRun, command: tuple[str, ...], payload: bytes, timeout_s: float
    ) -> wire.Reply:
        try:
            out, err, code = ContainerOps(self.runtime).execute_stdin(
                run.app_ids()[0],
                list(command),
                payload,
                timeout_s=timeout_s,
                max_bytes=self.settings.function_payload_max_bytes,
            )
        except TimeoutError as exc:
            raise wire.InvocationTimeout(f"no answer within {timeout_s:g} s") from exc
        except TooLarge as exc:
            return wire.Reply(
                "error",
                wire.error_body(
                    f"{exc.message} (function_payload_max_bytes)", type="ReplyTooLarge"
                ),
            )
        if code != 0:
            return wire.Reply(
                "error",
                wire.error_body(
                    f"the command exited with {code}",
                    stderr=err.decode(errors="replace")[-STDERR_TAIL:],
                    type="ExitCode",
                ),
            )
        return wire.Reply("bytes", out)

    def start(self, found_by_capsule: dict[str, list]) -> None:
        """After a restart: keep this host's serving instances (their containers taken out of
        ``found_by_capsule``), start those whose dispatch died with the previous actor, end the rest."""
        for inst in self.store.functions.list_instances(host=self.host.name):
            containers = found_by_capsule.pop(inst.uuid, [])
            run = CapsuleRun.adopt(
                self.runtime,
                capsule_id=inst.uuid,
                project=inst.project_id,
                spec=capsule_of(inst),
                found=containers,
            )
            if (
                inst.status is InstanceStatus.READY
                and containers
                and all(c.state == "running" for c in containers)
            ):
                self._serve(inst, run)
                continue
            if inst.status is InstanceStatus.CREATING and not containers:
                self.start_instance(inst)  # the dispatch died with the previous actor
                continue
            self._drop_instance(inst.uuid, run, InstanceFiles(self.settings.data_dir, inst.uuid))
            self.store.functions.transition_instance(
                inst.uuid, InstanceStatus.FAILED, reason="lost while the node actor restarted"
            )
            self.host.finished(inst.uuid, "instance")
            self.instance_changed(inst.uuid)


def _tail(logs: bytes) -> str:
    return logs.decode(errors="replace")[-STDERR_TAIL:].strip() or "(no output)"
