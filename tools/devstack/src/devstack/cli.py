"""`devstack up|down|status|install|restart|kill|env`: one command for the local stack."""

from __future__ import annotations

import argparse
import sys
import time

from devstack import stack
from devstack.errors import StackError
from devstack.settings import ConfigError, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("up", "install what is missing, start the servers and wait until healthy (default: kafka minio postgres)"),
        ("down", "stop the servers this stack started (default: all)"),
        ("install", "fetch and build only"),
        ("restart", "stop then start the named servers"),
        ("kill", "SIGKILL the named servers (fault tests)"),
    ]:
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("servers", nargs="*")
    sub.add_parser("status", help="each server with its address and health; exit 1 if any is not healthy")
    sub.add_parser("env", help="print the env file's path")
    return parser


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command == "up":
        began = time.monotonic()
        for server in stack.up(settings, args.servers):
            print(f"{server.name:9} {server.address():28} healthy")
        print(f"stack up in {time.monotonic() - began:.1f}s; env file: {settings.env_file}")
    elif args.command == "down":
        stopped = stack.down(settings, args.servers)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    elif args.command == "install":
        for server in stack.select(settings, args.servers):
            server.install()
            print(f"{server.name}: installed")
    elif args.command in ("restart", "kill"):
        for server in stack.select(settings, args.servers):
            if args.command == "kill" and hasattr(server, "kill"):
                server.kill()
            else:
                server.stop()
            if args.command == "restart":
                server.start()
        stack.refresh_env_file(settings)
    elif args.command == "status":
        rows = stack.status(settings)
        for name, address, state in rows:
            print(f"{name:9} {address:28} {state}")
            if state != "stopped":
                for line in stack.all_servers(settings)[name].details():
                    print(f"{'':9} {line}")
        return (
            0
            if all(state == "healthy" for _, _, state in rows if state != "stopped")
            and any(state == "healthy" for _, _, state in rows)
            else 1
        )
    elif args.command == "env":
        print(settings.env_file)
    return 0


def main() -> None:
    try:
        sys.exit(run(sys.argv[1:]))
    except (StackError, ConfigError) as error:
        print(f"devstack: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
