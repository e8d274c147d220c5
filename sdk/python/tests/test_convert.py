import shlex

import pytest

from boxd import _convert
from boxd._pb import pb
from boxd.types import Machine


def test_a_machine_has_every_field_of_get_vm_response():
    fields = [f.name for f in pb.GetVmResponse.DESCRIPTOR.fields]
    assert sorted(Machine.__dataclass_fields__) == sorted(fields)
    vm = pb.GetVmResponse(vm_id="v1", name="app", status="running", isolated=True, vcpus=2, boot_time_ms=160)
    m = _convert.machine(vm)
    assert (m.id, m.name, m.status, m.isolated, m.vcpus, m.boot_time_ms) == ("v1", "app", "running", True, 2, 160)


def test_an_argv_list_is_quoted_so_the_shell_runs_it_unchanged():
    argv = ["sh", "-c", "echo \"$1\"; exit 3", "x", "it's $HOME; rm -rf /"]
    command = _convert.shell_command(argv)
    assert command == shlex.join(argv)
    assert shlex.split(command) == argv
    assert _convert.shell_command("echo hi | wc -c") == "echo hi | wc -c"
    with pytest.raises(ValueError):
        _convert.shell_command([])


def test_only_the_sizes_given_are_sent_and_zero_is_sent_as_set():
    bare = _convert.create_request("app", False, None, None, None, None, None)
    assert not bare.HasField("vcpus") and not bare.HasField("auto_suspend_timeout_secs")
    sized = _convert.create_request("app", True, "snap", "img", 2, 1024, 0)
    assert sized.HasField("auto_suspend_timeout_secs") and sized.auto_suspend_timeout_secs == 0
    assert (sized.vcpus, sized.memory_mib, sized.isolated, sized.from_snapshot, sized.image) == (2, 1024, True, "snap", "img")
    fork = _convert.fork_request("src", None, 0)
    assert fork.HasField("auto_suspend_timeout_secs") and fork.name == ""


def test_the_exec_start_carries_command_env_and_timeout():
    start = _convert.exec_start("vm", ["printf", "%s", "a b"], {"K": "V"}, 5)
    assert (start.vm_id, start.command, dict(start.env), start.timeout_secs) == ("vm", "printf %s 'a b'", {"K": "V"}, 5)


def test_an_upload_names_the_file_in_the_first_chunk_only_and_an_empty_file_still_is_one_chunk():
    chunks = list(_convert.upload_chunks("vm", "f.bin", iter([b"ab", b"cd"]), 0o600))
    assert [(c.vm_id, c.path, c.mode, c.data) for c in chunks] == [("vm", "f.bin", 0o600, b"ab"), ("", "", 0, b"cd")]
    empty = list(_convert.upload_chunks("vm", "empty", iter([]), 0))
    assert [(c.vm_id, c.path, c.data) for c in empty] == [("vm", "empty", b"")]
