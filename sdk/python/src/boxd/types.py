"""What the SDK returns: plain dataclasses, detached from the generated protobuf classes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass(frozen=True)
class Machine:
    """A VM as GetVm reports it (every field of GetVmResponse, snake_case)."""

    vm_id: str
    name: str
    public_ip: str = ""
    status: str = ""
    org: str = ""
    billing_org: str = ""
    billing_org_id: str = ""
    isolated: bool = False
    url: str = ""
    ip: str = ""
    image: str = ""
    vcpus: int = 0
    memory_mib: int = 0
    disk_gb: int = 0
    created_at: str = ""
    auto_suspend_secs: int = 0
    detail: str = ""
    ssh: str = ""
    boot_time_ms: int = 0

    @property
    def id(self) -> str:
        return self.vm_id


@dataclass(frozen=True)
class ExecResult:
    """A finished command: its exit code and its output, stdout and stderr kept apart."""

    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def success(self) -> bool:
        return self.exit_code == 0

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ExecChunk:
    """One piece of a streaming exec: output (``stream`` is "stdout" or "stderr") or, last, the exit
    (``stream`` is "exit" and ``exit_code`` is set)."""

    stream: str
    data: bytes = b""
    exit_code: Optional[int] = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @property
    def is_exit(self) -> bool:
        return self.stream == "exit"


@dataclass(frozen=True)
class Proxy:
    """An HTTPS route to a port of a VM: ``https://DOMAIN`` reaches ``port``; the VM's own is ``default``."""

    name: str
    vm_name: str
    domain: str
    port: int


@dataclass(frozen=True)
class Snapshot:
    id: str
    name: str
    vm: str
    created_at: str
    size_bytes: int = 0


@dataclass(frozen=True)
class DirEntry:
    name: str
    type: str
    size: int
    mode: int
    modified_at: str


@dataclass(frozen=True)
class Identity:
    """Who the client is: ``whoami()``."""

    user_id: str
    name: str = ""
    key_fingerprints: List[str] = field(default_factory=list)
