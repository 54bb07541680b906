#!/usr/bin/env python3
"""Conformance checks for a WaQtor RPC server, written from docs/PROTOCOL.md alone.

Standard library only: the few protobuf messages it needs are encoded and parsed by hand.

    python3 tools/protocol_conformance.py --host 127.0.0.1 --port 7420

Prints one line per check (PASS/FAIL) and exits 1 if any check failed, 2 if the server could not
be reached at all. Every socket operation has a timeout, so a broken server fails the run instead
of hanging it. --trace prints every frame sent and received as hex (also enabled by the
environment variable WAQTOR_CONFORMANCE_TRACE=1).
"""

import argparse
import os
import socket
import struct
import sys
import time

# Frame types (docs/PROTOCOL.md, "Frame types").
HELLO, REQUEST, MESSAGE, END, CANCEL, PING, GOAWAY = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
TYPE_NAMES = {1: "HELLO", 2: "REQUEST", 3: "MESSAGE", 4: "END", 5: "CANCEL", 6: "PING", 7: "GOAWAY"}
FLAG_ACK = 0x01
MAGIC = b"WAQTOR"
VERSION = 1

# Status codes (docs/PROTOCOL.md, "Status codes").
STATUS_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]
OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, UNIMPLEMENTED = 0, 3, 8, 9, 12

PING_METHOD = "waqtor.v1.HealthService/Ping"
READINESS_METHOD = "waqtor.v1.HealthService/Readiness"

TRACE = False


def status_name(code):
    return STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else "UNKNOWN(%d)" % code


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_frame(frame_type, call_id, payload=b"", flags=0):
    """length:u32 (type+flags+call id+payload) | type:u8 | flags:u8 | call_id:u32 | payload."""
    return struct.pack(">IBBI", 6 + len(payload), frame_type, flags, call_id) + payload


def encode_metadata(entries):
    """count:u16, then per entry key_len:u16 | key | value_len:u32 | value."""
    out = struct.pack(">H", len(entries))
    for key, value in entries:
        k = key.encode("ascii") if isinstance(key, str) else key
        v = value.encode("utf-8") if isinstance(value, str) else value
        out += struct.pack(">H", len(k)) + k + struct.pack(">I", len(v)) + v
    return out


def encode_request(method, message=b"", metadata=(), timeout_micros=0):
    """timeout_micros:u64 | method_len:u16 | method | metadata | message."""
    m = method.encode("utf-8")
    return struct.pack(">QH", timeout_micros, len(m)) + m + encode_metadata(list(metadata)) + message


def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_ping_request(payload):
    """waqtor.v1.PingRequest { bytes payload = 1; } (an empty payload encodes to no bytes)."""
    if not payload:
        return b""
    return b"\x0a" + encode_varint(len(payload)) + payload


# ---------------------------------------------------------------------------------------------
# Decoding


def read_varint(data, pos):
    shift, value = 0, 0
    while True:
        require(pos < len(data), "truncated varint in a protobuf message")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        require(shift < 70, "varint longer than 10 bytes")


def parse_protobuf(data):
    """Returns {field_number: [value, ...]}; length-delimited values are bytes, varints ints."""
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 2:
            length, pos = read_varint(data, pos)
            require(pos + length <= len(data), "truncated length-delimited protobuf field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            require(pos + 8 <= len(data), "truncated fixed64 protobuf field")
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            require(pos + 4 <= len(data), "truncated fixed32 protobuf field")
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise CheckFailed("unsupported protobuf wire type %d" % wire)
        fields.setdefault(number, []).append(value)
    return fields


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n, what):
        require(self.pos + n <= len(self.data), "payload ends inside %s" % what)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self, what):
        return self.take(1, what)[0]

    def u16(self, what):
        return struct.unpack(">H", self.take(2, what))[0]

    def u32(self, what):
        return struct.unpack(">I", self.take(4, what))[0]

    def rest(self):
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk


def read_metadata(reader):
    entries = []
    for _ in range(reader.u16("the metadata count")):
        key = reader.take(reader.u16("a metadata key length"), "a metadata key").decode("ascii")
        value = reader.take(reader.u32("a metadata value length"), "a metadata value").decode("utf-8")
        entries.append((key, value))
    return entries


def parse_end(payload):
    """status:u8 | message_len:u16 | message | metadata | response message bytes."""
    reader = Reader(payload)
    status = reader.u8("the END status")
    message = reader.take(reader.u16("the END message length"), "the END message").decode("utf-8")
    metadata = read_metadata(reader)
    return status, message, metadata, reader.rest()


def parse_goaway(payload):
    """last_call_id:u32 | status:u8 | message_len:u16 | message."""
    reader = Reader(payload)
    last = reader.u32("the GOAWAY last call id")
    status = reader.u8("the GOAWAY status")
    message = reader.take(reader.u16("the GOAWAY message length"), "the GOAWAY message").decode("utf-8")
    return last, status, message


def parse_hello(payload):
    """magic "WAQTOR" | version:u8 | max_frame_length:u32 | max_concurrent_calls:u32 | idle_timeout_ms:u32."""
    reader = Reader(payload)
    require(reader.take(6, "the HELLO magic") == MAGIC, "HELLO does not start with WAQTOR")
    version = reader.u8("the HELLO version")
    return version, reader.u32("max_frame_length"), reader.u32("max_concurrent_calls"), reader.u32("idle_timeout_ms")


def metadata_get(entries, key):
    for k, v in entries:
        if k == key:
            return v
    return None


# ---------------------------------------------------------------------------------------------
# Connection


class Connection:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.eof = False
        self.limits = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        if TRACE:
            print("    >> %s" % data.hex(" "))
        self.sock.sendall(data)

    def send(self, frame_type, call_id, payload=b"", flags=0):
        self.send_raw(encode_frame(frame_type, call_id, payload, flags))

    def _fill(self, n):
        while len(self.buffer) < n and not self.eof:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise CheckFailed("timed out waiting for the server")
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
            self.buffer += chunk
        return len(self.buffer) >= n

    def recv_frame(self):
        """Returns (type, flags, call_id, payload), or None when the server closed the connection."""
        if not self._fill(4):
            require(not self.buffer, "the connection closed inside a frame header")
            return None
        (length,) = struct.unpack(">I", self.buffer[:4])
        require(length >= 6, "the server sent a frame length of %d (below 6)" % length)
        require(self._fill(4 + length), "the connection closed inside a frame")
        frame, self.buffer = self.buffer[:4 + length], self.buffer[4 + length:]
        if TRACE:
            print("    << %s" % frame.hex(" "))
        _, frame_type, flags, call_id = struct.unpack(">IBBI", frame[:10])
        return frame_type, flags, call_id, frame[10:]

    def expect_frame(self, what):
        frame = self.recv_frame()
        require(frame is not None, "the connection closed while waiting for %s" % what)
        return frame

    def hello(self, payload=None):
        """Sends HELLO and returns the server's (version, max_frame_length, max_calls, idle_ms)."""
        if payload is None:
            payload = MAGIC + bytes([VERSION]) + b"\x00" * 12
        self.send(HELLO, 0, payload)
        frame_type, _, call_id, reply = self.expect_frame("the server's HELLO")
        require(frame_type == HELLO, "expected HELLO, got %s" % TYPE_NAMES.get(frame_type, frame_type))
        require(call_id == 0, "the server's HELLO has call id %d, not 0" % call_id)
        require(len(reply) == 19, "the server's HELLO payload is %d bytes, not 19" % len(reply))
        self.limits = parse_hello(reply)
        return self.limits

    def request(self, call_id, method, message=b"", metadata=(), timeout_micros=0):
        self.send(REQUEST, call_id, encode_request(method, message, metadata, timeout_micros))

    def next_end(self, what="an END"):
        """Skips PING ACKs and MESSAGEs of other calls; returns (call_id, status, msg, metadata, body)."""
        while True:
            frame_type, _, call_id, payload = self.expect_frame(what)
            if frame_type == END:
                status, message, metadata, body = parse_end(payload)
                return call_id, status, message, metadata, body
            require(frame_type in (PING, MESSAGE), "expected END, got %s" % TYPE_NAMES.get(frame_type, frame_type))

    def expect_goaway_and_close(self, what):
        """Reads frames until GOAWAY, then expects the connection to close. Returns the GOAWAY and the
        frames seen before it."""
        before = []
        while True:
            frame = self.expect_frame("GOAWAY (%s)" % what)
            if frame[0] == GOAWAY:
                require(frame[2] == 0, "GOAWAY has call id %d, not 0" % frame[2])
                goaway = parse_goaway(frame[3])
                break
            before.append(frame)
        trailing = self.recv_frame()
        require(trailing is None, "expected the connection to close after GOAWAY, got %s" % (trailing,))
        return goaway, before


# ---------------------------------------------------------------------------------------------
# Checks


class Suite:
    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.failures = 0
        self.max_frame_length = None

    def connect(self):
        return Connection(self.host, self.port, self.timeout)

    def open(self):
        conn = self.connect()
        conn.hello()
        return conn

    def run(self, name, check):
        try:
            detail = check()
            print("PASS %s%s" % (name, (": " + detail) if detail else ""))
        except CheckFailed as error:
            self.failures += 1
            print("FAIL %s: %s" % (name, error))
        except (OSError, struct.error, UnicodeDecodeError) as error:
            self.failures += 1
            print("FAIL %s: %s: %s" % (name, type(error).__name__, error))
        sys.stdout.flush()

    def ping(self, conn, call_id, payload, metadata=(), timeout_micros=0):
        conn.request(call_id, PING_METHOD, encode_ping_request(payload), metadata, timeout_micros)

    def check_ping_end(self, end, call_id, payload):
        got_id, status, message, metadata, body = end
        require(got_id == call_id, "END for call %d, expected %d" % (got_id, call_id))
        require(status == OK, "status %s (%r), expected OK" % (status_name(status), message))
        fields = parse_protobuf(body)
        echoed = fields.get(1, [b""])[-1]
        require(echoed == payload, "PingResponse.payload is %r, expected %r" % (echoed, payload))
        return metadata, fields

    # -- the checks --

    def hello_exchange(self):
        conn = self.connect()
        try:
            version, max_frame, max_calls, idle_ms = conn.hello()
        finally:
            conn.close()
        require(version == VERSION, "server speaks version %d" % version)
        require(max_frame >= 64, "max_frame_length %d is implausibly small" % max_frame)
        require(max_calls >= 1, "max_concurrent_calls is 0")
        require(idle_ms >= 1, "idle_timeout_ms is 0")
        self.max_frame_length = max_frame
        return "version %d, max_frame_length %d, max_concurrent_calls %d, idle_timeout_ms %d" % (
            version, max_frame, max_calls, idle_ms)

    def short_hello(self):
        conn = self.connect()
        try:
            conn.hello(MAGIC + bytes([VERSION]))
            self.ping(conn, 1, b"x")
            self.check_ping_end(conn.next_end(), 1, b"x")
        finally:
            conn.close()
        return "a 7-byte client HELLO (magic + version) is accepted"

    def ping_call(self):
        conn = self.open()
        try:
            # The worked example of docs/PROTOCOL.md: call 1, 5 s timeout, request-id req-1.
            self.ping(conn, 1, b"hi", [("request-id", "req-1")], timeout_micros=5_000_000)
            metadata, fields = self.check_ping_end(conn.next_end(), 1, b"hi")
        finally:
            conn.close()
        echoed = metadata_get(metadata, "request-id")
        require(echoed == "req-1", "request-id in END metadata is %r" % echoed)
        require(2 in fields, "PingResponse has no server_time (field 2)")
        timestamp = parse_protobuf(fields[2][-1])
        seconds = timestamp.get(1, [0])[-1]
        require(abs(seconds - time.time()) < 24 * 3600, "server_time.seconds %d is not near now" % seconds)
        return "payload echoed, request-id echoed, server_time.seconds=%d" % seconds

    def generated_request_id(self):
        conn = self.open()
        try:
            self.ping(conn, 7, b"")
            metadata, _ = self.check_ping_end(conn.next_end(), 7, b"")
        finally:
            conn.close()
        generated = metadata_get(metadata, "request-id")
        require(generated, "no request-id in END metadata of a call sent without one")
        return "server generated request-id %r" % generated

    def pipelined(self):
        conn = self.connect()
        try:
            ids = [1, 2, 5, 9, 10]
            # HELLO and every REQUEST in one write: clients may pipeline calls right after HELLO.
            data = encode_frame(HELLO, 0, MAGIC + bytes([VERSION]) + b"\x00" * 12)
            for call_id in ids:
                data += encode_frame(REQUEST, call_id, encode_request(
                    PING_METHOD, encode_ping_request(b"call-%d" % call_id)))
            conn.send_raw(data)
            frame_type, _, _, _ = conn.expect_frame("the server's HELLO")
            require(frame_type == HELLO, "first frame from the server is %s, not HELLO" % TYPE_NAMES.get(frame_type))
            seen = {}
            for _ in ids:
                end = conn.next_end()
                require(end[0] in ids and end[0] not in seen, "unexpected END for call %d" % end[0])
                self.check_ping_end(end, end[0], b"call-%d" % end[0])
                seen[end[0]] = True
        finally:
            conn.close()
        return "%d calls answered by call id" % len(ids)

    def ping_ack(self):
        conn = self.open()
        try:
            data = bytes([1, 2, 3, 4, 0xFA, 0xFB, 0xFC, 0xFD])
            conn.send(PING, 0, data)
            frame_type, flags, call_id, payload = conn.expect_frame("PING ACK")
            require(frame_type == PING, "expected PING, got %s" % TYPE_NAMES.get(frame_type))
            require(flags & FLAG_ACK, "PING answer lacks the ACK flag")
            require(call_id == 0, "PING ACK has call id %d" % call_id)
            require(payload == data, "PING ACK payload %s differs from %s" % (payload.hex(), data.hex()))
        finally:
            conn.close()
        return "ACK with the same 8 bytes"

    def unknown_method(self):
        conn = self.open()
        try:
            conn.request(1, "waqtor.v1.NoSuchService/Nothing", b"")
            call_id, status, message, _, _ = conn.next_end()
            require(call_id == 1, "END for call %d" % call_id)
            require(status == UNIMPLEMENTED, "status %s (%r), expected UNIMPLEMENTED" % (status_name(status), message))
            self.ping(conn, 2, b"after")
            self.check_ping_end(conn.next_end(), 2, b"after")
        finally:
            conn.close()
        return "UNIMPLEMENTED (%r); connection still serves" % message

    def malformed_message(self):
        conn = self.open()
        try:
            conn.request(1, PING_METHOD, b"\x0a\xff")
            call_id, status, message, _, _ = conn.next_end()
            require(call_id == 1, "END for call %d" % call_id)
            require(status == INVALID_ARGUMENT, "status %s (%r), expected INVALID_ARGUMENT" % (status_name(status), message))
            self.ping(conn, 2, b"after")
            self.check_ping_end(conn.next_end(), 2, b"after")
        finally:
            conn.close()
        return "INVALID_ARGUMENT (%r)" % message

    def truncated_head(self):
        conn = self.open()
        try:
            heads = [
                b"\x00\x00\x00",                                   # shorter than the timeout
                struct.pack(">QH", 0, 0xFFFF) + b"AB",             # method length beyond the payload
                struct.pack(">QH", 0, len(PING_METHOD)) + PING_METHOD.encode(),  # no metadata count
                struct.pack(">QH", 0, len(PING_METHOD)) + PING_METHOD.encode() + struct.pack(">HH", 1, 40) + b"ab",
            ]
            for index, head in enumerate(heads, start=1):
                conn.send(REQUEST, index, head)
                call_id, status, message, _, _ = conn.next_end()
                require(call_id == index, "END for call %d, expected %d" % (call_id, index))
                require(status == INVALID_ARGUMENT,
                        "head %d: status %s (%r), expected INVALID_ARGUMENT" % (index, status_name(status), message))
            after = len(heads) + 1
            self.ping(conn, after, b"still here")
            self.check_ping_end(conn.next_end(), after, b"still here")
        finally:
            conn.close()
        return "%d truncated heads each got INVALID_ARGUMENT; a following Ping succeeded" % len(heads)

    def bad_metadata_key(self):
        conn = self.open()
        try:
            bad = [("", "empty"), ("has space", "x"), ("k" * 256, "too long")]
            for index, entry in enumerate(bad, start=1):
                conn.request(index, PING_METHOD, b"", [entry])
                call_id, status, message, _, _ = conn.next_end()
                require(call_id == index and status == INVALID_ARGUMENT,
                        "key %r: call %d status %s (%r)" % (entry[0][:20], call_id, status_name(status), message))
            conn.request(10, PING_METHOD, encode_ping_request(b"k"), [("X-Custom-Key", "v"), ("Request-ID", "mixed-case")])
            metadata, _ = self.check_ping_end(conn.next_end(), 10, b"k")
            echoed = metadata_get(metadata, "request-id")
            require(echoed == "mixed-case", "request-id sent as 'Request-ID' came back as %r" % echoed)
        finally:
            conn.close()
        return "invalid keys get INVALID_ARGUMENT; keys are case-insensitive"

    def cancel_unknown(self):
        conn = self.open()
        try:
            conn.send(CANCEL, 42)
            self.ping(conn, 1, b"c")
            self.check_ping_end(conn.next_end(), 1, b"c")
        finally:
            conn.close()
        return "CANCEL of an unknown call is ignored"

    def deadline(self):
        conn = self.open()
        try:
            self.ping(conn, 1, b"deadline", timeout_micros=5_000_000)
            self.check_ping_end(conn.next_end(), 1, b"deadline")
            conn.request(2, READINESS_METHOD, b"", timeout_micros=5_000_000)
            call_id, status, message, _, body = conn.next_end()
            require(call_id == 2 and status == OK, "Readiness: call %d status %s (%r)" % (call_id, status_name(status), message))
            fields = parse_protobuf(body)
            # The largest timeout the field can carry is a valid (practically infinite) deadline.
            self.ping(conn, 3, b"forever", timeout_micros=0xFFFFFFFFFFFFFFFF)
            self.check_ping_end(conn.next_end(), 3, b"forever")
        finally:
            conn.close()
        return "Ping and Readiness with a 5 s timeout, and Ping with timeout 2^64-1, succeed (ready=%s)" % bool(
            fields.get(1, [0])[-1])

    def oversized(self):
        if self.max_frame_length is None:
            raise CheckFailed("no max_frame_length (the HELLO check failed)")
        conn = self.open()
        try:
            self.ping(conn, 1, b"first")
            self.check_ping_end(conn.next_end(), 1, b"first")
            # Only the header: the server answers as soon as it sees the length, without the payload.
            conn.send_raw(struct.pack(">IBBI", self.max_frame_length + 1, REQUEST, 0, 2))
            call_id, status, message, _, _ = conn.next_end("END for the oversized REQUEST")
            require(call_id == 2, "END for call %d, expected 2" % call_id)
            require(status == RESOURCE_EXHAUSTED, "status %s (%r), expected RESOURCE_EXHAUSTED" % (status_name(status), message))
            (last, goaway_status, goaway_message), _ = conn.expect_goaway_and_close("oversized frame")
            require(goaway_status == RESOURCE_EXHAUSTED,
                    "GOAWAY status %s (%r), expected RESOURCE_EXHAUSTED" % (status_name(goaway_status), goaway_message))
        finally:
            conn.close()
        return "END RESOURCE_EXHAUSTED, GOAWAY RESOURCE_EXHAUSTED (last_call_id %d), closed" % last

    def request_before_hello(self):
        conn = self.connect()
        try:
            self.ping(conn, 1, b"too early")
            (last, status, message), before = conn.expect_goaway_and_close("REQUEST before HELLO")
            require(not before, "frames before GOAWAY: %r" % before)
            require(status == FAILED_PRECONDITION, "GOAWAY status %s, expected FAILED_PRECONDITION" % status_name(status))
            require(last == 0, "GOAWAY last_call_id %d, expected 0" % last)
        finally:
            conn.close()
        return "GOAWAY FAILED_PRECONDITION (%r), closed" % message

    def bad_version(self):
        conn = self.connect()
        try:
            conn.send(HELLO, 0, MAGIC + bytes([VERSION + 1]))
            (_, status, message), _ = conn.expect_goaway_and_close("unsupported version")
            require(status == FAILED_PRECONDITION, "GOAWAY status %s, expected FAILED_PRECONDITION" % status_name(status))
        finally:
            conn.close()
        return "GOAWAY FAILED_PRECONDITION (%r)" % message

    def bad_magic(self):
        conn = self.connect()
        try:
            conn.send(HELLO, 0, b"HTTP/1" + bytes([VERSION]))
            (_, status, message), _ = conn.expect_goaway_and_close("bad magic")
            require(status == INVALID_ARGUMENT, "GOAWAY status %s, expected INVALID_ARGUMENT" % status_name(status))
        finally:
            conn.close()
        return "GOAWAY INVALID_ARGUMENT"

    def malformed_framing(self):
        results = []
        for label, data in [("unknown type 0x7F", encode_frame(0x7F, 0)),
                            ("length 5", struct.pack(">IBBHB", 5, PING, 0, 0, 0))]:
            conn = self.open()
            try:
                conn.send_raw(data)
                (_, status, message), _ = conn.expect_goaway_and_close(label)
                require(status == INVALID_ARGUMENT, "%s: GOAWAY status %s" % (label, status_name(status)))
                results.append(label)
            finally:
                conn.close()
        return "GOAWAY INVALID_ARGUMENT for " + ", ".join(results)

    def backwards_call_id(self):
        results = []
        for label, second in [("3 after 5", 3), ("5 after 5", 5)]:
            conn = self.open()
            try:
                self.ping(conn, 5, b"five")
                self.ping(conn, second, b"again")
                (last, status, message), before = conn.expect_goaway_and_close("call id " + label)
                require(status == INVALID_ARGUMENT, "%s: GOAWAY status %s" % (label, status_name(status)))
                require(last == 5, "%s: GOAWAY last_call_id %d, expected 5" % (label, last))
                for frame in before:
                    require(frame[0] != END or frame[2] == 5, "%s: END for call %d" % (label, frame[2]))
                results.append(label)
            finally:
                conn.close()
        conn = self.open()
        try:
            self.ping(conn, 0, b"zero")
            (_, status, _), _ = conn.expect_goaway_and_close("call id 0")
            require(status == INVALID_ARGUMENT, "call id 0: GOAWAY status %s" % status_name(status))
            results.append("call id 0")
        finally:
            conn.close()
        return "GOAWAY INVALID_ARGUMENT (last_call_id 5) for " + ", ".join(results)

    def run_all(self):
        self.run("HELLO exchange and server limits", self.hello_exchange)
        self.run("short client HELLO", self.short_hello)
        self.run("Ping with payload and request-id", self.ping_call)
        self.run("request-id generated when absent", self.generated_request_id)
        self.run("pipelined calls after HELLO", self.pipelined)
        self.run("PING -> ACK", self.ping_ack)
        self.run("unknown method -> UNIMPLEMENTED", self.unknown_method)
        self.run("undecodable message -> INVALID_ARGUMENT", self.malformed_message)
        self.run("truncated REQUEST head -> INVALID_ARGUMENT, connection stays", self.truncated_head)
        self.run("metadata key rules", self.bad_metadata_key)
        self.run("CANCEL of an unknown call", self.cancel_unknown)
        self.run("calls with a 5 s deadline", self.deadline)
        self.run("oversized frame -> END + GOAWAY RESOURCE_EXHAUSTED + close", self.oversized)
        self.run("REQUEST before HELLO -> GOAWAY + close", self.request_before_hello)
        self.run("unsupported version -> GOAWAY + close", self.bad_version)
        self.run("bad HELLO magic -> GOAWAY + close", self.bad_magic)
        self.run("malformed framing -> GOAWAY + close", self.malformed_framing)
        self.run("call id not increasing -> GOAWAY + close", self.backwards_call_id)


def main():
    global TRACE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7420)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds any socket operation may take")
    parser.add_argument("--trace", action="store_true", help="print every frame as hex")
    args = parser.parse_args()
    TRACE = args.trace or os.environ.get("WAQTOR_CONFORMANCE_TRACE") == "1"

    try:
        socket.create_connection((args.host, args.port), timeout=args.timeout).close()
    except OSError as error:
        print("FAIL connect to %s:%d: %s" % (args.host, args.port, error))
        return 2
    suite = Suite(args.host, args.port, args.timeout)
    suite.run_all()
    print("%s: %d check(s) failed" % ("FAILED" if suite.failures else "OK", suite.failures))
    return 1 if suite.failures else 0


if __name__ == "__main__":
    sys.exit(main())
