"""Test-wide settings. The network guard (pytest-socket, allowed hosts 127.0.0.1/::1 only) is
switched on in pyproject's addopts, so any test reaching beyond loopback fails."""
