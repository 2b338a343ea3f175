"""Host kernel interfaces the table denies: each attempt fails, none runs natively.

mount and umount2 are the sentry's (sentry/mounting.py): a host
filesystem cannot be mounted (ENODEV: no block device or host type is
reachable), and the root of the sandbox's mount table stays (EBUSY).
tests/differential/test_mounts.py checks the host's table never changes."""
import pytest

from tests.conftest import sandboxed

CLONE_NEWPID, CLONE_NEWUSER, CLONE_UNTRACED, SIGCHLD = 0x20000000, 0x10000000, 0x00800000, 17
EPERM, ENODEV, EBUSY, ENOSYS = 1, 19, 16, 38

ATTACKS = {
    "ptrace(TRACEME)": (["101", "0"], EPERM),
    "ptrace(ATTACH, 1)": (["101", "16", "1"], EPERM),
    "mount(ext4 of a host disk)": (["165", "str:/dev/sda", "str:/tmp", "str:ext4", "0", "0"], ENODEV),
    "mount(overlay)": (["165", "str:none", "str:/tmp", "str:overlay", "0", "str:lowerdir=/"], ENODEV),
    "umount2(/)": (["166", "str:/", "2"], EBUSY),
    "unshare(NEWUSER)": (["272", hex(CLONE_NEWUSER)], EPERM),
    "setns": (["308", "0", "0"], EPERM),
    "clone(NEWPID)": (["56", hex(SIGCHLD | CLONE_NEWPID), "0", "0", "0", "0"], EPERM),
    "clone(UNTRACED)": (["56", hex(SIGCHLD | CLONE_UNTRACED), "0", "0", "0", "0"], EPERM),
    "io_uring_setup": (["425", "8", "buf"], ENOSYS),
    "bpf": (["321", "0", "buf", "64"], EPERM),
    "open_by_handle_at": (["304", "3", "buf", "0"], EPERM),
    "init_module": (["175", "buf", "16", "str:"], EPERM),
    "kexec_load": (["246", "0", "0", "0", "0"], EPERM),
    "process_vm_readv": (["310", "1", "buf", "1", "buf", "1", "0"], EPERM),
}


@pytest.mark.parametrize("args,errno", ATTACKS.values(), ids=ATTACKS.keys())
def test_denied(platform, program, args, errno):
    r = sandboxed(platform, program("sys"), *args)
    assert r.out == f"ret=-1 errno={errno}\n".encode(), r
