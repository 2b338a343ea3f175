"""Making the network table from the command line's flags, as late as it can be.

Kept apart from the rest of the package so the CLI can check the flags and
arrange for the table without importing it: a sandbox whose workload
never makes a socket never pays for the network table.
"""
from __future__ import annotations

from collections.abc import Callable


def network_factory(kernel, config) -> Callable:
    """A callable that builds the network table for `config` (a NetworkConfig,
    from config.config_from_flags); built at once (with its published ports
    listening) when --publish needs listeners before the workload runs.
    ValueError says what is wrong."""

    def build():
        from runsc_py.sentry.net.stack import Network

        return Network(kernel, config)

    if not config.publish:
        return build
    network = build()
    try:
        network.publish()
    except OSError as exc:
        raise ValueError(f"cannot publish: {exc.strerror}") from None
    return lambda: network
