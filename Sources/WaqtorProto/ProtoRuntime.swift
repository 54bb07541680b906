// Hand-written support for the generated code in Generated/: a bump arena for the C structs built
// while encoding, and the conversions between protobuf-c's C values and Swift values.
internal import CWaqtorProto
import WaqtorRPC
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A bump allocator for the C structs, strings, bytes and arrays of one encode call.
///
/// It starts in a stack buffer (`with`); when that is full it mallocs blocks of at least 4 KiB,
/// chained through their first word, and frees them all when it goes away. Nothing it hands out
/// outlives the `with` call, and it is never copied, so it has exactly one owner.
struct ProtoArena: ~Copyable {
    private static let blockHeader = 16

    private var cursor: UnsafeMutableRawPointer
    private var end: UnsafeMutableRawPointer
    private var blocks: UnsafeMutableRawPointer?
    private var nextBlockSize = 4096

    private init(initial: UnsafeMutableRawBufferPointer) {
        cursor = initial.baseAddress!
        end = initial.baseAddress! + initial.count
        blocks = nil
    }

    deinit {
        var block = blocks
        while let b = block {
            block = b.load(as: UnsafeMutableRawPointer?.self)
            free(b)
        }
    }

    /// Runs `body` with an arena backed by a 1 KiB stack buffer (a literal size, so the compiler can
    /// always put it on the stack); frees whatever it malloc'd on return.
    @inline(__always)
    static func with<R>(_ body: (inout ProtoArena) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { raw in
            var arena = ProtoArena(initial: raw)
            return body(&arena)
        }
    }

    /// Uninitialised memory for `count` values of `type`, zero-filled.
    @inline(__always)
    mutating func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let byteCount = MemoryLayout<T>.stride * count
        let raw = allocateBytes(byteCount, alignment: MemoryLayout<T>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    @inline(__always)
    mutating func allocateBytes(_ byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let start = (Int(bitPattern: cursor) + alignment - 1) & ~(alignment - 1)
        if start + byteCount <= Int(bitPattern: end) {
            cursor = UnsafeMutableRawPointer(bitPattern: start + byteCount)!
            return UnsafeMutableRawPointer(bitPattern: start)!
        }
        return grow(byteCount, alignment: alignment)
    }

    private mutating func grow(_ byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let size = max(nextBlockSize, byteCount + alignment + Self.blockHeader)
        nextBlockSize = min(nextBlockSize * 2, 1 << 20)
        guard let block = malloc(size) else { fatalError("ProtoArena: out of memory (\(size) bytes)") }
        block.storeBytes(of: blocks, as: UnsafeMutableRawPointer?.self)
        blocks = block
        cursor = block + Self.blockHeader
        end = block + size
        return allocateBytes(byteCount, alignment: alignment)
    }

    /// A NUL-terminated copy of `string`.
    @inline(__always)
    mutating func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            let p = allocateBytes(utf8.count + 1, alignment: 1)
            if let base = utf8.baseAddress { p.copyMemory(from: base, byteCount: utf8.count) }
            p.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return p.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// A copy of `bytes` as protobuf-c binary data.
    @inline(__always)
    mutating func binaryData(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        if bytes.isEmpty { return ProtobufCBinaryData(len: 0, data: nil) }
        let p = allocateBytes(bytes.count, alignment: 1)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: p.assumingMemoryBound(to: UInt8.self))
    }
}

/// Packs a filled protobuf-c struct straight into the buffer's writable bytes.
@inline(__always)
func _protoPack<C>(
    _ message: UnsafePointer<C>, into buffer: inout ByteBuffer,
    size: (UnsafePointer<C>?) -> Int,
    pack: (UnsafePointer<C>?, UnsafeMutablePointer<UInt8>?) -> Int
) {
    let count = size(message)
    guard count > 0 else { return }
    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
        let written = pack(message, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        assert(written == count, "protobuf-c packed \(written) bytes, expected \(count)")
        return written
    }
}

/// A Swift string from a protobuf-c string (NULL or `protobuf_c_empty_string` give ""). Bytes that
/// are not valid UTF-8 make the whole message invalid (proto3 strings must be UTF-8), rather than
/// being silently repaired.
@inline(__always)
func _protoString(_ p: UnsafeMutablePointer<CChar>?) throws(ProtoDecodingError) -> String {
    guard let p, p.pointee != 0 else { return "" }
    guard let string = String(validatingCString: p) else {
        throw ProtoDecodingError(messageName: "string", byteCount: strlen(p))
    }
    return string
}

/// A Swift byte array from protobuf-c binary data.
@inline(__always)
func _protoBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard data.len > 0, let p = data.data else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: data.len))
}

// MARK: - Strings checked on the wire bytes

/// Refuses a message holding a string with U+0000, at any depth. Called by the generated decoders
/// of messages that have string fields (directly or in nested messages), after protobuf-c's
/// `unpack` accepted the bytes.
///
/// U+0000 is valid UTF-8, but protobuf-c unpacks a string into a NUL-terminated `char *`, so the
/// value would silently end at that byte ("Bad\0Inc" taken as "Bad", a password followed by
/// "\0anything" matching, an id with "\0junk" appended finding the record). Once unpacked the rest
/// is gone, so the check reads the wire bytes: each string field's length-delimited value, found
/// through the message's protobuf-c descriptor (nested messages, repeated fields, oneof members
/// and map entries alike). A message with no 0x00 byte at all cannot hold such a string, which
/// leaves most messages with one `memchr`.
@inline(__always)
func _protoCheckStrings(
    _ bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, _ messageName: String
) throws(ProtoDecodingError) {
    guard let base = bytes.baseAddress, memchr(base, 0, bytes.count) != nil else { return }
    if let invalid = ProtoWire.firstInvalidString(in: bytes, descriptor, checkUTF8: false) {
        throw ProtoDecodingError(messageName: messageName, byteCount: bytes.count, invalidString: invalid)
    }
}

/// The error for a message whose copy into Swift met a string that is not UTF-8
/// (`_protoString`, which sees a C string, not where it came from): a second look at the wire
/// bytes names the field.
func _protoStringError(
    _ bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, _ messageName: String
) -> ProtoDecodingError {
    ProtoDecodingError(
        messageName: messageName, byteCount: bytes.count,
        invalidString: ProtoWire.firstInvalidString(in: bytes, descriptor, checkUTF8: true))
}

/// A walk over protobuf wire bytes that protobuf-c has already accepted, guided by its descriptors.
/// It still checks every bound: on anything it cannot follow it stops and reports nothing, leaving
/// the verdict to `unpack`.
enum ProtoWire {
    typealias InvalidString = ProtoDecodingError.InvalidString

    /// The first string field in wire order whose value holds U+0000 or, with `checkUTF8`, is not
    /// UTF-8; its path names the fields leading to it (`plans[0].id`).
    static func firstInvalidString(
        in bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, checkUTF8: Bool
    ) -> InvalidString? {
        guard let found = walk(bytes, descriptor, checkUTF8: checkUTF8) else { return nil }
        return InvalidString(fieldPath: found.path.reversed().joined(separator: "."), problem: found.problem)
    }

    /// A refused string: its path innermost first (built on the way back up), and why.
    private struct Found {
        var path: [String]
        var problem: InvalidString.Problem
    }

    private static func walk(
        _ bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, checkUTF8: Bool
    ) -> Found? {
        var i = 0
        while i < bytes.count {
            let fieldStart = i
            guard let tag = varint(bytes, &i), let step = step(wireType: tag & 7, bytes, &i) else { return nil }
            guard case .delimited(let value) = step, let number = UInt32(exactly: tag >> 3),
                  let field = protobuf_c_message_descriptor_get_field(descriptor, number)
            else { continue }
            var found: Found?
            if field.pointee.type == PROTOBUF_C_TYPE_STRING {
                if let base = value.baseAddress, memchr(base, 0, value.count) != nil {
                    found = Found(path: [], problem: .containsNUL)
                } else if checkUTF8, String(validating: value, as: UTF8.self) == nil {
                    found = Found(path: [], problem: .notUTF8)
                }
            } else if field.pointee.type == PROTOBUF_C_TYPE_MESSAGE, let sub = field.pointee.descriptor {
                found = walk(value, sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self), checkUTF8: checkUTF8)
            }
            guard var found else { continue }
            var name = String(cString: field.pointee.name)
            if field.pointee.label == PROTOBUF_C_LABEL_REPEATED {
                name += "[\(occurrences(of: number, in: bytes, before: fieldStart))]"
            }
            found.path.append(name)
            return found
        }
        return nil
    }

    /// How many times field `number` occurs in `bytes` before offset `end`: the index of a
    /// repeated element (each one of a repeated string or message is its own field on the wire).
    private static func occurrences(of number: UInt32, in bytes: UnsafeRawBufferPointer, before end: Int) -> Int {
        var i = 0
        var count = 0
        while i < end {
            guard let tag = varint(bytes, &i), step(wireType: tag & 7, bytes, &i) != nil else { break }
            if tag >> 3 == UInt64(number) { count += 1 }
        }
        return count
    }

    private static func varint(_ bytes: UnsafeRawBufferPointer, _ i: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count, shift < 64 {
            let byte = bytes[i]
            i += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// One field's value as the walk steps over it.
    private enum Step {
        /// A varint or fixed-size value (never a string or a message).
        case scalar
        /// A length-delimited value's bytes: a string, bytes, a message or a packed array.
        case delimited(UnsafeRawBufferPointer)
    }

    /// Steps `i` over one field's value; nil for bytes it cannot follow (groups are refused by
    /// protobuf-c, so they never get here).
    private static func step(wireType: UInt64, _ bytes: UnsafeRawBufferPointer, _ i: inout Int) -> Step? {
        switch wireType {
        case 0:
            guard varint(bytes, &i) != nil else { return nil }
            return .scalar
        case 1, 5:
            let size = wireType == 1 ? 8 : 4
            guard bytes.count - i >= size else { return nil }
            i += size
            return .scalar
        case 2:
            guard let length = varint(bytes, &i), length <= UInt64(bytes.count - i) else { return nil }
            let start = i
            i += Int(length)
            return .delimited(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        default:
            return nil
        }
    }
}
