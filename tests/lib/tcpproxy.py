#!/usr/bin/env python3
# tcpproxy.py -- a TCP relay a test can cut: forwards 127.0.0.1:LISTEN to
# 127.0.0.1:TARGET, one thread pair per connection. Killing the process
# closes every relayed connection at once (both ends see the close) and
# refuses new ones until it is started again on the same port. DELAY_MS
# holds each chunk that long before passing it on: replication lag.
#   python3 tcpproxy.py LISTEN TARGET [DELAY_MS]
import socket
import sys
import threading
import time

DELAY = 0.0


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            if DELAY:
                time.sleep(DELAY)
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    global DELAY
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    if len(sys.argv) > 3:
        DELAY = int(sys.argv[3]) / 1000.0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen))
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        try:
            u = socket.create_connection(("127.0.0.1", target), timeout=5)
            u.settimeout(None)
        except OSError:
            c.close()
            continue
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
