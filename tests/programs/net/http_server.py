import http.server, threading, urllib.request, os, tempfile
os.chdir("/usr/share/doc" if os.path.isdir("/usr/share/doc") else "/")
http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
port = srv.server_address[1]
t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
for i in range(3):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
        body = r.read()
        print(r.status, b"Directory listing" in body)
with urllib.request.urlopen(f"http://localhost:{port}/") as r:
    print("localhost", r.status)
srv.shutdown()
