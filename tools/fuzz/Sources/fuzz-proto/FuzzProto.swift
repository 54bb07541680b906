// Every generated protobuf message's decoder (protobuf-c's unpack, then the generated copy into
// Swift, the NUL and UTF-8 checks of string fields).
//
// Input: byte 0 picks the message type among `waqtorAllMessageTypes`; the rest is its encoding.
//
// Checked, for whatever decodes: encoded again, the bytes decode (an encoder never produces bytes
// its own decoder refuses) to a value that encodes to the same bytes again (decode, encode, decode
// gives the same value: compared as bytes, so that a NaN in a double field compares equal), and to
// an equal value when the message has no floating-point NaN in it.
import FuzzSupport
import NIOCore
import WaqtorProto
import WaqtorRPC

func roundTrip<M: ProtoMessage>(_ type: M.Type, _ bytes: UnsafeRawBufferPointer) {
    let first: M
    do { first = try M(serializedBytes: bytes) } catch { return }
    let encoded = first.serializedBytes()
    let second: M
    do {
        second = try M(serializedBytes: encoded)
    } catch {
        preconditionFailure("\(M.protoMessageName): re-encoded bytes \(encoded) do not decode: \(error)")
    }
    let reencoded = second.serializedBytes()
    precondition(encoded == reencoded, "\(M.protoMessageName): decode, encode, decode, encode gave \(reencoded), not \(encoded)")
    // Equal values unless a NaN is inside (NaN != NaN); the bytes above already compared those.
    if first != second && "\(first)".contains("nan") == false {
        preconditionFailure("\(M.protoMessageName): \(first) came back as \(second)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProto(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let type = waqtorAllMessageTypes[Int(input[0]) % waqtorAllMessageTypes.count]
    roundTrip(type, UnsafeRawBufferPointer(rebasing: input[1...]))
    return 0
}

// libFuzzer's driver, from the `main` SwiftPM gives this executable (FuzzSupport).
@_cdecl("fuzz_proto_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, { fuzzProto($0, $1) })
}
