#!/usr/bin/env python3
"""Writes the committed seed corpus under corpus/<target>/ (small, valid inputs of each decoder).

Run from anywhere: python3 tools/fuzz/make-corpus.py. The fuzz targets' input layouts are at the
top of each Sources/<target>/*.swift file; this script follows them.
"""
import json
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


# --- RPC: frames and heads (docs/PROTOCOL.md) ---------------------------------------------------
def frame(kind, call, payload, flags=0):
    return struct.pack(">IBBI", len(payload) + 6, kind, flags, call) + payload


def short(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def metadata(entries):
    out = struct.pack(">H", len(entries))
    for k, v in entries:
        kb, vb = k.encode(), v.encode()
        out += struct.pack(">H", len(kb)) + kb + struct.pack(">I", len(vb)) + vb
    return out


def request_head(method, timeout, md):
    return struct.pack(">Q", timeout) + short(method) + metadata(md)


def end_head(status, message, md):
    return bytes([status]) + short(message) + metadata(md)


hello_client = b"WAQTOR" + bytes([1])
hello_server = b"WAQTOR" + bytes([1]) + struct.pack(">III", 4 * 1024 * 1024, 100, 300000)
ping_request = bytes([0x0A, 0x04]) + b"ping"  # PingRequest{payload: "ping"}
req = request_head("waqtor.v1.HealthService/Ping", 5_000_000,
                   [("authorization", "Bearer abc"), ("request-id", "r-1")]) + ping_request
end = end_head(0, "", [("request-id", "r-1")]) + ping_request
end_error = end_head(5, "contact not found", [("retry-after-ms", "250")])
goaway = struct.pack(">IB", 7, 0) + short("server shutting down")

client_stream = (frame(1, 0, hello_client) + frame(2, 1, req) + frame(6, 0, b"12345678")
                 + frame(5, 1, b"") + frame(2, 3, req))
server_stream = (frame(1, 0, hello_server) + frame(4, 1, end) + frame(3, 3, ping_request)
                 + frame(4, 3, end_error) + frame(6, 0, b"12345678", flags=1) + frame(7, 0, goaway))
# byte 0: even = small limit (byte*4+6), odd = 1 GiB; bytes 1-2: the split seed.
write("frames", "client-stream", bytes([1, 0, 7]) + client_stream)
write("frames", "server-stream", bytes([3, 1, 9]) + server_stream)
write("frames", "small-limit", bytes([20, 0, 1]) + client_stream)
write("frames", "oversized", bytes([2, 0, 3]) + frame(4, 9, end))
write("frames", "malformed-length", bytes([1, 0, 3]) + struct.pack(">IBBI", 3, 2, 0, 1))
write("frames", "unknown-type", bytes([1, 0, 3]) + frame(0x42, 1, b"x"))

# byte 0 % 5: 0 REQUEST, 1 END, 2 GOAWAY, 3 HELLO, 4 metadata
write("heads", "request", bytes([0]) + req)
write("heads", "request-no-metadata", bytes([0]) + request_head("waqtor.v1.TenantService/Login", 0, []))
write("heads", "end-ok", bytes([1]) + end)
write("heads", "end-error", bytes([1]) + end_error)
write("heads", "goaway", bytes([2]) + goaway)
write("heads", "hello-client", bytes([3]) + hello_client)
write("heads", "hello-server", bytes([3]) + hello_server)
write("heads", "metadata", bytes([4]) + metadata([("a", "1"), ("Key-Two", "value"), ("a", "")]))

# --- protobuf: byte 0 picks the type in waqtorAllMessageTypes -------------------------------------
index = open(os.path.join(ROOT, "Sources/WaqtorProto/Generated/WaqtorProtoIndex.pb.swift")).read()
types = re.findall(r"^\s+Waqtor_V1_(\w+)\.self,", index, re.M)
types_all = re.findall(r"^\s+(\w+)\.self,", index, re.M)
fixtures = os.path.join(ROOT, "Tests/WaqtorProtoTests/Fixtures")
for name in sorted(os.listdir(fixtures)):
    if name.endswith(".bin"):
        message = "Waqtor_V1_" + name[:-4]
        if message in types_all:
            write("proto", name[:-4], bytes([types_all.index(message)]) + open(os.path.join(fixtures, name), "rb").read())
write("proto", "PingRequest", bytes([types_all.index("Waqtor_V1_PingRequest")]) + ping_request)

# --- templates: 8 bytes of seed, then the text ----------------------------------------------------
for i, text in enumerate([
    "{Hi|Hello|Hey} {{name|there}}, your order {{order.id}} is ready",
    "{Hi|{Hello|Hey} there} {{ Name | friend }}!",
    "{{{name}}|friend}, {{Hi|Hello} there|Hey}",
    "Size \\| Price: \\{50\\} C:\\files {{title|}}",
    "{a|{b|{c|{d|e}}}} {{city|your city}}\nline two {x|y}",
]):
    write("templates", f"template-{i}", struct.pack(">Q", 0x9E3779B97F4A7C15 * (i + 1) % 2**64) + text.encode())

# --- contact files ---------------------------------------------------------------------------------
write("csv", "basic.csv", "phone_number,name,city,opted_out\n+5511961234567,Ana,São Paulo,no\n+201001234567,Omar,Cairo,yes\n")
write("csv", "quoted.csv", '\ufeffPhone,Full Name,"Favourite, colour"\n"+1 650 253 0000","Smith, John","blue\nand green"\n(11) 96123-4567,,\n')
write("csv", "aliases.csv", "telefone;nome\r\nwhatsapp,nombre,unsubscribed,1st visit,\r\n5511999998888,Maria,sim,2024-01-01,x\r\n")
write("csv", "bad-rows.csv", "mobile,name\n+5511961234567\n+5511961234568,Bia,extra\n\n+5511961234569,Caio\n")

# --- phone numbers: byte 0 picks the default region ------------------------------------------------
# (nil, BR, US, DE, EG, IN, GB, MX, AR, PT, FR, CN, ZZ, XX, "", " br ")
for i, (region, text) in enumerate([
    (1, "(11) 96123-4567"), (4, "0100 123 4567"), (3, "030 123456"), (0, "+1 650 253 0000"),
    (5, "081234 56789"), (0, "+1 555 0100"), (9, "hello"), (0, "+55 11 96123-4567 ext. 12"),
    (2, "1-800-FLOWERS"), (0, "＋44 20 7946 0958"), (13, "123"), (0, "+800 1234 5678"),
]):
    write("phone", f"number-{i}", bytes([region]) + text.encode())

# --- webhook bodies (shapes of Evolution API 2.3.6) -----------------------------------------------
def envelope(event, data, **extra):
    body = {"event": event, "instance": "wq-x", "data": data, "destination": "http://127.0.0.1/webhook",
            "date_time": "2025-07-25T10:42:43.258Z", "sender": "5511999990000@s.whatsapp.net",
            "server_url": "http://evolution", "apikey": None}
    body.update(extra)
    return json.dumps(body, ensure_ascii=False)


write("webhooks", "upsert-text", envelope("messages.upsert", {
    "key": {"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": False, "id": "3EB0A1"},
    "pushName": "Maria", "status": "DELIVERY_ACK", "message": {"conversation": "oi, tudo bem?"},
    "messageType": "conversation", "messageTimestamp": 1764000000}))
write("webhooks", "upsert-lid-image", envelope("messages.upsert", {
    "key": {"remoteJid": "201234567890123@lid", "remoteJidAlt": "5511988887777@s.whatsapp.net", "fromMe": False,
            "id": "3EB0X", "addressingMode": "lid"},
    "pushName": "Maria", "status": "DELIVERY_ACK", "messageTimestamp": {"low": 1764000000, "high": 0},
    "message": {"imageMessage": {"mimetype": "image/jpeg", "caption": "foto", "fileLength": {"low": 5, "high": 1, "unsigned": True},
                                 "contextInfo": {"stanzaId": "3EB0Q"}}, "base64": "AAAA"},
    "contextInfo": {"stanzaId": "3EB0Q"}}))
write("webhooks", "send-message-array", envelope("send.message", [{
    "key": {"remoteJid": "1203630@g.us", "fromMe": True, "id": "B1", "participant": "5511@s.whatsapp.net"},
    "message": {"ephemeralMessage": {"message": {"extendedTextMessage": {"text": "hi", "contextInfo": {"stanzaId": "Q"}}}}},
    "messageTimestamp": "1717689097"}]))
write("webhooks", "upsert-contacts-location", envelope("messages.upsert", {
    "key": {"remoteJid": "status@broadcast", "id": "C"},
    "message": {"contactsArrayMessage": {"displayName": "2 contacts", "contacts": [{"displayName": "A", "vcard": "BEGIN:VCARD"}]},
                "locationMessage": {"degreesLatitude": -23.5, "degreesLongitude": "-46.6"}}}))
write("webhooks", "messages-update", envelope("messages.update", {
    "keyId": "3EB0A1", "remoteJid": "5511988887777@s.whatsapp.net", "fromMe": True, "status": "READ",
    "instanceId": "i-1", "messageId": "m-1"}))
write("webhooks", "connection-open", envelope("connection.update", {
    "instance": "wq-x", "state": "open", "statusReason": 200, "wuid": "5511999990000@s.whatsapp.net", "profileName": "Loja"}))
write("webhooks", "status-closed", envelope("status.instance", {"instance": "wq-x", "status": "closed", "disconnectionReasonCode": "401"}))
write("webhooks", "logout", envelope("logout.instance", None))
write("webhooks", "qrcode", envelope("qrcode.updated", {"qrcode": {"instance": "wq-x", "pairingCode": None, "code": "2@abc", "base64": "data:image/png;base64,AAAA"}}))
