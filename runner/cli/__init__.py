"""The ``zunray`` command: ``main.py`` parses and dispatches; ``functions.py`` holds the
function commands and ``operator.py`` the operator's (usage export, top)."""
