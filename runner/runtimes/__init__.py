"""Container runtimes a node owns. Today: Docker with runc or gVisor (runsc)."""
