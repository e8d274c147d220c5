import pytest

from boxd._config import default_gateway, parse_url, resolve
from boxd.errors import ConfigurationError

# /proc/net/route of a VM: its own subnet, then the default route via 10.77.0.1 (hex, little endian).
ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t01004D0A\t0003\t0\t0\t0\t00000000\t0\t0\t0
"""


def test_the_gateway_of_the_default_route_is_read_in_network_order():
    assert default_gateway(ROUTES) == "10.77.0.1"


def test_a_route_table_without_a_default_route_is_an_error_that_says_what_to_set():
    with pytest.raises(ConfigurationError, match="BOXD_API_URL"):
        default_gateway(ROUTES.splitlines()[0] + "\n" + ROUTES.splitlines()[1] + "\n")


@pytest.mark.parametrize("given,url,target,tls", [
    ("https://localhost:61234", "https://localhost:61234", "localhost:61234", True),
    ("https://boxd.example.com", "https://boxd.example.com:9443", "boxd.example.com:9443", True),
    ("boxd.example.com:443/", "https://boxd.example.com:443", "boxd.example.com:443", True),
    ("http://10.0.0.1:9003", "http://10.0.0.1:9003", "10.0.0.1:9003", False),
    ("https://[::1]:9443", "https://[::1]:9443", "[::1]:9443", True),
])
def test_urls_give_the_grpc_target_and_whether_tls_is_used(given, url, target, tls):
    assert parse_url(given) == (url, target, tls)


@pytest.mark.parametrize("bad", ["ftp://x:1", "https://x:1/api", "http://x", "https://x:notaport"])
def test_bad_urls_are_refused_with_the_url_named(bad):
    with pytest.raises(ConfigurationError, match="API URL"):
        parse_url(bad)


def no_vm(tmp_path):
    return dict(agent_path=str(tmp_path / "no-agent"), route_table=str(tmp_path / "no-route"))


def test_boxd_token_is_an_api_key_when_it_has_the_prefix_else_a_jwt(tmp_path):
    env = {"BOXD_API_URL": "https://h:1", "BOXD_TOKEN": "bxd_abc"}
    s = resolve(env=env, **no_vm(tmp_path))
    assert (s.api_key, s.token) == ("bxd_abc", None)
    env["BOXD_TOKEN"] = "eyJhbGciOi.x.y"
    s = resolve(env=env, **no_vm(tmp_path))
    assert (s.api_key, s.token) == (None, "eyJhbGciOi.x.y")


def test_arguments_win_over_the_environment(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nenv\n")
    env = {"BOXD_API_URL": "https://env:1", "BOXD_API_KEY": "bxd_env", "BOXD_CA_CERT": str(ca)}
    s = resolve(api_key="bxd_arg", base_url="https://arg:2", ca_cert=b"pem", env=env, **no_vm(tmp_path))
    assert (s.url, s.api_key, s.ca_pem) == ("https://arg:2", "bxd_arg", b"pem")
    s = resolve(env=env, **no_vm(tmp_path))
    assert (s.url, s.api_key, s.ca_pem) == ("https://env:1", "bxd_env", b"-----BEGIN CERTIFICATE-----\nenv\n")


def test_inside_a_vm_with_nothing_configured_the_in_vm_api_at_the_gateway_is_used(tmp_path):
    agent = tmp_path / "boxd-agent"
    agent.write_text("")
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    s = resolve(env={}, agent_path=str(agent), route_table=str(routes))
    assert (s.in_vm, s.tls, s.target, s.api_key, s.token) == (True, False, "10.77.0.1:9003", None, None)
    # a key in the environment means the caller wants the public API, even inside a VM
    s = resolve(env={"BOXD_API_KEY": "bxd_k", "BOXD_API_URL": "https://h:1"}, agent_path=str(agent), route_table=str(routes))
    assert (s.in_vm, s.target) == (False, "h:1")


def test_outside_a_vm_a_missing_url_or_missing_credentials_say_what_to_set(tmp_path):
    with pytest.raises(ConfigurationError, match="BOXD_API_URL"):
        resolve(env={"BOXD_API_KEY": "bxd_k"}, **no_vm(tmp_path))
    with pytest.raises(ConfigurationError, match="BOXD_API_KEY or BOXD_TOKEN"):
        resolve(env={"BOXD_API_URL": "https://h:1"}, **no_vm(tmp_path))


def test_an_unreadable_ca_file_is_named(tmp_path):
    with pytest.raises(ConfigurationError, match="missing.pem"):
        resolve(env={"BOXD_API_URL": "https://h:1", "BOXD_API_KEY": "bxd_k", "BOXD_CA_CERT": str(tmp_path / "missing.pem")},
                **no_vm(tmp_path))
