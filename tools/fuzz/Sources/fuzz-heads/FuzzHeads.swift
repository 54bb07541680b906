// The payload heads of REQUEST, END and GOAWAY frames, the HELLO payload, and the metadata block
// inside the heads (docs/PROTOCOL.md).
//
// Input: byte 0 picks the decoder, the rest is the payload.
//
// Checked, for whatever a decoder accepts: written back and read again it gives the same value and
// leaves the same bytes after it (the message that follows a head); `EndHead.skip` (the client's
// fast path) agrees with `EndHead.read` on the status and on where the head ends; metadata keys are
// 1-255 printable ASCII characters, lowercase.
import FuzzSupport
import NIOCore
import WaqtorRPC

func checkMetadata(_ metadata: Metadata) {
    for entry in metadata {
        precondition(!entry.key.isEmpty && entry.key.utf8.count <= MetadataCodec.maxKeyLength, "metadata key length \(entry.key.utf8.count)")
        precondition(entry.key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !($0 >= 0x41 && $0 <= 0x5A) }, "metadata key \(entry.key.debugDescription)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeads(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let payload = ByteBuffer(bytes: input[1...])
    switch input[0] % 5 {
    case 0:
        var buffer = payload
        guard let head = try? RequestHead.read(from: &buffer) else { return 0 }
        checkMetadata(head.metadata)
        // The writer's length fields are u16 and u32: a method name whose invalid UTF-8 was
        // replaced may no longer fit, which a writer of heads it did not read never meets.
        guard head.method.utf8.count <= Int(UInt16.max) else { return 0 }
        var written = ByteBuffer()
        head.write(to: &written)
        written.writeImmutableBuffer(buffer)
        let again = try! RequestHead.read(from: &written)
        precondition(again == head, "REQUEST head \(head) came back as \(again)")
        precondition(written == buffer, "the bytes after a REQUEST head changed")
    case 1:
        var buffer = payload
        var skipped = payload
        let read = try? EndHead.read(from: &buffer)
        let status = try? EndHead.skip(from: &skipped)
        guard let head = read else { return 0 }
        checkMetadata(head.metadata)
        precondition(status == head.status, "skip read status \(String(describing: status)), read \(head.status)")
        precondition(skipped.readerIndex == buffer.readerIndex, "skip ends the END head at \(skipped.readerIndex), read at \(buffer.readerIndex)")
        guard head.message.utf8.count <= Int(UInt16.max) else { return 0 }
        var written = ByteBuffer()
        head.write(to: &written)
        written.writeImmutableBuffer(buffer)
        let again = try! EndHead.read(from: &written)
        precondition(again == head, "END head \(head) came back as \(again)")
        precondition(written == buffer, "the bytes after an END head changed")
    case 2:
        guard let goAway = try? GoAwayPayload.read(from: payload) else { return 0 }
        guard goAway.message.utf8.count <= Int(UInt16.max) else { return 0 }
        var written = ByteBuffer()
        goAway.write(to: &written)
        let again = try! GoAwayPayload.read(from: written)
        precondition(again == goAway, "GOAWAY \(goAway) came back as \(again)")
    case 3:
        guard let hello = try? HelloPayload.parse(payload) else { return 0 }
        var written = ByteBuffer()
        hello.write(to: &written)
        let again = try! HelloPayload.parse(written)
        precondition(again == hello, "HELLO \(hello) came back as \(again)")
    default:
        var buffer = payload
        guard let metadata = try? MetadataCodec.read(from: &buffer) else { return 0 }
        checkMetadata(metadata)
        var written = ByteBuffer()
        MetadataCodec.write(metadata, to: &written)
        written.writeImmutableBuffer(buffer)
        let again = try! MetadataCodec.read(from: &written)
        precondition(again == metadata, "metadata \(metadata) came back as \(again)")
        precondition(written == buffer, "the bytes after a metadata block changed")
    }
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_heads_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzHeads($0, $1) })
}
