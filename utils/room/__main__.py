"""Command line: ``python -m utils.room start | watch | revoke NAME... | list``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils.local_model import LocalModelError
from utils.paths import cache_dir
from utils.room.roster import RoomFiles, RosterError, without
from utils.room.server import DEFAULT_PARALLEL, DEFAULT_PORT, LOOPBACK, RoomError, read_info, run
from utils.room.watch import watch


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m utils.room", description="One model server for a whole workshop room."
    )
    parser.add_argument("--dir", type=Path, default=None,
                        help="the room's folder (default: COOKBOOK_STATE_DIR/room)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="serve the room until Ctrl-C")
    start.add_argument("--learners", type=int, default=10,
                       help="at least this many learner keys (existing ones are kept)")  # fmt: skip
    start.add_argument("--host", default=None,
                       help=f"address to listen on (default {LOOPBACK}: this machine only; "
                            "0.0.0.0 for every network it is on)")  # fmt: skip
    start.add_argument("--port", type=int, default=DEFAULT_PORT)
    start.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL,
                       help="requests decoded together (request slots)")  # fmt: skip
    start.add_argument("--threads", type=int, default=0,
                       help="CPU threads that decode (default: one per core; fewer on a machine "
                            "that also runs other work)")  # fmt: skip
    start.add_argument("--show-keys", action="store_true",
                       help="also print every learner's key (by default they are only in the "
                            "mode-600 learners.csv: never on a projected screen)")  # fmt: skip
    start.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)  # the default now
    start.add_argument("--tls-cert", type=Path, default=None,
                       help="serve HTTPS with this PEM certificate (with --tls-key)")  # fmt: skip
    start.add_argument("--tls-key", type=Path, default=None,
                       help="the certificate's private key (PEM, not encrypted)")  # fmt: skip
    view = commands.add_parser("watch", help="live view: in flight, queue, tokens/s, errors")
    view.add_argument("--interval", type=float, default=2.0, help="seconds between lines")
    view.add_argument("--count", type=int, default=None, help="stop after this many lines")
    revoke = commands.add_parser("revoke", help="remove learners' keys (the room restarts its engine)")
    revoke.add_argument("names", nargs="+", help="learner names, as in learners.csv")
    commands.add_parser("list", help="the learners and where the room serves (no keys)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    files = RoomFiles(args.dir or cache_dir() / "room")
    try:
        if args.command == "start":
            if args.learners < 1 or args.parallel < 1 or args.threads < 0:
                print("--learners and --parallel must be at least 1, --threads at least 0.",
                      file=sys.stderr)  # fmt: skip
                return 2
            if (args.tls_cert is None) != (args.tls_key is None):
                print("--tls-cert and --tls-key go together.", file=sys.stderr)
                return 2
            host = args.host or LOOPBACK  # only an explicit --host reaches beyond this machine
            tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
            return run(files, args.learners, host, args.port, args.parallel, args.threads,
                       show_keys=args.show_keys, tls=tls)  # fmt: skip
        info = read_info(files)
        if args.command == "watch":
            if info is None:
                print(f"No room is running from {files.folder}. Start one: python -m utils.room start",
                      file=sys.stderr)  # fmt: skip
                return 1
            watch(info.local_url, files.instructor(), Path(info.log_path), info.parallel,
                  interval=args.interval, count=args.count)  # fmt: skip
        elif args.command == "revoke":
            learners = without(files.learners(), args.names)
            base_url = info.base_url if info else _recorded_url(files)
            files.save(learners, base_url)
            print(f"Revoked {', '.join(args.names)}; {len(learners)} learners keep their keys.")
            print("The running room restarts its engine with the remaining keys (a few seconds; "
                  "requests in flight are cut)." if info else "No room is running; the next start uses the remaining keys.")  # fmt: skip
        elif args.command == "list":
            learners = files.learners()
            where = f"serving at {info.base_url}" if info else "not running"
            print(f"Room in {files.folder}: {where}; {len(learners)} learners:")
            print("\n".join(f"  {learner.name}" for learner in learners))
    except (RoomError, RosterError, LocalModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _recorded_url(files: RoomFiles) -> str:
    """The base URL in the handout CSV (the last room's), for rewriting it unchanged."""
    import csv

    with open(files.learners_csv, newline="") as file:
        rows = list(csv.DictReader(file))
    return rows[0]["OPENAI_BASE_URL"] if rows else f"http://{LOOPBACK}:{DEFAULT_PORT}/v1"


if __name__ == "__main__":
    raise SystemExit(main())
