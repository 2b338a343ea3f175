"""A tiny DNS responder on UDP port 5353 answering busybox nslookup (UDP both ways)."""
import socket
import struct
import subprocess
import sys
import threading

srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 5353))


def serve():
    while True:
        query, client = srv.recvfrom(512)
        qid, _, qd = struct.unpack(">HHH", query[:6])
        end = query.index(b"\0", 12) + 5
        question = query[12:end]
        qtype = struct.unpack(">H", question[-4:-2])[0]
        answer = b""
        if qtype == 1:
            answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
        header = struct.pack(">HHHHHH", qid, 0x8180, 1, 1 if answer else 0, 0, 0)
        srv.sendto(header + question + answer, client)


threading.Thread(target=serve, daemon=True).start()
out = subprocess.run([sys.argv[1], "nslookup", "-port=5353", "-type=a", "example.test", "127.0.0.1"],
                     capture_output=True, text=True, timeout=20)
print("192.0.2.7" in out.stdout, out.returncode)
