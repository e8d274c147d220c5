"""The SDK against a real boxd server with real VMs (run by e2e's PythonSdkTest, which starts the
server and sets the environment). Needs BOXD_API_URL, BOXD_API_KEY and BOXD_CA_CERT; skipped
without BOXD_API_URL only, so that a plain `pytest` on a laptop runs the unit tests alone.

The tests of the sync client share one VM and run in file order; the last of them deletes it."""
import asyncio
import hashlib
import os

import pytest

import boxd

pytestmark = pytest.mark.skipif(not os.environ.get("BOXD_API_URL"), reason="BOXD_API_URL is not set: no server to test against")

PREFIX = os.environ.get("BOXD_TEST_PREFIX", "pylive")
MAIN = f"{PREFIX}-main"
FORK = f"{PREFIX}-fork"


@pytest.fixture(scope="module")
def client():
    with boxd.Boxd() as c:
        yield c


@pytest.fixture(scope="module")
def vm(client):
    # auto-suspend off: the pause and resume below must be the only state changes
    machine = client.machines.create(name=MAIN, auto_suspend_timeout=0)
    yield machine
    for name in (FORK, MAIN):
        try:
            client.machines.delete(name)
        except boxd.NotFoundError:
            pass


def test_create_gives_a_running_machine_that_get_and_list_show(client, vm):
    assert vm.name == MAIN and vm.id
    ready = client.machines.wait_until_ready(vm.id, timeout=180)
    assert ready.status == "running" and ready.id == vm.id and ready.auto_suspend_secs == 0
    assert client.machines.get(MAIN).id == vm.id
    assert MAIN in [m.name for m in client.machines.list()]
    assert client.whoami().user_id


def test_exec_keeps_stderr_apart_and_passes_env_and_exit_code(client, vm):
    result = client.machines.exec(vm.id, ["sh", "-c", 'echo out; echo err >&2; echo "$GREETING"; exit 3'],
                                  env={"GREETING": "hello 'world' $HOME"})
    assert result.exit_code == 3 and not result.success
    assert result.stdout_text == "out\nhello 'world' $HOME\n"
    assert result.stderr_text == "err\n"
    piped = client.machines.exec(MAIN, "whoami; pwd; wc -c", stdin=b"x" * 1000)
    assert piped.success and piped.stdout_text.split() == ["boxd", "/home/boxd", "1000"]
    assert client.machines.exec(vm.id, "sleep 30", timeout=1).exit_code == 124


def test_stream_exec_delivers_output_before_the_end_and_takes_stdin_while_running(client, vm):
    stdout, stderr = b"", b""
    with client.machines.stream_exec(vm.id, command="echo ready; read line; echo got:$line; echo oops >&2; exit 7") as stream:
        for chunk in stream:
            if chunk.stream == "stdout":
                stdout += chunk.data
                if stdout == b"ready\n":
                    # the command waits for this line: it is running and its first output arrived
                    stream.write("hello\n")
                    stream.close_stdin()
            elif chunk.stream == "stderr":
                stderr += chunk.data
            else:
                assert chunk.exit_code == 7
    assert stdout == b"ready\ngot:hello\n" and stderr == b"oops\n" and stream.exit_code == 7


def test_ten_mib_go_up_and_come_back_unchanged_and_list_dir_shows_them(client, vm, tmp_path):
    data = os.urandom(10 << 20)
    digest = hashlib.sha256(data).hexdigest()
    assert client.files.upload(vm.id, "big.bin", data) == len(data)
    in_vm = client.machines.exec(vm.id, "sha256sum /home/boxd/big.bin")
    assert in_vm.stdout_text.split()[0] == digest
    assert hashlib.sha256(client.files.download(vm.id, "big.bin")).hexdigest() == digest
    listed = {e.name: e for e in client.files.list_dir(vm.id, ".")}
    assert (listed["big.bin"].type, listed["big.bin"].size) == ("file", len(data))
    local = tmp_path / "from-file.bin"
    local.write_bytes(data[: 3 << 20])
    assert client.files.upload(vm.id, "/tmp/part.bin", file=local) == 3 << 20
    assert client.files.download(vm.id, "/tmp/part.bin", to=tmp_path / "back.bin") == 3 << 20
    assert (tmp_path / "back.bin").read_bytes() == data[: 3 << 20]


def test_fork_copies_the_disk_into_a_new_machine(client, vm):
    assert client.machines.exec(vm.id, "echo from-source > marker.txt").success
    fork = client.machines.fork(vm.id, name=FORK, auto_suspend_timeout=0)
    assert fork.name == FORK and fork.id != vm.id
    assert client.machines.exec(FORK, "cat marker.txt; hostname").stdout_text.split() == ["from-source", FORK]
    client.machines.delete(fork.id)
    with pytest.raises(boxd.NotFoundError):
        client.machines.get(fork.id)


def test_pause_and_resume(client, vm):
    assert client.machines.pause(vm.id) >= 0
    assert client.machines.get(vm.id).status == "standby"
    resume_us = client.machines.resume(vm.id)
    assert isinstance(resume_us, int) and resume_us >= 0
    assert client.machines.get(vm.id).status == "running"
    assert client.machines.exec(vm.id, "echo awake").stdout_text == "awake\n"


def test_proxies(client, vm):
    default = client.proxies.set_port(vm.id, 8080)
    assert (default.name, default.port) == ("default", 8080)
    extra = client.proxies.create(MAIN, "api", 9000)
    assert extra.port == 9000 and extra.domain.startswith("api.")
    assert {(p.name, p.port) for p in client.proxies.list(MAIN)} >= {("default", 8080), ("api", 9000)}
    client.proxies.delete(MAIN, "api")
    assert "api" not in [p.name for p in client.proxies.list(MAIN)]


def test_delete_then_get_is_not_found(client, vm):
    client.machines.delete(vm.id)
    with pytest.raises(boxd.NotFoundError) as by_id:
        client.machines.get(vm.id)
    assert by_id.value.code.name == "NOT_FOUND"
    with pytest.raises(boxd.errors.NotFoundError):
        client.machines.get(MAIN)
    with pytest.raises(boxd.NotFoundError):
        client.machines.exec(vm.id, "true")


def test_async_client_runs_execs_in_five_machines_at_once():
    names = [f"{PREFIX}-async-{i}" for i in range(5)]

    async def scenario():
        async with boxd.AsyncBoxd() as client:
            try:
                made = await asyncio.gather(*(client.machines.create(name=n) for n in names))
                assert sorted(m.name for m in made) == names
                await asyncio.gather(*(client.machines.wait_until_ready(m.id) for m in made))
                results = await asyncio.gather(*(client.machines.exec(m.id, ["sh", "-c", 'hostname; echo "$N"'], env={"N": str(i)})
                                                  for i, m in enumerate(made)))
                assert [r.stdout_text.split() for r in results] == [[n, str(i)] for i, n in enumerate(names)]
                async with client.machines.stream_exec(made[0].id, command="cat") as stream:
                    await stream.write(b"streamed")
                    await stream.close_stdin()
                    chunks = [c async for c in stream]
                assert b"".join(c.data for c in chunks if c.stream == "stdout") == b"streamed" and chunks[-1].exit_code == 0
            finally:
                outcomes = await asyncio.gather(*(client.machines.delete(n) for n in names), return_exceptions=True)
            assert not [o for o in outcomes if o is not None], outcomes
            left = [m.name for m in await client.machines.list()]
            assert not set(names) & set(left)

    asyncio.run(scenario())
