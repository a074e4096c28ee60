#!/usr/bin/env python3
"""A deliberately misbehaving IMAP server for STARTTLS tests, on 127.0.0.1.

fake-imap.py PORTFILE CERT KEY MODE

Writes the port it listens on to PORTFILE, serves connections until killed.
MODE inject: the STARTTLS response and an injected untagged response leave
  in one write, before the TLS handshake (CVE-2020-15953).
MODE caps: the greeting advertises IDLE in clear text; over TLS the
  capabilities are IMAP4rev1 AUTH=PLAIN only.
MODE liar: INBOX holds one message of LIAR_MB megabytes (default 24) whose
  RFC822.SIZE is declared as 100 bytes.
"""
import base64
import os
import socket
import ssl
import sys


def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        yield line.decode(errors="replace").rstrip("\r\n")


def big_message():
    mb = int(os.environ.get("LIAR_MB", "24"))
    data = base64.encodebytes(os.urandom(mb * 3 * 1024 * 1024 // 4)).replace(b"\n", b"\r\n")
    return (b"From: Carol <carol@client.example>\r\nTo: alice@corp.example\r\nSubject: big\r\n"
            b"Message-ID: <liar@client.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
            b"small text\r\n--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"--b--\r\n")


def over_tls(conn, ctx):
    tls = ctx.wrap_socket(conn, server_side=True)
    f = tls.makefile("rwb", buffering=0)
    for line in lines(f):
        tag, _, cmd = line.partition(" ")
        verb = cmd.split(" ")[0].upper()
        if verb == "CAPABILITY":
            f.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag.encode() + b" OK done\r\n")
        elif verb == "LOGIN":
            f.write(tag.encode() + b" OK logged in\r\n")
        elif verb == "LIST":
            f.write(b'* LIST () "/" INBOX\r\n' + tag.encode() + b" OK done\r\n")
        elif verb == "EXAMINE" or verb == "SELECT":
            f.write(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 2] ok\r\n"
                    + tag.encode() + b" OK [READ-ONLY] done\r\n")
        elif verb == "UID" and " SEARCH" in cmd.upper():
            f.write(b"* SEARCH 1\r\n" + tag.encode() + b" OK done\r\n")
        elif verb == "UID" and "BODY.PEEK[]" in cmd.upper():
            body = big_message()
            f.write(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(body))
            for i in range(0, len(body), 1 << 16):
                f.write(body[i:i + (1 << 16)])
            f.write(b")\r\n" + tag.encode() + b" OK done\r\n")
        elif verb == "UID" and "RFC822.SIZE" in cmd.upper():
            f.write(b"* 1 FETCH (UID 1 RFC822.SIZE 100)\r\n" + tag.encode() + b" OK done\r\n")
        elif verb == "LOGOUT":
            f.write(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
            return
        else:
            f.write(tag.encode() + b" OK fine\r\n")


def serve(conn, ctx, mode):
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS IDLE LOGINDISABLED] fake ready\r\n")
    f = conn.makefile("rb", buffering=0)
    for line in lines(f):
        tag, _, cmd = line.partition(" ")
        verb = cmd.split(" ")[0].upper()
        if verb == "CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS IDLE LOGINDISABLED\r\n" + tag.encode() + b" OK done\r\n")
        elif verb == "STARTTLS":
            extra = b"* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] injected\r\n" if mode == "inject" else b""
            conn.sendall(tag.encode() + b" OK begin TLS\r\n" + extra)
            over_tls(conn, ctx)
            return
        else:
            conn.sendall(tag.encode() + b" BAD STARTTLS first\r\n")


def main():
    portfile, cert, key, mode = sys.argv[1:5]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    with open(portfile, "w") as p:
        p.write(str(srv.getsockname()[1]))
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn, ctx, mode)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


main()
