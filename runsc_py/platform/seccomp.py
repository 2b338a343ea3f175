"""The seccomp platform: trapped calls arrive as SECCOMP_RET_USER_NOTIF notifications.

The C loop receives them, answers identity calls itself, and hands the rest
to the sentry; replies go back with NOTIF_SEND, fds with NOTIF_ADDFD (SETFD
places them at the guest's number, SEND answers with it atomically).
"""
from __future__ import annotations

from runsc_py._interpose import lib
from runsc_py.platform import InstallFds, TrappedCall
from runsc_py.platform.interposer import Interposer


class SeccompPlatform(Interposer):
    name = "seccomp"
    trap_action = lib.RP_ACT_NOTIFY

    def install(self, call: TrappedCall, result: InstallFds) -> None:
        self._addfds_and_reply(call.notif_id, result)
