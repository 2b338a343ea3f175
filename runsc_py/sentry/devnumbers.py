"""The device numbers the sentry's devfs serves, by (type, major, minor):
what a container's linux.devices entry with one of these numbers is
(oci/spec.py checks the entries, sentry/fs/dev.py makes the nodes). Its
own module: the CLI parses specs without loading the filesystems."""

DEVICE_FILES = {("c", 1, 3): "null", ("c", 1, 5): "zero", ("c", 1, 7): "full",
                ("c", 1, 8): "random", ("c", 1, 9): "urandom"}   # the host's, reopened
TERMINALS = {("c", 5, 0): "tty", ("c", 5, 1): "console", ("c", 5, 2): "ptmx"}
SERVED = {**DEVICE_FILES, **TERMINALS}
