/// Reads `POST /_sim/faults` bodies:
/// `{"faults":[{"kind":"status","status":429,"retry_after":2},{"kind":"error_in_body","status":502},
/// {"kind":"slow","ms":3000},{"kind":"unusable"},{"kind":"not_json"},{"kind":"truncated"}]}`.
/// The whole body is refused on the first bad entry, so a typo never queues half a scenario.
enum FaultJSON {
    struct Invalid: Error {
        var message: String
    }

    static func faults(from body: [UInt8]) throws(Invalid) -> [Fault] {
        guard let object = JSONText.parse(body) as? [String: Any], let entries = object["faults"] as? [Any] else {
            throw Invalid(message: #"expected {"faults":[{"kind":…},…]}"#)
        }
        var faults: [Fault] = []
        for (index, entry) in entries.enumerated() {
            guard let entry = entry as? [String: Any], let kind = entry["kind"] as? String else {
                throw Invalid(message: "faults[\(index)]: expected an object with a kind")
            }
            faults.append(try fault(kind, entry, at: index))
        }
        return faults
    }

    private static func fault(_ kind: String, _ entry: [String: Any], at index: Int) throws(Invalid) -> Fault {
        switch kind {
        case "status":
            let retryAfter = entry["retry_after"] as? Int
            if let retryAfter, retryAfter < 0 { throw Invalid(message: "faults[\(index)].retry_after: expected seconds, 0 or more") }
            return .status(try status(entry, at: index), retryAfterSeconds: retryAfter)
        case "error_in_body":
            return .errorInBody(try status(entry, at: index))
        case "slow":
            guard let milliseconds = entry["ms"] as? Int, milliseconds >= 0 else {
                throw Invalid(message: "faults[\(index)].ms: expected milliseconds, 0 or more")
            }
            return .slow(milliseconds: milliseconds)
        case "unusable": return .unusable
        case "not_json": return .notJSON
        case "truncated": return .truncated
        default:
            throw Invalid(message: "faults[\(index)].kind: expected status, error_in_body, slow, unusable, not_json or truncated")
        }
    }

    private static func status(_ entry: [String: Any], at index: Int) throws(Invalid) -> Int {
        guard let status = entry["status"] as? Int, (100...599).contains(status) else {
            throw Invalid(message: "faults[\(index)].status: expected an HTTP status (100…599)")
        }
        return status
    }
}
