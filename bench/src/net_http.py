"""A small HTTP request rate: a threaded http.server and a client making N requests,
each on a new connection (as urllib does). Prints requests/s."""
import http.client
import http.server
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
n = int(sys.argv[1])
t0 = time.monotonic()
for _ in range(n):
    c = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
    c.request("GET", "/")
    assert c.getresponse().read() == b"hello\n"
    c.close()
print(f"{n / (time.monotonic() - t0):.0f}")
server.shutdown()
