"""What a pointer argument is to a call the host kernel runs (syscalls/table.py).

The classes are explained in table.py's docstring; handler modules use them
for their multiplexers' tables (ioctl, fcntl, prctl requests run natively).
"""
DATA, CONFINED, DECIDES, NULL = "data", "confined", "decides", "null"
