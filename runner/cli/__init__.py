"""The ``zunray`` command: ``main.py`` parses and dispatches (jobs, the local stack);
``schedules.py``, ``functions.py`` and ``operator.py`` (usage export, top) hold the other
commands; ``output.py`` prints lists and objects as ``openstack`` does; ``connect.py``
builds the SDK client from ``--url`` and the OpenStack options, and names the exit codes."""
