"""Finding the QEMU processes a test's VMs run in (their initrd path names the capsule)."""

from __future__ import annotations

from pathlib import Path


def qemu_pids(capsule_id: str) -> list[int]:
    """QEMU processes booted for this capsule (job or Zun container)."""
    pids = []
    marker = f"zunray-vm-{capsule_id[:8]}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"qemu-system" in cmdline and marker in cmdline:
                pids.append(int(entry.name))
    return pids
