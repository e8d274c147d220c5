import grpc
import pytest

from boxd import errors


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


@pytest.mark.parametrize("code,cls", [
    (grpc.StatusCode.NOT_FOUND, errors.NotFoundError),
    (grpc.StatusCode.ALREADY_EXISTS, errors.ConflictError),
    (grpc.StatusCode.FAILED_PRECONDITION, errors.ConflictError),
    (grpc.StatusCode.UNAUTHENTICATED, errors.AuthenticationError),
    (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDeniedError),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.RateLimitError),
    (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgumentError),
    (grpc.StatusCode.UNAVAILABLE, errors.APIConnectionError),
    (grpc.StatusCode.DEADLINE_EXCEEDED, errors.APIConnectionError),
    (grpc.StatusCode.INTERNAL, errors.BoxdError),
])
def test_each_status_code_maps_to_its_class_and_keeps_the_code_and_message(code, cls):
    error = errors.from_rpc_error(FakeRpcError(code, "what the server said"), "https://api.example:9443")
    assert type(error) is cls
    assert isinstance(error, errors.BoxdError)
    assert error.code == code
    assert "what the server said" in error.message


def test_a_connection_error_names_the_url_and_others_do_not():
    down = errors.from_rpc_error(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect"), "https://api.example:9443")
    assert down.message == "https://api.example:9443: failed to connect"
    assert "UNAVAILABLE" in str(down)
    missing = errors.from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "VM 'x' not found"), "https://api.example:9443")
    assert missing.message == "VM 'x' not found"


def test_a_configuration_error_is_an_invalid_argument():
    assert issubclass(errors.ConfigurationError, errors.InvalidArgumentError)
