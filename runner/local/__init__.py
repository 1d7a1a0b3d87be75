"""Running Zunray on this machine: supervised processes (``procs.py``), the local stack
that ``zunray up``/``down`` start and stop (``stack.py``), and a local Keystone for
development and tests (``keystone.py``, ``keystone_admin.py``)."""
