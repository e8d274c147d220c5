# A VM's web server for the edge tests: files from a directory, plus a WebSocket echo at /ws.
# python3 stdlib only (the guest image has nothing else). Usage: python3 site.py DIR [PORT]
import base64, functools, hashlib, http.server, struct, sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self.echo()
        if self.path == "/headers":
            body = "".join(f"{k.lower()}: {v}\n" for k, v in self.headers.items()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        return super().do_GET()

    def read(self, n):
        data = self.rfile.read(n)
        if len(data) < n:
            raise EOFError
        return data

    def echo(self):
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            while True:
                b0, b1 = self.read(2)
                opcode, n = b0 & 0x0F, b1 & 0x7F
                if n == 126:
                    n = struct.unpack(">H", self.read(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", self.read(8))[0]
                mask = self.read(4) if b1 & 0x80 else b"\0\0\0\0"
                data = self.read(n)
                if n:  # unmask as one big integer: a byte loop is slow under emulation
                    data = (int.from_bytes(data, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
                if n < 126:
                    head = struct.pack(">BB", 0x80 | opcode, n)
                elif n < 65536:
                    head = struct.pack(">BBH", 0x80 | opcode, 126, n)
                else:
                    head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
                self.wfile.write(head + data)
                self.wfile.flush()
                if opcode == 8:
                    return
        except (EOFError, ConnectionError):
            return


if __name__ == "__main__":
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), functools.partial(Handler, directory=sys.argv[1]))
    server.serve_forever()
