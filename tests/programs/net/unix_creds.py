"""SCM_CREDENTIALS and SO_PEERCRED carry the sandbox's pids (compared with getpid/fork's)."""
import os
import socket
import struct

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
pid = os.fork()
if pid == 0:
    creds = struct.pack("3i", os.getpid(), os.getuid(), os.getgid())
    a.sendmsg([b"hi"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
    os._exit(0)
msg, anc, _, _ = b.recvmsg(10, socket.CMSG_SPACE(12))
os.waitpid(pid, 0)
cpid, uid, gid = struct.unpack("3i", anc[0][2])
print(msg, cpid == pid, uid == os.getuid(), gid == os.getgid())
