#!/usr/bin/env python3
"""netns_bridge.py HOST_PORT NS_PID NS_PORT

Forward TCP from 127.0.0.1:HOST_PORT here to 127.0.0.1:NS_PORT inside the
network namespace of process NS_PID, for a test peer that can only bind
every address (OpenSSL 3.0's `openssl ocsp -port`): the peer runs in a
namespace of its own (`unshare --net`), where every address is loopback,
and only this bridge listens here, on 127.0.0.1.

The listening socket is made before setns(2); every socket made after it
(the connections to the peer) belongs to the peer's namespace. Threads made
after setns inherit it. Exits on SIGTERM; a connection the peer refuses is
closed at once (the client sees the peer down).
"""
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, ns_port):
    try:
        peer = socket.create_connection(("127.0.0.1", ns_port), timeout=10)
        peer.settimeout(None)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=pump, args=(peer, client), daemon=True)
    t.start()
    pump(client, peer)
    t.join()
    client.close()
    peer.close()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: netns_bridge.py HOST_PORT NS_PID NS_PORT")
    host_port, ns_pid, ns_port = (int(a) for a in sys.argv[1:])
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", host_port))
    lst.listen(16)
    fd = os.open("/proc/%d/ns/net" % ns_pid, os.O_RDONLY)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        sys.exit("netns_bridge: setns into pid %d: %s" % (ns_pid,
                 os.strerror(e)))
    os.close(fd)
    while True:
        client, _ = lst.accept()
        threading.Thread(target=serve, args=(client, ns_port),
                         daemon=True).start()


if __name__ == "__main__":
    main()
