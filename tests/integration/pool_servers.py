#!/usr/bin/python3
"""pool_servers.py: scripted servers the active-probe tests point sluice's prober at, each
answering as the real thing would on the wire. Standard library only.

usage: pool_servers.py [--cert C --key K] ADDR MODE:PORT[:tls] ...

Pools: stratum (Stratum v1: a subscribe result with mining.notify and an extranonce, then
pushes), xmrig (a login result with a CryptoNote job), eth (eth-proxy: eth_submitLogin true
and an eth_getWork package), sv2 (SetupConnection.Success), sv2_noise (64 bytes in, exactly 234
out, as a Noise NX responder). Each refuses other methods the way pools do (a JSON-RPC error)
and, for the binary ones, closes on a frame it cannot parse.
Non-pools: http (an HTTP server), ssh (a server-first SSH banner), silent (accepts, never
says anything), reset (accepts, then RST), trickle (a byte every 200 ms forever), echo.
':tls' wraps the port in TLS with the given (self-signed) certificate.
"""
import json
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

SUBSCRIBE_OK = (b'{"id":1,"result":[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],'
                b'["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}\n')
NOTIFY = (b'{"id":null,"method":"mining.notify","params":["bf","4d16b6f85af6e2198f44ae2a6de67f78487a'
          b'e5611b77c6c0440b921e00000000","01000000010000","072f736c7573682f000000000100f2052a010000'
          b'001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000",[],"00000002","1c2ac4af",'
          b'"504e86b9",false]}\n')
XMR_JOB = (b'{"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"b8f2e0a0","job":{"blob":"0e0eb'
           b'5e9a7a1060e54e8dfe9b1b7b8f8c6c4e3b1d1c4d5a2ff3f39c0e6fe1e6a4fe2b3e5d600000000a1f4c9c7e'
           b'1a9b3c8f4d2e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b10104","job_id":"ZpCfYwJr","target'
           b'":"b88d0600","algo":"rx/0","height":3123456,"seed_hash":"58c6dcb93d5a5b12c0f4d5b9f2b'
           b'8f1d2c3a4b5c6d7e8f9a0b1c2d3e4f5a6b7"},"extensions":["algo","keepalive"],"status":"OK"}}\n')
ETH_WORK = (b'{"id":2,"jsonrpc":"2.0","result":["0x1c7b2d9a0f5e3c4b6a8d9e0f1a2b3c4d5e6f708192a3b4c5'
            b'd6e7f8091a2b3c4d","0x5eed00000000000000000000000000000000000000000000000000000000000'
            b'0","0x00000000ffff00000000000000000000000000000000000000000000000000000"]}\n')


def rpc_error(req_id, code, msg, jsonrpc=True):
    d = {"id": req_id, "error": {"code": code, "message": msg}}
    if jsonrpc:
        d["jsonrpc"] = "2.0"
    else:
        d = {"id": req_id, "result": None, "error": [code, msg, None]}
    return (json.dumps(d, separators=(",", ":")) + "\n").encode()


def lines(sock):
    buf = b""
    while True:
        d = sock.recv(4096)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            ln, buf = buf.split(b"\n", 1)
            yield ln
        if len(buf) > 65536:
            return


def req(ln):
    try:
        d = json.loads(ln)
        return d.get("id"), d.get("method")
    except ValueError:
        return None, None


def srv_stratum(s):
    for ln in lines(s):
        i, m = req(ln)
        if m == "mining.subscribe":
            s.sendall(SUBSCRIBE_OK)
            s.sendall(b'{"id":null,"method":"mining.set_difficulty","params":[65536]}\n' + NOTIFY)
        elif m is not None:
            s.sendall(rpc_error(i, 20, "Unknown method", jsonrpc=False))
        else:
            return  # not JSON: a stratum server drops the client


def srv_xmrig(s):
    for ln in lines(s):
        i, m = req(ln)
        if m == "login":
            s.sendall(XMR_JOB)
        elif m is not None:
            s.sendall(rpc_error(i, -1, "Unauthenticated"))
        else:
            return


def srv_eth(s):
    for ln in lines(s):
        i, m = req(ln)
        if m == "eth_submitLogin":
            s.sendall(b'{"id":%d,"jsonrpc":"2.0","result":true}\n' % (i or 1))
        elif m == "eth_getWork":
            s.sendall(ETH_WORK)
        elif m is not None:
            s.sendall(rpc_error(i, -32601, "Method not found"))
        else:
            return


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            return None
        b += d
    return b


def srv_sv2(s):
    h = recv_exact(s, 6)
    if h is None:
        return
    ext, mt = struct.unpack("<HB", h[:3])
    ln = h[3] | h[4] << 8 | h[5] << 16
    if ext != 0 or mt != 0 or ln > 1024:
        return  # not a SetupConnection: an SV2 server closes
    body = recv_exact(s, ln)
    if body is None or body[0] != 0:
        return
    s.sendall(struct.pack("<HBBBBHI", 0, 0x01, 6, 0, 0, 2, 0))
    time.sleep(30)


def srv_sv2_noise(s):
    act1 = recv_exact(s, 64)
    if act1 is None:
        return
    s.sendall(os.urandom(234))  # e, encrypted s, signature: opaque to a listener
    time.sleep(30)


def srv_http(s):
    s.recv(4096)
    s.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Length: 0\r\n"
              b"Connection: close\r\n\r\n")


def srv_ssh(s):
    s.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    s.recv(4096)
    time.sleep(1)


def srv_silent(s):
    s.settimeout(60)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass


def srv_reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # with linger 0: an RST, no FIN


def srv_trickle(s):
    for k in range(300):
        s.sendall(bytes([0x80 + (k * 37) % 120]))
        time.sleep(0.2)


def srv_echo(s):
    while True:
        d = s.recv(4096)
        if not d:
            return
        s.sendall(d)


MODES = {k[4:]: v for k, v in globals().items() if k.startswith("srv_")}


def serve(addr, mode, port, tls_ctx):
    fn = MODES[mode]

    class H(socketserver.BaseRequestHandler):
        def handle(self):
            s = self.request
            try:
                if tls_ctx is not None:
                    s.settimeout(10)
                    s = tls_ctx.wrap_socket(s, server_side=True)
                    s.settimeout(None)
                fn(s)
            except (OSError, ssl.SSLError, ValueError):
                pass

    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    S((addr, port), H).serve_forever()


def main(argv):
    cert = key = None
    while argv and argv[0].startswith("--"):
        if argv[0] == "--cert":
            cert = argv[1]
        elif argv[0] == "--key":
            key = argv[1]
        argv = argv[2:]
    addr, specs = argv[0], argv[1:]
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    for sp in specs:
        parts = sp.split(":")
        t = threading.Thread(target=serve, args=(addr, parts[0], int(parts[1]),
                                                 ctx if parts[2:] == ["tls"] else None),
                             daemon=True)
        t.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(sys.argv[1:])
