"""Image drivers: ``docker`` (any v2 registry, through the engine) and ``glance``."""
