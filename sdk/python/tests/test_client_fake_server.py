"""The clients against an in-process gRPC server that plays the API: the wire shapes, the token
exchange and its retry, streaming exec and file streams, with no boxd server."""
import asyncio
import threading
from concurrent import futures

import grpc
import pytest

import boxd
from boxd._pb import pb, pb_grpc


class FakeApi(pb_grpc.BoxdApiServicer):
    def __init__(self):
        self.exchanges = 0
        self.revoked = set()
        self.files = {}
        self.lock = threading.Lock()

    def _user(self, context):
        auth = dict(context.invocation_metadata()).get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if not token.startswith("jwt-") or token in self.revoked:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "token expired: exchange your API key again")
        return token

    def ExchangeApiKey(self, request, context):
        if request.api_key != "bxd_good":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown API key")
        with self.lock:
            self.exchanges += 1
            return pb.ExchangeApiKeyResponse(token=f"jwt-{self.exchanges}", expires_at=2**40, user_id="u1")

    def Whoami(self, request, context):
        return pb.WhoamiResponse(user_id="u1", name=self._user(context))

    def GetVm(self, request, context):
        self._user(context)
        context.abort(grpc.StatusCode.NOT_FOUND, f"VM '{request.vm_id}' not found")

    def Exec(self, request_iterator, context):
        self._user(context)
        first = next(request_iterator)
        stdin = b"".join(c.stdin for c in request_iterator if not c.stdin_eof)
        yield pb.ExecChunk(data=f"{first.command}|{dict(first.env)}".encode())
        yield pb.ExecChunk(data=stdin, is_stderr=True)
        code = int(first.env.get("CODE", "0"))
        if code:
            yield pb.ExecChunk(exit_code=code)

    def UploadFileStream(self, request_iterator, context):
        self._user(context)
        chunks = list(request_iterator)
        self.files[chunks[0].path] = b"".join(c.data for c in chunks)
        return pb.UploadFileResponse(bytes_written=len(self.files[chunks[0].path]))

    def DownloadFileStream(self, request, context):
        self._user(context)
        data = self.files[request.path]
        for at in range(0, len(data), 100_000):
            yield pb.FileChunk(data=data[at:at + 100_000])


@pytest.fixture
def api():
    fake = FakeApi()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_BoxdApiServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    server.stop(None)


def test_the_api_key_is_exchanged_once_and_again_after_the_server_refuses_the_token(api):
    with boxd.Boxd(api_key="bxd_good", base_url=api.url) as client:
        assert client.whoami().name == "jwt-1"
        assert client.whoami().name == "jwt-1"
        api.revoked.add("jwt-1")
        assert client.whoami().name == "jwt-2"
        assert api.exchanges == 2


def test_a_bad_key_is_an_authentication_error_and_a_missing_vm_not_found(api):
    with boxd.Boxd(api_key="bxd_bad", base_url=api.url) as client:
        with pytest.raises(boxd.AuthenticationError, match="API key was refused"):
            client.whoami()
    with boxd.Boxd(api_key="bxd_good", base_url=api.url) as client:
        with pytest.raises(boxd.NotFoundError) as caught:
            client.machines.get("gone")
        assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_a_server_that_is_not_there_is_a_connection_error_naming_the_url():
    with boxd.Boxd(token="jwt-x", base_url="http://127.0.0.1:1") as client:
        with pytest.raises(boxd.APIConnectionError, match="http://127.0.0.1:1"):
            client.whoami()


def test_exec_keeps_stdout_and_stderr_apart_and_reports_the_exit_code(api):
    with boxd.Boxd(api_key="bxd_good", base_url=api.url) as client:
        result = client.machines.exec("vm", ["echo", "a b"], env={"CODE": "3"}, stdin=b"input")
        assert result.exit_code == 3 and not result.success
        assert result.stdout_text == "echo 'a b'|{'CODE': '3'}"
        assert result.stderr == b"input"
        with client.machines.stream_exec("vm", command="cat") as stream:
            stream.write("line 1\n")
            stream.write(b"line 2\n")
            stream.close_stdin()
            chunks = list(stream)
        assert [c.stream for c in chunks] == ["stdout", "stderr", "exit"]
        assert chunks[1].data == b"line 1\nline 2\n" and chunks[-1].exit_code == 0 and stream.exit_code == 0


def test_files_stream_both_ways(api, tmp_path):
    data = bytes(range(256)) * 10_000
    source = tmp_path / "src.bin"
    source.write_bytes(data)
    with boxd.Boxd(api_key="bxd_good", base_url=api.url) as client:
        assert client.files.upload("vm", "a.bin", file=source) == len(data)
        assert client.files.download("vm", "a.bin") == data
        assert client.files.download("vm", "a.bin", to=tmp_path / "back.bin") == len(data)
    assert (tmp_path / "back.bin").read_bytes() == data


def test_the_async_client_does_the_same_concurrently(api):
    async def scenario():
        async with boxd.AsyncBoxd(api_key="bxd_good", base_url=api.url) as client:
            results = await asyncio.gather(*(client.machines.exec("vm", f"echo {i}", env={"CODE": str(i)}) for i in range(5)))
            async with client.machines.stream_exec("vm", command="cat") as stream:
                await stream.write(b"in")
                await stream.close_stdin()
                chunks = [c async for c in stream]
            with pytest.raises(boxd.NotFoundError):
                await client.machines.get("gone")
            return results, chunks

    results, chunks = asyncio.run(scenario())
    assert [r.exit_code for r in results] == [0, 1, 2, 3, 4]
    assert api.exchanges == 1
    assert chunks[1].data == b"in" and chunks[-1].is_exit


def self_signed(tmp_path, name):
    """A certificate for localhost made by openssl, and its key (PEM bytes)."""
    import subprocess
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return key.read_bytes(), cert.read_bytes(), cert


def test_tls_with_the_servers_ca_works_and_with_another_ca_is_a_connection_error_naming_the_url(tmp_path):
    key, cert, _ = self_signed(tmp_path, "server")
    _, _, other_ca = self_signed(tmp_path, "other")
    fake = FakeApi()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_BoxdApiServicer_to_server(fake, server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    server.start()
    try:
        url = f"https://localhost:{port}"
        with boxd.Boxd(api_key="bxd_good", base_url=url, ca_cert=cert) as client:
            assert client.whoami().user_id == "u1"
        with boxd.Boxd(api_key="bxd_good", base_url=url, ca_cert=str(other_ca)) as client:
            with pytest.raises(boxd.APIConnectionError, match=f"https://localhost:{port}"):
                client.whoami()
    finally:
        server.stop(None)
