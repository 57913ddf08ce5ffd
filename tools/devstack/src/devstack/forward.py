"""A tiny TCP forwarder: `python -m devstack.forward LISTEN_IP:PORT=TARGET_IP:PORT ... --marker DIR`.

The stack's servers (apiserver, MinIO, PostgreSQL) listen on 127.0.0.1, which inside a pod is the pod itself.
The real node runs one of these on its own address so pods reach them; bytes are copied as they are (TLS stays
end to end). `--marker` only names the stack's data directory so devstack recognises its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib


def parse_rule(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """ "198.18.0.1:19000=127.0.0.1:19000" -> (("198.18.0.1", 19000), ("127.0.0.1", 19000))."""
    listen, sep, target = text.partition("=")
    if not sep:
        raise ValueError(f"not LISTEN=TARGET: {text!r}")

    def address(part: str) -> tuple[str, int]:
        host, colon, port = part.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(f"not HOST:PORT: {part!r}")
        return host, int(port)

    return address(listen), address(target)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _serve(listen: tuple[str, int], target: tuple[str, int]) -> asyncio.Server:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        for writer in (client_writer, upstream_writer):
            writer.close()

    return await asyncio.start_server(handle, *listen, reuse_address=True)


async def _main(rules: list[str]) -> None:
    servers = [await _serve(*parse_rule(rule)) for rule in rules]
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(prog="devstack.forward")
    parser.add_argument("rules", nargs="+", metavar="LISTEN_IP:PORT=TARGET_IP:PORT")
    parser.add_argument("--marker", default="")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.rules))


if __name__ == "__main__":
    main()
