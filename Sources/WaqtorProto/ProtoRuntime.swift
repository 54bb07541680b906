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
