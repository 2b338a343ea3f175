"""The ptrace platform: trapped calls arrive as PTRACE_EVENT_SECCOMP stops.

The filter returns SECCOMP_RET_TRACE; at the stop the C loop reads the
registers, and an emulated call is finished by setting orig_rax = -1 (skip
it) and rax = the result before PTRACE_CONT. One stop per emulated call,
none for native ones.

A call whose answer installs fds is redirected at its stop to the private
RP_NR_INSTALL number, which the filter sends to the seccomp listener: there
NOTIF_ADDFD installs them and answers the call in one step.
"""
from __future__ import annotations

from runsc_py._interpose import lib
from runsc_py.platform import InstallFds, TrappedCall
from runsc_py.platform.interposer import PTRACE_CONT, PTRACE_SYSCALL, Interposer, _PendingInstall


class PtracePlatform(Interposer):
    name = "ptrace"
    trap_action = lib.RP_ACT_TRACE | lib.RP_TRACE_SYSCALL

    def install(self, call: TrappedCall, result: InstallFds) -> None:
        if not call.via_ptrace:  # already a notification (RP_NR_INSTALL itself)
            self._addfds_and_reply(call.notif_id, result)
            return
        # with a follow-up call, the install's exit stop is where it is made
        self._redirect_to_install(call.tid, _PendingInstall(result),
                                  PTRACE_CONT if result.then is None else PTRACE_SYSCALL)
