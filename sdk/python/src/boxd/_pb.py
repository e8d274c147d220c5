"""The generated protobuf and gRPC modules (made by sdk/python/build.sh into boxd/_proto)."""
try:
    from ._proto import boxd_pb2 as pb
    from ._proto import boxd_pb2_grpc as pb_grpc
except ImportError as e:  # pragma: no cover - a checkout that was not built
    raise ImportError(
        "boxd's generated gRPC code is missing (boxd/_proto): run sdk/python/build.sh "
        f"(needs protobuf-compiler and protobuf-compiler-grpc): {e}") from e

__all__ = ["pb", "pb_grpc"]
