"""Boxd, the sync client."""
from __future__ import annotations

from types import TracebackType
from typing import Optional, Type

from . import _convert
from ._config import PathOrPem, resolve
from ._pb import pb
from ._resources import Files, Machines, Proxies, Snapshots
from ._transport import Transport
from .types import Identity


class Boxd:
    """A client of the boxd API.

    Credentials and address come from the arguments, else from ``BOXD_API_KEY``, ``BOXD_TOKEN`` (an
    API key if it starts with ``bxd_``, else a JWT), ``BOXD_API_URL`` and ``BOXD_CA_CERT`` (a PEM
    file). Inside a boxd VM with none of them, it talks to the in-VM API, which knows the VM's
    owner by the VM's address. Thread-safe; close it (or use ``with``) when done.
    """

    def __init__(self, api_key: Optional[str] = None, token: Optional[str] = None, base_url: Optional[str] = None,
                 ca_cert: Optional[PathOrPem] = None) -> None:
        settings = resolve(api_key=api_key, token=token, base_url=base_url, ca_cert=ca_cert)
        self.base_url = settings.url
        self.in_vm = settings.in_vm
        self._transport = Transport(settings)
        self.machines = Machines(self._transport)
        self.files = Files(self._transport)
        self.proxies = Proxies(self._transport)
        self.snapshots = Snapshots(self._transport)

    def whoami(self) -> Identity:
        return _convert.identity(self._transport.unary("Whoami", pb.WhoamiRequest()))

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> "Boxd":
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Boxd(base_url={self.base_url!r})"
