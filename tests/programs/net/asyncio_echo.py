import asyncio
async def handle(r, w):
    while data := await r.read(100):
        w.write(data); await w.drain()
    w.close()
async def client(port, i):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    msg = f"hello {i}".encode()
    w.write(msg); await w.drain()
    got = await r.readexactly(len(msg))
    w.close(); await w.wait_closed()
    return got == msg
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    res = await asyncio.gather(*(client(port, i) for i in range(50)))
    print(sum(res), "of", len(res))
    srv.close(); await srv.wait_closed()
asyncio.run(main())
