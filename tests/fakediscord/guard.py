"""Fail any test that tries to reach a non-loopback address.

The fake only works if every byte stays on 127.0.0.1; a leaked default (a hard-coded
``discord.com`` URL, a CDN fetch, a telemetry ping) would otherwise hang until a timeout on this
offline machine, or silently hit the real service elsewhere. The guard wraps socket ``connect``,
``connect_ex`` and ``getaddrinfo`` (asyncio's connections bottom out in these), raises
immediately and records the attempt so the fixture can fail the test even if the caller
swallowed the OSError (discord.py retries on OSError).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

LOCAL_HOSTNAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class ExternalNetworkBlocked(ConnectionRefusedError):
    """A test tried to connect to something other than loopback."""


class NetworkGuard:
    """Records and blocks non-loopback connects and name lookups while installed."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[NetworkGuard]:
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_getaddrinfo = socket.getaddrinfo
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check(sock.family, address)
            original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check(sock.family, address)
            return original_connect_ex(sock, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if not _is_local_host(host):
                guard.violations.append(f"getaddrinfo({host!r}, {port!r})")
                raise socket.gaierror(socket.EAI_NONAME, f"external lookup blocked: {host!r}")
            return original_getaddrinfo(host, port, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo
        try:
            yield self
        finally:
            socket.socket.connect = original_connect  # type: ignore[method-assign]
            socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
            socket.getaddrinfo = original_getaddrinfo

    def _check(self, family: int, address: Any) -> None:
        if family == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) and address else address
        if not _is_local_host(host):
            self.violations.append(f"connect({address!r})")
            raise ExternalNetworkBlocked(f"connection to non-loopback address {address!r} blocked")


def _is_local_host(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    text = str(host).strip("[]").split("%", 1)[0]
    if text.lower() in LOCAL_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False
