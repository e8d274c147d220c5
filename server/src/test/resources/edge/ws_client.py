# A WebSocket client for the edge tests (python3 stdlib): TLS with SNI to the edge, the
# handshake, a text and a binary message echoed back, then a close.
# Usage: python3 ws_client.py HOST PORT CAFILE
import base64, hashlib, os, socket, ssl, struct, sys

host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=cafile)
context.set_alpn_protocols(["http/1.1"])
sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=120), server_hostname=host)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buffer = b""
while b"\r\n\r\n" not in buffer:
    chunk = sock.recv(65536)
    if not chunk:
        sys.exit("connection closed during the handshake: " + buffer.decode(errors="replace"))
    buffer += chunk
head, buffer = buffer.split(b"\r\n\r\n", 1)
status = head.split(b"\r\n")[0].decode()
if " 101 " not in status + " ":
    sys.exit("no upgrade: " + head.decode(errors="replace"))
expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
if expected.encode() not in head:
    sys.exit("wrong Sec-WebSocket-Accept: " + head.decode(errors="replace"))


def read(n):
    global buffer
    while len(buffer) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buffer += chunk
    data, buffer = buffer[:n], buffer[n:]
    return data


def send(opcode, data):
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = (int.from_bytes(data, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big") if n else b""
    sock.sendall(head + mask + masked)


def receive():
    b0, b1 = read(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", read(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", read(8))[0]
    return b0 & 0x0F, read(n)


send(1, b"hello through the edge")
opcode, data = receive()
print(f"text {opcode} {data.decode()}")
payload = os.urandom(256 * 1024)
send(2, payload)
opcode, data = receive()
print(f"binary {opcode} {len(data)} {'same' if data == payload else 'different'}")
send(8, struct.pack(">H", 1000))
opcode, _ = receive()
print(f"close {opcode}")
