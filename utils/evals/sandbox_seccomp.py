"""seccomp: an unprivileged Linux process refuses itself chosen system calls, for good.

``deny({"socket": errno.EPERM})`` installs a small BPF filter: from then on, in this
process and every process it starts, those calls fail with an error instead of running.
The sandbox uses it to refuse every new socket (TCP, UDP, Unix: no network at all), and
tests use it to take user namespaces away (``unshare``), as a container's profile does.
A call made through another architecture's system call table (32-bit calls on x86-64) ends
the process. Only the standard library is used (``sandbox_child.py`` runs under ``-I -S``).
"""

import ctypes
import errno
import os
import platform
import sys

# Per architecture: its AUDIT_ARCH value and the numbers of the calls this module can deny.
ARCHITECTURES = {
    "x86_64": (0xC000003E, {"socket": 41, "unshare": 272, "clone3": 435, "io_uring_setup": 425,
                            "landlock_create_ruleset": 444}),  # fmt: skip
    "aarch64": (0xC00000B7, {"socket": 198, "unshare": 97, "clone3": 435, "io_uring_setup": 425,
                             "landlock_create_ruleset": 444}),  # fmt: skip
}
X32_BIT = 0x40000000  # x86-64's x32 calls: numbers with this bit set

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06  # BPF opcodes
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
NR_OFFSET, ARCH_OFFSET = 0, 4  # in struct seccomp_data


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]  # fmt: skip


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def available() -> bool:
    """True on Linux, on an architecture whose system call numbers this module knows."""
    return sys.platform == "linux" and platform.machine() in ARCHITECTURES


def program(denied: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """The BPF filter: each call in ``denied`` fails with its errno; everything else runs."""
    arch, numbers = ARCHITECTURES[platform.machine()]
    unknown = sorted(set(denied) - set(numbers))
    if unknown:
        raise ValueError(f"no system call number known for {unknown} on {platform.machine()}")
    code = [
        (LD_W_ABS, 0, 0, ARCH_OFFSET),
        (JEQ_K, 1, 0, arch),  # this architecture's table: go on
        (RET_K, 0, 0, RET_KILL_PROCESS),  # another table (32-bit calls): stop at once
        (LD_W_ABS, 0, 0, NR_OFFSET),
    ]
    if platform.machine() == "x86_64":
        code += [(JGE_K, 0, 1, X32_BIT), (RET_K, 0, 0, RET_KILL_PROCESS)]
    for name, number in denied.items():
        code += [(JEQ_K, 0, 1, numbers[name]), (RET_K, 0, 0, RET_ERRNO | number)]
    return code + [(RET_K, 0, 0, RET_ALLOW)]


def deny(errors: dict[str, int]) -> None:
    """From now on, each system call named in ``errors`` fails with its errno instead of running."""
    if not available():
        raise OSError(errno.ENOSYS, f"seccomp filters are not written for {platform.machine()}")
    code = program(errors)
    instructions = (_Instruction * len(code))(*(_Instruction(*line) for line in code))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:  # an unprivileged filter requires it
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    filter_program = _Program(len(code), instructions)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(filter_program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"seccomp: {os.strerror(ctypes.get_errno())}")


def refuse_sockets() -> None:
    """No new socket of any kind (``socket()`` fails with EPERM), and no io_uring, which could
    open one without calling ``socket()``. ``socketpair()`` still works: it reaches nothing."""
    deny({"socket": errno.EPERM, "io_uring_setup": errno.EPERM})


def refuse_user_namespaces() -> None:
    """No new user namespace, as under Docker's default seccomp profile: ``unshare`` fails with
    EPERM and ``clone3`` with ENOSYS (so the C library falls back to plain ``clone``)."""
    deny({"unshare": errno.EPERM, "clone3": errno.ENOSYS})
