"""Where the API is and who the client is: arguments first, then the environment, then (inside a
boxd VM with nothing configured) the in-VM API, which knows the VM by its address."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Union
from urllib.parse import urlsplit

from .errors import ConfigurationError

AGENT_PATH = "/usr/local/bin/boxd-agent"
ROUTE_TABLE = "/proc/net/route"
IN_VM_PORT = 9003
# The port BoxdApi is served on (SPEC §12) when a URL names none.
DEFAULT_TLS_PORT = 9443
API_KEY_PREFIX = "bxd_"

PathOrPem = Union[str, bytes, os.PathLike]


@dataclass(frozen=True)
class Settings:
    """A resolved client configuration. ``target`` is ``host:port`` for grpc; ``url`` is for messages."""

    url: str
    target: str
    tls: bool
    api_key: Optional[str] = None
    token: Optional[str] = None
    ca_pem: Optional[bytes] = None
    in_vm: bool = False


def resolve(
    api_key: Optional[str] = None,
    token: Optional[str] = None,
    base_url: Optional[str] = None,
    ca_cert: Optional[PathOrPem] = None,
    env: Optional[Mapping[str, str]] = None,
    agent_path: str = AGENT_PATH,
    route_table: str = ROUTE_TABLE,
) -> Settings:
    env = os.environ if env is None else env
    api_key = api_key or env.get("BOXD_API_KEY") or None
    token = token or None
    if not api_key and not token:
        # BOXD_TOKEN holds either kind (SPEC §12): an API key by its prefix, else a JWT.
        from_env = env.get("BOXD_TOKEN") or None
        if from_env and from_env.startswith(API_KEY_PREFIX):
            api_key = from_env
        else:
            token = from_env
    base_url = base_url or env.get("BOXD_API_URL") or None
    ca_cert = ca_cert or env.get("BOXD_CA_CERT") or None

    if not base_url and not api_key and not token and os.path.exists(agent_path):
        gateway = default_gateway(_read(route_table))
        return Settings(url=f"http://{gateway}:{IN_VM_PORT}", target=f"{gateway}:{IN_VM_PORT}", tls=False, in_vm=True)
    if not base_url:
        raise ConfigurationError(
            "no API URL: pass base_url= or set BOXD_API_URL (such as https://boxd.example.com:9443)")
    url, target, tls = parse_url(base_url)
    if tls and not api_key and not token:
        raise ConfigurationError(
            f"no credentials for {url}: pass api_key= or token=, or set BOXD_API_KEY or BOXD_TOKEN")
    return Settings(url=url, target=target, tls=tls, api_key=api_key, token=token,
                    ca_pem=_ca_pem(ca_cert) if tls else None)


def parse_url(base_url: str) -> "tuple[str, str, bool]":
    """``https://host[:port]`` (TLS, port 9443 unless given), ``http://host:port`` (plaintext, such as
    the in-VM API) or a bare ``host:port`` (TLS). Returns the normalised URL, the grpc target and TLS."""
    text = base_url.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"API URL {base_url!r} is not https://HOST[:PORT] or http://HOST:PORT (nothing after the port)")
    tls = parts.scheme == "https"
    try:
        port = parts.port
    except ValueError as e:
        raise ConfigurationError(f"API URL {base_url!r} has a bad port: {e}") from None
    if port is None:
        if not tls:
            raise ConfigurationError(f"API URL {base_url!r}: a plaintext URL needs its port (http://HOST:PORT)")
        port = DEFAULT_TLS_PORT
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}:{port}", f"{shown}:{port}", tls


def default_gateway(route_table: str) -> str:
    """The gateway of the default IPv4 route in the text of /proc/net/route (hex, little endian)."""
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        destination, gateway, flags = fields[1], fields[2], int(fields[3], 16)
        # RTF_UP (1) and RTF_GATEWAY (2) on a route to 0.0.0.0.
        if destination == "00000000" and flags & 0x3 == 0x3 and gateway != "00000000":
            raw = bytes.fromhex(gateway)
            return ".".join(str(b) for b in reversed(raw))
    raise ConfigurationError(
        "inside a boxd VM but no default route in /proc/net/route: set BOXD_API_URL (and a key) to reach the API")


def _ca_pem(ca_cert: Optional[PathOrPem]) -> Optional[bytes]:
    if ca_cert is None:
        return None
    if isinstance(ca_cert, bytes):
        return ca_cert
    if isinstance(ca_cert, str) and ca_cert.lstrip().startswith("-----BEGIN"):
        return ca_cert.encode("ascii")
    path = Path(ca_cert)
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigurationError(f"cannot read the CA certificate {str(path)!r} (ca_cert / BOXD_CA_CERT): {e.strerror}") from None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise ConfigurationError(f"cannot read {path} to find the in-VM API: {e.strerror}") from None
