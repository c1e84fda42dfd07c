#!/usr/bin/env python3
# notify_listen.py SOCKET OUT: stand in for systemd's NOTIFY_SOCKET
# (sd_notify(3)): bind a unix datagram socket at SOCKET and append each
# message to OUT as one line, its assignments joined by "|". For the
# integration tests of Type=notify; runs until killed.
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        f.write(msg.strip("\n").replace("\n", "|") + "\n")
