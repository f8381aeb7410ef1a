"""Which network addresses a feed added by a chat user may point at (a pure check).

A feed URL typed into a slash command must not make the bot fetch from inside the operator's
network: loopback, private ranges, link-local (and the cloud metadata address inside it),
carrier-grade NAT, multicast, reserved and unspecified addresses are refused unless the host is
allow-listed in config (access.allow_private_hosts).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")


def address_problem(address: str) -> str | None:
    """Plain words for why `address` is not a public unicast address, or None when it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        (ip in METADATA, "a cloud metadata address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT, "a carrier-grade NAT address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private-network address"),
    )
    for hit, words in checks:
        if hit:
            return f"{ip} is {words}"
    return None


def host_allowed(host: str, allow: Iterable[str]) -> bool:
    h = host.lower().strip("[]").rstrip(".")
    return any(h == a.lower().strip("[]").rstrip(".") for a in allow)


def addresses_problem(host: str, addresses: Iterable[str], allow: Iterable[str]) -> str | None:
    """The first refused address a host resolved to (None: all public, or host allow-listed)."""
    if host_allowed(host, allow):
        return None
    for a in addresses:
        if problem := address_problem(a):
            return f"{host} resolves to {problem}; feeds added by command may only point at public addresses"
    return None
