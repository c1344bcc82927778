"""``describe_sandbox()``: which of the sandbox's protections this machine enforces, in words."""

from __future__ import annotations

import sys

from utils.evals.sandbox import DEFAULT_LIMITS, SHARED_FOLDERS, SandboxFeatures, sandbox_features
from utils.settings import world_readable_dotenv


def describe_sandbox() -> str:
    """Say, one line each, which protections the sandbox enforces on this machine and how."""
    f, limits = sandbox_features(), DEFAULT_LIMITS
    yes, no = "✔", "✘"
    lines = [
        f"Sandbox on this machine ({f.platform}, {'root' if f.as_root else 'not root'}):",
        f"  {yes} separate process, fresh temporary folder, environment with PATH only (no API keys)",
        f"  {yes} isolated interpreter: Python {f.python_version} -I -S (standard library only)"
        + (
            ""
            if f.python == sys.executable
            else f" via {f.python} (the throwaway user cannot read yours)"
        ),
        f"  {yes} wall-clock timeout; output capped at {limits.output_chars:,} characters per stream",
    ]
    lines.append(
        f"  {yes} memory ≤ {limits.memory_mb} MB (address space)"
        if f.memory
        else f"  {no} memory NOT limited: this OS refused RLIMIT_AS"
    )
    if f.limits:
        lines += [
            f"  {yes} CPU time ≤ timeout + 1 s, files ≤ {limits.file_size_mb} MB, no core dumps",
            f"  {yes} ≤ {limits.max_processes} processes " + _process_count_scope(f),
        ]
    else:
        lines.append(f"  {no} CPU, process and file-size limits could not be set on this OS")
    if f.own_user:
        lines.append(
            f"  {yes} runs as a throwaway user id: cannot read or change your files; "
            f"whatever it leaves running or in {', '.join(SHARED_FOLDERS)} is removed"
        )
        exposed = world_readable_dotenv()
        if exposed:
            lines.append(
                f"  {no} but {exposed} is readable by every user, so sandboxed code could read "
                f"the key in it: run  chmod 600 {exposed}"
            )
    else:
        lines.append(
            f"  {no} runs as you (only root can switch users): it can read and write what you "
            "can, your .env included; processes that leave its process group survive"
        )
    lines.append(
        f"  {yes} no network: its own empty network namespace"
        if f.no_network
        else f"  {no} network NOT blocked: this OS does not allow a private network namespace"
    )
    lines.append(
        f"  {yes} cannot gain privileges (no_new_privs: setuid programs do not elevate)"
        if f.no_new_privileges
        else f"  {no} no_new_privs not available"
    )
    return "\n".join(lines)


def _process_count_scope(f: SandboxFeatures) -> str:
    """What RLIMIT_NPROC counts here: the run's own processes, or all of yours."""
    if f.own_user:
        return "(counted for its own user id)"
    if f.no_network:  # not root: the network namespace came with a user namespace
        return "(counted inside its own user namespace)"
    return "(counted over ALL your processes, so usually it cannot start any)"
