"""Landlock: an unprivileged Linux process gives up file, TCP and signal access for good.

Landlock (Linux ≥ 5.13) lets any process, without root and without a user namespace, restrict
itself and every process it starts: after ``confine(...)`` it may open only files beneath the
paths it listed, bind or connect no TCP port (ABI ≥ 4, Linux 6.7), and signal or reach no
process outside its own sandbox (ABI ≥ 6, Linux 6.12; ptrace is restricted from ABI 1). The
three system calls are made through ``ctypes``: only the standard library is used, because
``sandbox_child.py`` imports this file under ``python -I -S``.
"""

import ctypes
import os
import sys

# System call numbers: the same on every architecture (they were added after the tables merged).
CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

# File access rights, by the ABI version that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER = 1 << 13  # ABI 2: link or rename into another folder
TRUNCATE = 1 << 14  # ABI 3
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE  # the rights a rule on a file may hold
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

READ = READ_FILE | READ_DIR
READ_EXECUTE = READ | EXECUTE


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is packed: 12 bytes
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _error(what: str) -> OSError:
    number = ctypes.get_errno()
    return OSError(number, f"{what}: {os.strerror(number)}")


def abi() -> tuple[int, str]:
    """The Landlock ABI version this kernel offers (0 if none) and, if none, why not."""
    if sys.platform != "linux":
        return 0, "Landlock is a Linux feature"
    libc = _libc()
    version = libc.syscall(CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
    if version > 0:
        return int(version), ""
    number = ctypes.get_errno()
    if number == 38:  # ENOSYS
        return 0, (
            "this kernel has no Landlock: it needs Linux 5.13 or newer built with "
            "CONFIG_SECURITY_LANDLOCK, or a container's seccomp profile hides its system calls"
        )
    if number == 95:  # EOPNOTSUPP
        return 0, (
            "Landlock is built into this kernel but switched off: add landlock to the lsm= "
            "kernel boot parameter (cat /sys/kernel/security/lsm lists the active ones)"
        )
    return 0, f"Landlock is not available ({os.strerror(number)})"


def fs_rights(version: int) -> int:
    """Every file access right this ABI version can restrict."""
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    return rights


def confine(rules: list[tuple[str, int]], version: int) -> dict[str, bool]:
    """Restrict this process for good to ``rules``: (path, rights) pairs, a folder's rights
    covering everything beneath it. Also refuses TCP (ABI ≥ 4) and signals and abstract
    sockets to processes outside the sandbox (ABI ≥ 6). Paths that do not exist are skipped.

    Returns what was restricted beyond files: ``{"tcp": ..., "scoped": ...}``.
    """
    if version < 1:
        raise OSError(38, "Landlock is not available")
    libc = _libc()
    handled = fs_rights(version)
    net = NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0
    attr = _RulesetAttr(handled, net, scoped)
    size = 24 if version >= 6 else 16 if version >= 4 else 8  # the struct grew with the ABI
    ruleset = libc.syscall(CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise _error("landlock_create_ruleset")
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:  # missing, or this user may not reach it: nothing to allow
                continue
            try:
                allowed = rights & handled
                if not os.path.isdir(path):
                    allowed &= FILE_RIGHTS
                rule = _PathBeneath(allowed, fd)
                if libc.syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) < 0:
                    raise _error(f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        if libc.syscall(RESTRICT_SELF, ruleset, 0) < 0:  # needs no_new_privs (or CAP_SYS_ADMIN)
            raise _error("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return {"tcp": bool(net), "scoped": bool(scoped)}
