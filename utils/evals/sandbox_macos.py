"""macOS: the sandbox profile ``sandbox-exec`` applies to a program (deny by default).

The profile allows what an isolated interpreter needs and nothing else: reading and running
Python's own install, reading the system's libraries, reading and writing its work folder,
``/dev/null`` and the random devices. Everything not allowed is denied: other files, the
network (no rule allows it), other processes. Paths are resolved first, because macOS
rules match real paths (``/var`` is ``/private/var``). Only the standard library is used.
"""

import os

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
SYSTEM_READ = ("/usr/lib", "/System", "/Library/Apple/System/Library", "/private/var/db/dyld")
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")


def _quoted(path: str) -> str:
    return '"' + os.path.realpath(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def profile(python_install: list[str], work: str) -> str:
    """The SBPL profile for a program run by the interpreter under ``python_install``."""
    install = " ".join(f"(subpath {_quoted(p)})" for p in python_install)
    system = " ".join(f"(subpath {_quoted(p)})" for p in SYSTEM_READ)
    devices = " ".join(f"(literal {_quoted(p)})" for p in DEVICES)
    return "\n".join([
        "(version 1)",
        "(deny default)",
        f"(allow process-exec {install})",
        "(allow process-fork)",
        "(allow signal (target self))",
        "(allow sysctl-read)",
        "(allow file-read-metadata)",  # stat() on any path: path lookups need it; no contents
        f"(allow file-read* {install} {system} {devices} (subpath {_quoted(work)}))",
        f"(allow file-write* (subpath {_quoted(work)}) (literal \"/dev/null\"))",
    ])  # fmt: skip


def command(python_install: list[str], work: str, argv: list[str]) -> list[str]:
    """``argv`` run under the profile by ``sandbox-exec``."""
    return [SANDBOX_EXEC, "-p", profile(python_install, work), *argv]
