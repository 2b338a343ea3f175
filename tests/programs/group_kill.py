"""kill(-pgid), kill(0) and kill(-1) by a caller without CAP_KILL reach only the
members it may signal (EPERM if none, but kill(-1) says 0 even then, as Linux
does), and a member reads the siginfo the sender would have made.
`python3 group_kill.py` as root; run natively and sandboxed, the lines must match."""
import os, select, signal, time

report_r, report_w = os.pipe()


def member(name, uid, pgid):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, pgid)
        if uid:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        def got(signo, frame):
            os.write(report_w, f"{name} (uid {uid}) got {signal.Signals(signo).name}\n".encode())
            os._exit(0)
        signal.signal(signal.SIGUSR1, got)
        os.write(w, b"x")
        time.sleep(30)
        os._exit(1)
    os.read(r, 1)
    return pid


def report(what):
    lines = b""
    while select.select([report_r], [], [], 1.0)[0]:
        lines += os.read(report_r, 1000)
    print(what, sorted(lines.decode().splitlines()))


def as_user(uid, fn):
    pid = os.fork()
    if pid == 0:
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        try:
            fn()
            print(f"uid {uid}: sent")
        except PermissionError:
            print(f"uid {uid}: EPERM")
        os._exit(0)
    os.waitpid(pid, 0)


leader = member("leader", 1000, 0)
kids = [member("member", 2000, leader), member("root member", 0, leader)]
loner = member("loner", 1000, 0)
as_user(3000, lambda: os.killpg(leader, signal.SIGUSR1))
report("no member of uid 3000's:")
as_user(1000, lambda: os.killpg(leader, signal.SIGUSR1))
report("killpg by uid 1000:")
as_user(2000, lambda: os.kill(-1, signal.SIGUSR1))
report("kill(-1) by uid 2000:")
as_user(1000, lambda: os.kill(-1, 0))
as_user(4000, lambda: os.kill(-1, 0))
os.kill(kids[1], signal.SIGUSR1)
report("root:")

# what a member reads of a group signal the sender could only partly send
def waiter():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        os.setresgid(1000, 1000, 1000)
        os.setresuid(1000, 1000, 1000)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
        os.write(w, b"x")
        info = signal.sigwaitinfo({signal.SIGUSR2})
        os.write(report_w, f"waiter got code {info.si_code} pid {info.si_pid} uid {info.si_uid}\n".encode())
        os._exit(0)
    os.read(r, 1)
    return pid
w = waiter()
root_member = member("root member", 0, w)
sender = os.fork()
if sender == 0:
    os.setresgid(1000, 1000, 1000)
    os.setresuid(1000, 1000, 1000)
    os.killpg(w, signal.SIGUSR2)
    os._exit(0)
os.waitpid(sender, 0)
lines = b""
while select.select([report_r], [], [], 1.0)[0]:
    lines += os.read(report_r, 1000)
print(lines.decode().replace(f"pid {sender} ", "pid <the sender> ").strip())
os.waitpid(w, 0)
os.kill(root_member, signal.SIGKILL)
os.waitpid(root_member, 0)
for pid in (leader, kids[0], kids[1], loner):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
