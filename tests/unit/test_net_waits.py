"""waits.py: a callback may cancel another wait of the same batch of events
(UDP egress evicts a relay while answering a reply) without the loop calling
the cancelled one, or a newcomer reusing its fd number."""
import select
import socket

from runsc_py.sentry.net.waits import Waits


class Platform:
    def watch(self, fd, handler):
        self.handler = handler


def test_a_wait_cancelled_by_an_earlier_callback_is_not_called():
    platform = Platform()
    waits = Waits(platform, interrupts=None)   # no workload call is parked here
    pairs = [socket.socketpair() for _ in range(2)]
    for ours, theirs in pairs:
        theirs.send(b"x")   # both ready in the same batch
    called = []
    newcomer = []

    def make(i):
        def callback():
            called.append(i)
            other = pairs[1 - i][0]
            waits.cancel(other)
            # a new wait that may get the cancelled fd's number
            s, t = socket.socketpair()
            t.send(b"y")
            newcomer.append(t)
            waits.park(s, select.EPOLLIN, lambda: called.append("new") or True)
            return True
        return callback

    for i, (ours, _theirs) in enumerate(pairs):
        waits.park(ours, select.EPOLLIN, make(i))
    platform.handler(select.EPOLLIN)
    assert len(called) == 1 and called[0] in (0, 1)
    platform.handler(select.EPOLLIN)   # the newcomer is answered on the next round
    assert called[1:] == ["new"]
    assert len(waits) == 0
