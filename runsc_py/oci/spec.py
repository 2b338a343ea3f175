"""config.json: parsed into plain objects, validated, and refused where not honoured.

Everything a runtime could silently ignore is decided here, once: a field
is either carried into a `ContainerSpec` (and honoured by the sandbox), or
accepted with a documented reason it changes nothing for a sentry-kernel
(`IGNORED_NOTES`), or refused with a `SpecError` naming the field. The
message of a `SpecError` is what containerd shows after "OCI runtime
create failed:", so it says what to change.
"""
from __future__ import annotations

import collections
import os
import resource

from runsc_py.sentry import devnumbers
from runsc_py.sentry.limits import SandboxLimits
from runsc_py.sentry.mountspec import PROPAGATION, MountError, MountSpec


class SpecError(ValueError):
    """config.json asks for something malformed or not honoured."""


# The parsed spec is plain immutable records (collections.namedtuple: a
# tenth of a dataclass's cost to define, and unlike typing.NamedTuple no
# `typing` import, ~3 ms; a cold start pays for both).

class User(collections.namedtuple(
        "User",
        "uid gid umask additional_gids",
        defaults=(0, 0, None, ()))):
    __slots__ = ()
    # fields:
    # uid: int = 0
    # gid: int = 0
    # umask: int | None = None
    # additional_gids: tuple[int, ...] = ()


class Rlimit(collections.namedtuple("Rlimit", "name resource soft hard")):
    __slots__ = ()
    # fields:
    # name: str          # "RLIMIT_NOFILE"
    # resource: int      # resource.RLIMIT_NOFILE
    # soft: int
    # hard: int


class Capabilities(collections.namedtuple(
        "Capabilities",
        "bounding effective inheritable permitted ambient",
        defaults=(frozenset(), frozenset(), frozenset(), frozenset(), frozenset()))):
    """process.capabilities, as sets of names ("CAP_NET_RAW"); applied to
    init's credentials when they carry capability sets (process issue)."""
    __slots__ = ()
    # fields:
    # bounding: frozenset[str] = frozenset()
    # effective: frozenset[str] = frozenset()
    # inheritable: frozenset[str] = frozenset()
    # permitted: frozenset[str] = frozenset()
    # ambient: frozenset[str] = frozenset()


class Hook(collections.namedtuple("Hook", "path args env timeout")):
    __slots__ = ()
    # fields:
    # path: str
    # args: tuple[str, ...]
    # env: tuple[str, ...]
    # timeout: int | None


class ProcessSpec(collections.namedtuple(
        "ProcessSpec",
        "args env cwd user terminal console_size rlimits capabilities no_new_privileges "
        "oom_score_adj",
        defaults=(False, None, (), None, False, None))):
    __slots__ = ()
    # fields:
    # args: tuple[str, ...]
    # env: dict[str, str]
    # cwd: str
    # user: User
    # terminal: bool = False
    # console_size: tuple[int, int] | None = None   # (height, width)
    # rlimits: tuple[Rlimit, ...] = ()
    # capabilities: Capabilities | None = None
    # no_new_privileges: bool = False
    # oom_score_adj: int | None = None


class ContainerSpec(collections.namedtuple(
        "ContainerSpec",
        "oci_version root_path root_readonly process hostname domainname mounts hooks "
        "annotations limits cgroup_settings netns_path netns_new masked_paths readonly_paths "
        "sysctl cgroups_path devices seccomp rootfs_propagation id_mappings")):
    __slots__ = ()
    # fields:
    # oci_version: str
    # root_path: str              # absolute host path of the rootfs
    # root_readonly: bool
    # process: ProcessSpec
    # hostname: str
    # domainname: str
    # mounts: list[MountSpec]
    # hooks: dict[str, list[Hook]]
    # annotations: dict[str, str]
    # limits: SandboxLimits
    # cgroup_settings: CgroupSettings   # what only the cgroup enforces
    # netns_path: str | None      # a network namespace to join (docs/architecture.md, "OCI")
    # netns_new: bool             # a `network` entry without a path: make a new namespace
    # masked_paths: list[str]
    # readonly_paths: list[str]
    # sysctl: dict[str, str]
    # cgroups_path: str
    # devices: list[SpecDevice]
    # seccomp: object | None      # runsc_py.oci.seccomp.Profile
    # rootfs_propagation: str     # linux.rootfsPropagation ("" when unset)
    # id_mappings: tuple | None    # (uid ranges, gid ranges) of a user namespace


HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")
# Namespaces the sentry always gives the workload (its own pid, mount, ipc,
# uts, network; cgroup views are the sentry's): asking for them is honoured.
OWN_NAMESPACES = {"pid", "mount", "ipc", "uts", "network", "cgroup"}
# Accepted because a sentry-kernel makes them moot (docs/architecture.md, "OCI").
IGNORED_NOTES = {
    "process.apparmorProfile": "the workload talks to the sentry, not to host LSMs",
    "linux.mountLabel": "no SELinux labels inside the sentry",
    "linux.resources.devices": "device access is what the sentry's devfs has",
}


def load(bundle: str) -> ContainerSpec:
    """Read and validate BUNDLE/config.json."""
    return parse(read_document(bundle), bundle)


def read_document(bundle: str) -> dict:
    """BUNDLE/config.json's JSON object, not yet validated."""
    import json   # here: the sandbox parses the document it is sent, and never loads json

    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise SpecError(f"no config.json in bundle {bundle!r} (runsc-py spec writes a default one)")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path} is not valid JSON: {exc}")
    if not isinstance(doc, dict):
        raise SpecError(f"{path} must hold a JSON object")
    return doc


def parse(doc: dict, bundle: str) -> ContainerSpec:
    version = _get(doc, "ociVersion", str, "")
    if not version.startswith("1."):
        raise SpecError(f"ociVersion {version!r} is not supported (runsc-py reads 1.x specs)")
    root = _get(doc, "root", dict, None)
    if root is None or not _get(root, "path", str, ""):
        raise SpecError("config.json has no root.path (the container's rootfs)")
    root_path = os.path.join(os.path.abspath(bundle), root["path"])
    if not os.path.isdir(root_path):
        raise SpecError(f"rootfs {root_path!r} does not exist or is not a directory")
    linux = _get(doc, "linux", dict, {})
    _refuse_unknown_linux(linux)
    fields = dict(
        oci_version=version,
        root_path=os.path.realpath(root_path),
        root_readonly=bool(root.get("readonly", False)),
        process=_process(_get(doc, "process", dict, None)),
        hostname=_get(doc, "hostname", str, ""),
        domainname=_get(doc, "domainname", str, ""),
        mounts=[_mount(m, bundle) for m in _get(doc, "mounts", list, [])],
        hooks=_hooks(_get(doc, "hooks", dict, {})),
        annotations=_str_dict(_get(doc, "annotations", dict, {}), "annotations"),
        masked_paths=_paths(linux, "maskedPaths"),
        readonly_paths=_paths(linux, "readonlyPaths"),
        sysctl=_str_dict(_get(linux, "sysctl", dict, {}), "linux.sysctl"),
        cgroups_path=_get(linux, "cgroupsPath", str, ""),
        devices=_devices(_get(linux, "devices", list, [])),
        rootfs_propagation=_rootfs_propagation(_get(linux, "rootfsPropagation", str, "")),
        id_mappings=_id_mappings(linux),
    )
    limits, cgroup_settings = resources(_get(linux, "resources", dict, {}))
    netns_path, netns_new = _namespaces(_get(linux, "namespaces", list, []))
    seccomp = _get(linux, "seccomp", dict, None)
    if seccomp:
        from runsc_py.oci.seccomp import parse as parse_seccomp

        seccomp = parse_seccomp(seccomp)
    return ContainerSpec(**fields, limits=limits, cgroup_settings=cgroup_settings,
                         netns_path=netns_path,
                         netns_new=netns_new, seccomp=seccomp or None)


def _process(proc: dict | None) -> ProcessSpec:
    if proc is None:
        raise SpecError("config.json has no process (what the container runs)")
    args = _get(proc, "args", list, [])
    if not args or not all(isinstance(a, str) for a in args):
        raise SpecError("process.args must be a non-empty list of strings")
    env: dict[str, str] = {}
    for item in _get(proc, "env", list, []):
        if not isinstance(item, str) or "=" not in item:
            raise SpecError(f"process.env entry {item!r} is not KEY=VALUE")
        key, value = item.split("=", 1)
        env[key] = value
    cwd = _get(proc, "cwd", str, "/")
    if not cwd.startswith("/"):
        raise SpecError(f"process.cwd {cwd!r} must be an absolute path")
    if _get(proc, "selinuxLabel", str, ""):
        raise SpecError("process.selinuxLabel is not supported (the sentry has no SELinux)")
    size = _get(proc, "consoleSize", dict, None)
    adj = proc.get("oomScoreAdj")
    if adj is not None and not (isinstance(adj, int) and -1000 <= adj <= 1000):
        raise SpecError(f"process.oomScoreAdj {adj!r} must be an integer in [-1000, 1000]")
    return ProcessSpec(
        args=tuple(args), env=env, cwd=cwd, user=_user(_get(proc, "user", dict, {})),
        terminal=bool(proc.get("terminal", False)),
        console_size=(int(size.get("height", 0)), int(size.get("width", 0))) if size else None,
        rlimits=tuple(_rlimit(r) for r in _get(proc, "rlimits", list, [])),
        capabilities=_capabilities(_get(proc, "capabilities", dict, None)),
        no_new_privileges=bool(proc.get("noNewPrivileges", False)),
        oom_score_adj=adj,
    )


def _user(user: dict) -> User:
    def ident(key: str) -> int:
        value = user.get(key, 0)
        if not isinstance(value, int) or not 0 <= value < 2**32 - 1:
            raise SpecError(f"process.user.{key} {value!r} is not a valid id")
        return value

    gids = _get(user, "additionalGids", list, [])
    if not all(isinstance(g, int) and g >= 0 for g in gids):
        raise SpecError("process.user.additionalGids must be a list of ids")
    umask = user.get("umask")
    if umask is not None and not (isinstance(umask, int) and 0 <= umask <= 0o777):
        raise SpecError(f"process.user.umask {umask!r} must be in [0, 0o777]")
    return User(ident("uid"), ident("gid"), umask, tuple(gids))


def _rlimit(item: dict) -> Rlimit:
    name = item.get("type", "") if isinstance(item, dict) else ""
    number = getattr(resource, name, None) if name.startswith("RLIMIT_") else None
    if number is None:
        raise SpecError(f"process.rlimits: unknown limit {name!r}")
    soft, hard = item.get("soft"), item.get("hard")
    if not isinstance(soft, int) or not isinstance(hard, int) or soft > hard:
        raise SpecError(f"process.rlimits {name}: soft and hard must be integers, soft <= hard")
    return Rlimit(name, number, soft, hard)


def _capabilities(caps: dict | None) -> Capabilities | None:
    if caps is None:
        return None
    sets = {}
    for key in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        names = _get(caps, key, list, [])
        bad = [n for n in names if not (isinstance(n, str) and n.startswith("CAP_"))]
        if bad:
            raise SpecError(f"process.capabilities.{key}: {bad[0]!r} is not a capability name")
        sets[key] = frozenset(names)
    return Capabilities(**sets)


def _mount(item: dict, bundle: str) -> MountSpec:
    """One `mounts` entry as the VFS's MountSpec, checked (a relative bind
    source is relative to the bundle, as runc takes it)."""
    if not isinstance(item, dict):
        raise SpecError("mounts entries must be objects")
    dest = item.get("destination", "")
    if not isinstance(dest, str) or not dest.startswith("/"):
        raise SpecError(f"mount destination {dest!r} must be an absolute path")
    options = tuple(_get(item, "options", list, []))
    source = _get(item, "source", str, "")
    kind = _get(item, "type", str, "") or "none"
    spec = MountSpec(dest, kind, source, options)
    if spec.is_bind and source and not source.startswith("/"):
        spec = MountSpec(dest, kind, os.path.join(os.path.abspath(bundle), source), options)
    try:
        spec.check()
    except MountError as exc:
        raise SpecError(str(exc)) from None
    return spec


def _hooks(hooks: dict) -> dict[str, list[Hook]]:
    out: dict[str, list[Hook]] = {}
    for kind, items in hooks.items():
        if kind not in HOOK_KINDS:
            raise SpecError(f"hooks.{kind} is not a hook kind (known: {', '.join(HOOK_KINDS)})")
        if not isinstance(items, list):
            raise SpecError(f"hooks.{kind} must be a list")
        for item in items:
            path = item.get("path", "") if isinstance(item, dict) else ""
            if not path.startswith("/"):
                raise SpecError(f"hooks.{kind}: path {path!r} must be absolute")
            timeout = item.get("timeout")
            if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
                raise SpecError(f"hooks.{kind}: timeout must be a positive number of seconds")
            out.setdefault(kind, []).append(Hook(path, tuple(item.get("args") or [path]),
                                                 tuple(item.get("env") or []), timeout))
    return out


class CgroupSettings(collections.namedtuple(
        "CgroupSettings", "shares quota period reservation swappiness disable_oom_killer other",
        defaults=(None,) * 7)):
    """linux.resources values only the cgroup enforces, written as given
    (the sentry's view of the limits is SandboxLimits)."""
    __slots__ = ()
    # fields:
    # shares: int | None              # cpu.shares
    # quota: int | None               # cpu.cfs_quota_us (-1: none)
    # period: int | None              # cpu.cfs_period_us
    # reservation: int | None         # memory.soft_limit_in_bytes
    # swappiness: int | None          # memory.swappiness, 0-100
    # disable_oom_killer: bool | None  # memory.oom_control
    # other: dict | None              # blockIO, network, hugepageLimits, rdma, unified as
    #                                 # given (oci/cgroup.py writes them)


def resources(res: dict) -> tuple[SandboxLimits, CgroupSettings]:
    """linux.resources → what the sentry reports (and the cgroup enforces),
    and what only the cgroup enforces."""
    limits = SandboxLimits()
    memory = _get(res, "memory", dict, {})
    if memory.get("limit") is not None and memory["limit"] > 0:
        limits.memory_bytes = int(memory["limit"])
        swap = memory.get("swap")
        if swap is not None and swap > 0:
            if swap < limits.memory_bytes:
                raise SpecError("linux.resources.memory.swap is memory+swap and must be at "
                                "least memory.limit")
            limits.swap_bytes = int(swap) - limits.memory_bytes
    swappiness = memory.get("swappiness")
    if swappiness == -1:   # runc's "not set"
        swappiness = None
    if swappiness is not None and not 0 <= swappiness <= 100:
        raise SpecError(f"linux.resources.memory.swappiness {swappiness} is not in 0-100")
    cpu = _get(res, "cpu", dict, {})
    quota, period = cpu.get("quota"), cpu.get("period")
    if quota is not None and quota > 0:
        limits.cpus = quota / (period or 100000)
    if cpu.get("cpus"):
        limits.cpuset = parse_cpuset(cpu["cpus"])
    pids = _get(res, "pids", dict, {})
    if pids.get("limit") is not None and pids["limit"] > 0:
        limits.pids = int(pids["limit"])
    reservation = memory.get("reservation")
    settings = CgroupSettings(
        shares=int(cpu["shares"]) if cpu.get("shares") else None,
        quota=int(quota) if quota is not None and quota != 0 else None,
        period=int(period) if period else None,
        reservation=int(reservation) if reservation is not None and reservation != 0 else None,
        swappiness=int(swappiness) if swappiness is not None else None,
        disable_oom_killer=memory.get("disableOOMKiller"),
        other={key: res[key] for key in OTHER_RESOURCES if res.get(key)} or None)
    return limits, settings


# linux.resources the cgroup alone enforces, passed to it as given
OTHER_RESOURCES = ("blockIO", "network", "hugepageLimits", "rdma", "unified")


def parse_cpuset(text: str) -> tuple[int, ...]:
    cpus: set[int] = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise SpecError(f"linux.resources.cpu.cpus {text!r} is not a CPU list like 0-1,3")
    return tuple(sorted(cpus))


def _namespaces(items: list) -> tuple[str | None, bool]:
    """(the network namespace's path to join, whether to make a new one).

    As runc: a `network` entry with a path joins it, one without makes a
    new namespace, and no entry leaves the sandbox in the caller's."""
    netns, new = None, False
    for item in items:
        kind = item.get("type", "") if isinstance(item, dict) else ""
        path = item.get("path", "")
        if kind == "user":
            if path:
                raise SpecError(f"linux.namespaces: joining an existing user namespace ({path}) "
                                "is not supported: the sandbox's ids are its own")
            continue   # the mappings (linux.uidMappings, gidMappings) are the sentry's
        if kind not in OWN_NAMESPACES and kind != "time":
            raise SpecError(f"linux.namespaces: unknown namespace type {kind!r}")
        if kind == "network":
            netns, new = (path, False) if path else (None, True)
        elif path:
            raise SpecError(f"linux.namespaces: joining an existing {kind} namespace ({path}) "
                            "is not supported: each container is its own sandbox, so containers "
                            "share only a network namespace (several containers in one sandbox, "
                            "as a pod sharing pid, ipc or uts needs, is not built yet)")
    return netns, new


class SpecDevice(collections.namedtuple("SpecDevice", "path kind major minor mode uid gid")):
    """A linux.devices entry, checked: a node in the sandbox's /dev."""
    __slots__ = ()
    # fields:
    # path: str        # under /dev
    # kind: str        # "c" (or "u"), "b", "p"
    # major: int
    # minor: int
    # mode: int        # fileMode's permission bits
    # uid: int
    # gid: int


def _devices(items: list) -> list[SpecDevice]:
    """linux.devices as nodes of the sentry's devfs (sentry/fs/dev.py): a
    number it serves is that device; a FIFO is a FIFO; a number no host
    driver serves is a node whose open gives ENXIO, as on Linux. A device a
    host driver serves that the sentry does not (/dev/fuse, /dev/kvm, a
    disk) is refused: passing it through would hand the workload a host
    driver, and a node that cannot be opened would not be that device."""
    devices = []
    for item in items:
        if not isinstance(item, dict):
            raise SpecError("linux.devices: each entry must be an object")
        path = os.path.normpath(item.get("path", "") or "/")
        kind = item.get("type", "")
        if not path.startswith("/dev/") or path.startswith(("/dev/pts/", "/dev/shm/")):
            raise SpecError(f"linux.devices: {path!r}: the sandbox makes device nodes in /dev "
                            "only (not in /dev/pts or /dev/shm)")
        if kind not in ("c", "u", "b", "p"):
            raise SpecError(f"linux.devices: {path}: type {kind!r} is not c, u, b or p")
        try:
            major, minor = int(item.get("major", 0)), int(item.get("minor", 0))
            mode, uid, gid = (int(item.get(k) if item.get(k) is not None else d)
                              for k, d in (("fileMode", 0o666), ("uid", 0), ("gid", 0)))
        except (TypeError, ValueError):
            raise SpecError(f"linux.devices: {path}: major, minor, fileMode, uid and gid "
                            "must be numbers") from None
        kind = "c" if kind == "u" else kind
        if kind != "p" and (kind, major, minor) not in devnumbers.SERVED \
                and _host_driver(kind, major, minor):
            raise SpecError(f"linux.devices: {path} ({kind} {major}:{minor}) is a host device; "
                            "the sandbox serves its own null, zero, full, random, urandom, "
                            "tty, console and ptmx, and passes no host device through")
        devices.append(SpecDevice(path, kind, major, minor, mode & 0o7777, uid, gid))
    return devices


def _host_driver(kind: str, major: int, minor: int) -> bool:
    """Whether a host driver serves the device number (sysfs lists it)."""
    return os.path.exists(f"/sys/dev/{'block' if kind == 'b' else 'char'}/{major}:{minor}")


def _rootfs_propagation(value: str) -> str:
    """Shown in mountinfo (nothing mounts in the sandbox, so nothing
    propagates); an unknown value is refused, as runc refuses it."""
    if value and value not in PROPAGATION:
        raise SpecError(f"linux.rootfsPropagation: invalid value {value!r} "
                        f"(one of {', '.join(sorted(PROPAGATION))})")
    return value


def _id_mappings(linux: dict) -> tuple | None:
    """linux.uidMappings and gidMappings, with a user namespace entry, as
    ((container, host, size) ranges of uids, of gids); None without one.
    The sandbox's ids are the container's; the sentry translates owners
    where files cross from the host (sentry/idmap.py)."""
    user = any(isinstance(n, dict) and n.get("type") == "user"
               for n in _get(linux, "namespaces", list, []))
    given = {k: _get(linux, k, list, []) for k in ("uidMappings", "gidMappings")}
    if not user:
        if any(given.values()):
            raise SpecError("linux.uidMappings/gidMappings need a user entry in linux.namespaces")
        return None
    ranges = []
    for key, items in given.items():
        if not items:
            raise SpecError(f"linux.{key}: a user namespace needs its mappings")
        out = []
        for item in items:
            try:
                out.append((int(item["containerID"]), int(item["hostID"]), int(item["size"])))
            except (KeyError, TypeError, ValueError):
                raise SpecError(f"linux.{key}: each entry needs numbers containerID, hostID "
                                "and size") from None
        if any(size <= 0 or inside < 0 or outside < 0 for inside, outside, size in out):
            raise SpecError(f"linux.{key}: ids must not be negative, sizes must be positive")
        ranges.append(out)
    return tuple(ranges)


def _refuse_unknown_linux(linux: dict) -> None:
    for key in ("intelRdt", "personality"):
        if linux.get(key):
            raise SpecError(f"linux.{key} is not supported by runsc-py")


def _paths(linux: dict, key: str) -> list[str]:
    paths = _get(linux, key, list, [])
    if not all(isinstance(p, str) and p.startswith("/") for p in paths):
        raise SpecError(f"linux.{key} must be a list of absolute paths")
    return paths


def _str_dict(d: dict, where: str) -> dict[str, str]:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in d.items()):
        raise SpecError(f"{where} must map strings to strings")
    return dict(d)


def _get(d: dict, key: str, kind: type, default):
    value = d.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise SpecError(f"{key} must be a JSON {kind.__name__}, not {type(value).__name__}")
    return value
