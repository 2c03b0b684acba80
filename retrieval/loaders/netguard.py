"""Which addresses a fetch may reach, and a resolver that pins connections to checked addresses.

Refusing private space stops a user from making the bot read internal services (SSRF). The
resolver checks each address it returns, so aiohttp connects only to addresses that passed the
check: a second DNS answer (DNS rebinding) never gets used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 (RFC 6052) embeds an IPv4 address in the last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


# What every refusal of a private address ends with: the setting that allows it.
ALLOW_PRIVATE_HINT = "set NEWSDESK_ALLOW_PRIVATE_URLS=1 to allow private addresses"


def refused(what: str) -> str:
    """The one-line refusal of a private address: `what` is, which is refused (the setting)."""
    return f"{what}, which is refused ({ALLOW_PRIVATE_HINT})"


class BlockedAddressError(OSError):
    """A host that resolves to an address fetches may not reach."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is off limits ('a loopback address'...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return refusal_reason(embedded)
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


def parse_ip(text: str) -> IPAddress | None:
    """The address if ``text`` is an IP literal (IPv6 zone ids allowed), else None."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """Resolves once, refuses the host if any of its addresses is off limits."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family)
        except socket.gaierror as exc:
            raise OSError(f"cannot resolve {host}: {exc.strerror}") from exc
        results: list[ResolveResult] = []
        for fam, _type, proto, _canon, sockaddr in infos:
            address = str(sockaddr[0])
            ip = parse_ip(address)
            if ip is None:
                raise BlockedAddressError(f"{host} resolved to something that is not an address")
            reason = refusal_reason(ip)
            if reason is not None and not self._allow_private:
                raise BlockedAddressError(refused(f"{host} resolves to {reason} ({ip})"))
            results.append(
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=int(sockaddr[1]),
                    family=fam,
                    proto=proto,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not results:
            raise OSError(f"cannot resolve {host}: no addresses")
        return results

    async def close(self) -> None:
        """Nothing to release: getaddrinfo runs in the loop's default executor."""
