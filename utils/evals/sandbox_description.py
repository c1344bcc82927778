"""``describe_sandbox()``: which of the sandbox's protections this machine enforces, in words."""

from __future__ import annotations

import sys

from utils.evals.sandbox import DEFAULT_LIMITS, SHARED_FOLDERS, SandboxFeatures, sandbox_features
from utils.settings import world_readable_dotenv

YES, NO = "✔", "✘"


def describe_sandbox() -> str:
    """Say, one line each, which protections the sandbox enforces on this machine and how."""
    f, limits = sandbox_features(), DEFAULT_LIMITS
    lines = [
        f"Sandbox on this machine ({f.platform}, {'root' if f.as_root else 'not root'}):",
        f"  {YES} separate process, fresh temporary folder, environment with PATH only (no API keys)",
        f"  {YES} isolated interpreter: Python {f.python_version} -I -S (standard library only)"
        + (
            ""
            if f.python == sys.executable
            else f" via {f.python} (the throwaway user cannot read yours)"
        ),
        f"  {YES} wall-clock timeout; output capped at {limits.output_chars:,} characters per stream",
    ]
    lines.append(
        f"  {YES} memory ≤ {limits.memory_mb} MB (address space)"
        if f.memory
        else f"  {NO} memory NOT limited: this OS refused RLIMIT_AS"
    )
    if f.limits:
        lines += [
            f"  {YES} CPU time ≤ timeout + 1 s, files ≤ {limits.file_size_mb} MB, no core dumps",
            f"  {YES} ≤ {limits.max_processes} processes " + _process_count_scope(f),
        ]
    else:
        lines.append(f"  {NO} CPU, process and file-size limits could not be set on this OS")
    lines += [_user_line(f), *_files_lines(f), _network_line(f), _processes_line(f)]
    lines.append(
        f"  {YES} cannot gain privileges (no_new_privs: setuid programs do not elevate)"
        if f.no_new_privileges
        else f"  {NO} no_new_privs not available"
    )
    lines.append(
        f"  {YES} \"passed\" needs a token in no file, argument, environment variable or output "
        "of the program (its runner gets it over a pipe, writes it back after the last line); code "
        "written to attack this harness could still find it in the interpreter they share"
    )
    if f.refusal:
        lines.append(f"  {NO} {f.refusal}")
    return "\n".join(lines)


def _user_line(f: SandboxFeatures) -> str:
    if f.own_user:
        return (
            f"  {YES} runs as a throwaway user id: cannot change your files; whatever it leaves "
            f"running or in {', '.join(SHARED_FOLDERS)} is removed"
        )
    if f.files_confined:
        return (
            f"  {NO} runs as you (only root can switch users), confined by the lines below; "
            "processes that leave its process group survive"
        )
    return (
        f"  {NO} runs as you (only root can switch users): it can read and write what you "
        "can, your .env included; processes that leave its process group survive"
    )


def _files_lines(f: SandboxFeatures) -> list[str]:
    """Which files the program may open (measured by the probe)."""
    how = f"Landlock ABI {f.landlock_abi}" if f.landlock else "sandbox-exec, deny by default"
    if f.files_confined:
        return [
            f"  {YES} opens only Python's standard library, the system's shared libraries and its "
            f"own folder, which is the only place it may write ({how}): your .env, ~/.ssh and "
            "/proc/<pid>/environ are out of reach"
        ]
    lines = [f"  {NO} files NOT confined: {f.landlock_note or 'sandbox-exec did not run'}"]
    if f.own_user:
        lines[0] += "; it can read any file that every user may read"
        exposed = world_readable_dotenv()
        if exposed:
            lines.append(
                f"  {NO} and {exposed} is readable by every user, so sandboxed code could read "
                f"the key in it: run  chmod 600 {exposed}"
            )
    return lines


def _network_line(f: SandboxFeatures) -> str:
    """Whether the program reaches any network, and by which means it is kept off."""
    if not f.no_network:
        return f"  {NO} network NOT blocked: the probe reached a port on this machine"
    means = []
    if f.no_sockets:
        means.append("every new socket refused (seccomp)")
    if f.network_namespace:
        means.append("its own empty network namespace")
    if f.landlock and f.landlock_abi >= 4:
        means.append("TCP refused (Landlock)")
    if f.seatbelt:
        means.append("no network rule in its profile (sandbox-exec)")
    return f"  {YES} no network, not even loopback: " + ", ".join(means)


def _processes_line(f: SandboxFeatures) -> str:
    """Whether it can reach your other processes (signals, memory), as the probe measured."""
    if f.signals_confined and f.memory_confined:
        why = "another user id" if f.own_user else f"Landlock ABI {f.landlock_abi}"
        return f"  {YES} cannot signal your processes or read their memory ({why})"
    reach = []
    if not f.signals_confined:
        reach.append("signal")
    if not f.memory_confined:
        reach.append("read the memory of")
    hint = ""
    if not f.signals_confined and f.landlock:
        hint = " (Landlock's signal scoping needs ABI 6, Linux 6.12)"
    return f"  {NO} can {' and '.join(reach)} your other processes{hint}"


def _process_count_scope(f: SandboxFeatures) -> str:
    """What RLIMIT_NPROC counts here: the run's own processes, or all of yours."""
    if f.own_user:
        return "(counted for its own user id)"
    if f.network_namespace:  # not root: the network namespace came with a user namespace
        return "(counted inside its own user namespace)"
    return "(counted over ALL your processes, so usually it cannot start any)"
