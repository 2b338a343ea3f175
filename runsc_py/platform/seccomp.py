"""The seccomp platform: trapped calls arrive as SECCOMP_RET_USER_NOTIF notifications.

The C loop receives them, answers identity calls itself, and hands the rest
to the sentry; replies go back with NOTIF_SEND, fds with NOTIF_ADDFD (SETFD
places them at the guest's number, SEND answers with it atomically).
"""
from __future__ import annotations

from runsc_py._interpose import lib
from runsc_py.platform import InstallFds, TrappedCall
from runsc_py.platform.interposer import PTRACE_INTERRUPT, Interposer


class SeccompPlatform(Interposer):
    name = "seccomp"
    trap_action = lib.RP_ACT_NOTIFY
    direct_receive = True   # the loop sleeps in RECV (csrc/waiting.c)

    def install(self, call: TrappedCall, result: InstallFds) -> None:
        if result.then is None:
            self._addfds_and_reply(call.notif_id, result)
            return
        # Stop the caller as it leaves the call, before its next instruction
        # (the interrupt cannot end the wait: WAIT_KILLABLE_RECV); there the
        # follow-up call is put in its registers (Interposer._inject_call).
        if self._ptrace(PTRACE_INTERRUPT, call.tid, 0, 0, ignore_esrch=True) < 0:
            self._addfds_and_reply(call.notif_id, result)
            return
        self._follow_up[call.tid] = result.then
        if not self._addfds_and_reply(call.notif_id, result):
            del self._follow_up[call.tid]   # its interrupt stop just resumes it
