"""Feeds added by chat users may not reach inside the network: table of addresses."""

from __future__ import annotations

import pytest

from bot.core.addresses import address_problem, addresses_problem


@pytest.mark.parametrize(("address", "words"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "metadata"), ("169.254.10.10", "link-local"), ("fe80::1%eth0", "link-local"),
    ("100.64.0.1", "carrier-grade"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("240.0.0.1", "reserved"),
    ("not-an-ip", "not an IP"),
])
def test_refused_addresses(address: str, words: str) -> None:
    problem = address_problem(address)
    assert problem is not None and words in problem


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


def test_allow_list_and_first_bad_address() -> None:
    assert addresses_problem("feeds.internal", ["10.0.0.5"], ["FEEDS.internal."]) is None
    problem = addresses_problem("evil.example", ["93.184.216.34", "10.0.0.5"], [])
    assert problem is not None and problem.startswith("evil.example resolves to 10.0.0.5 is a private")
