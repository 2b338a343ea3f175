#!/bin/sh
# confine_native.sh CMD ARGS...: run CMD as root, natively, where it can
# change nothing of the host: the other side of a differential run of a
# program we did not write (CPython's test suite).
#
# Run it under `unshare --mount --uts --ipc --net --pid --fork --mount-proc
# --propagation private` (tests/conformance/cpython_regrtest.py's
# NATIVE_CONFINED does). Here, in that private mount namespace: every mount
# is remounted read-only; /tmp, /dev/shm and the working directory
# (recreated inside the new /tmp) are fresh tmpfs; /dev holds only the
# harmless devices and a private devpts; /proc/sys and the other host-wide
# /proc files docker makes read-only are read-only; loopback is up in the
# empty network namespace; and CMD runs without the capabilities that reach
# past namespaces (the clock, modules, raw I/O, reboot, device nodes).
set -e
cwd=$PWD
findmnt -rn -o TARGET | while read -r target; do
    case "$target" in /proc|/proc/*) continue ;; esac
    mount -o remount,bind,ro "$target" 2>/dev/null || true
done
mount -t tmpfs -o mode=1777 none /tmp
mkdir -p "$cwd"
mkdir /tmp/.host-dev
mount --rbind /dev /tmp/.host-dev
mount -t tmpfs -o mode=755 none /dev
for name in null zero full random urandom tty; do
    touch "/dev/$name"
    mount --bind "/tmp/.host-dev/$name" "/dev/$name"
done
umount -l /tmp/.host-dev
rmdir /tmp/.host-dev
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=1777 none /dev/shm
for path in /proc/sys /proc/sysrq-trigger /proc/bus /proc/fs /proc/irq; do   # as docker's
    [ -e "$path" ] || continue
    mount --bind "$path" "$path"
    mount -o remount,bind,ro "$path"
done
ip link set lo up 2>/dev/null || true
cd "$cwd"
exec setpriv --bounding-set -sys_time,-sys_module,-sys_boot,-sys_rawio,-mknod,-sys_resource,-wake_alarm -- "$@"
