"""The sandbox's /proc: its own processes by virtual pid, and the system as
the sandbox sees it. One module per concern:

- filesystem.py: the tree's root (pids, self, thread-self, system files)
- process.py:    /proc/<pid>/ and /proc/<pid>/task/<tid>/
- fdlinks.py:    the fd/N magic links (readlink text, reopening)
- system.py:     cpuinfo, meminfo, stat, uptime, loadavg, version, filesystems
- sysctl.py:     /proc/sys
- mounts.py:     mounts and mountinfo from the mount table
- net.py:        /proc/net, the seam to the network table
"""
from runsc_py.sentry.fs.proc.filesystem import ProcFilesystem

__all__ = ["ProcFilesystem"]
