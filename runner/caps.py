"""Length caps on what a request carries, in one place (README "Limits on input" lists them).

Every string a client sends is checked against a cap before anything parses it (so no
parser's cost grows past a known size) and before it is stored. The job and function
schemas (``runner/schemas.py``), the Zun handlers and the query parameters all take their
caps from here; ``gateway/caps.py`` applies them to HTTP bodies.
"""

NAME_CHARS = 255  # container, capsule, job, schedule and registry names
FUNCTION_NAME_CHARS = 63
IMAGE_REF_CHARS = 512  # Docker allows 255 for the name, plus a tag (128) and a digest (71)
ENV_VARS = 1024
ENV_KEY_CHARS = 255
ENV_VALUE_CHARS = 32 * 1024
LABELS = 64  # Zun labels; job labels stay at 32 of 64 characters
LABEL_CHARS = 255
COMMAND_ARGS = 1024
COMMAND_ARG_CHARS = 32 * 1024
COMMAND_LINE_CHARS = 64 * 1024  # a Zun command given as one string, before it is split
PATH_CHARS = 4096  # workdir, archive paths, mount destinations
HOSTNAME_CHARS = 63
MEMORY_CHARS = 32  # a Zun memory value such as "512M"
SHORT_CHARS = (
    255  # any other single-word string: repository, tag, signal, ps_args, domain, time zone, cron
)
SECRET_CHARS = 4096  # registry passwords
CODE_CHARS = 256 * 1024  # inline function code
TEXT_CHARS = (
    4096  # each string inside free-form Zun fields (hints, nets, healthcheck, security groups, ...)
)
CAPSULE_CONTAINERS = 64  # containers plus init containers of one capsule, and its volumes
JSON_ITEMS = 1024  # entries of a free-form Zun field, counted over all its nesting
