import CCurl

/// One request in flight: the only owner of its easy handle, header list and body copy, freed in
/// `deinit` (after the engine has removed the handle from the multi handle).
///
/// `@unchecked Sendable` invariant: it is built by the requesting task, then handed to the engine
/// thread through the engine's lock; from then on only the engine thread touches the handle and
/// the response buffers (libcurl calls the callbacks on that thread). `continuation` is resumed
/// exactly once, by whoever removes the transfer from the engine's books under its lock.
final class CurlTransfer: @unchecked Sendable {
    let id: UInt64
    let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let requestBody: UnsafeMutableRawBufferPointer?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    let maxBodySize: Int

    var continuation: CheckedContinuation<Result<HTTPResponse, HTTPClientError>, Never>?
    var responseBody: [UInt8] = []
    var responseHeaders: [(name: String, value: String)] = []
    var bodyTooLarge = false

    init(id: UInt64, request: HTTPRequest, configuration: HTTPClientConfiguration) throws(HTTPClientError) {
        guard let easy = curl_easy_init() else { throw HTTPClientError.transport(code: -1, message: "curl_easy_init failed") }
        self.id = id
        self.easy = easy
        self.maxBodySize = configuration.maxResponseBodySize
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        if let body = request.body {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, body.count), alignment: 1)
            buffer.copyMemory(from: body.withUnsafeBytes { $0 })
            self.requestBody = buffer
        } else {
            self.requestBody = nil
        }
        try configure(request, configuration)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        requestBody?.deallocate()
        errorBuffer.deallocate()
    }

    var errorMessage: String {
        let text = String(cString: errorBuffer)
        return text.isEmpty ? "" : text
    }

    private func configure(_ request: HTTPRequest, _ configuration: HTTPClientConfiguration) throws(HTTPClientError) {
        var ok = true
        func set(_ option: CURLoption, _ value: Int) { ok = ok && waqtor_curl_setopt_long(easy, option, value) == CURLE_OK }
        func set(_ option: CURLoption, _ value: String) { ok = ok && waqtor_curl_setopt_string(easy, option, value) == CURLE_OK }

        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else { throw .invalidURL }
        set(CURLOPT_URL, request.url)  // libcurl copies strings
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_NOSIGNAL, 1)  // no SIGALRM for timeouts: we are multi-threaded
        set(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout ?? configuration.timeout))
        set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout ?? configuration.connectTimeout))
        set(CURLOPT_USERAGENT, configuration.userAgent)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        ok = ok && waqtor_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer) == CURLE_OK

        let method = request.method.uppercased()
        switch method {
        case "GET": set(CURLOPT_HTTPGET, 1)
        case "HEAD": set(CURLOPT_NOBODY, 1)
        case "POST": set(CURLOPT_POST, 1)
        default: set(CURLOPT_CUSTOMREQUEST, method)
        }
        if let requestBody, let bodyCount = request.body?.count {
            if method == "GET" || method == "HEAD" { set(CURLOPT_CUSTOMREQUEST, method) }
            set(CURLOPT_POSTFIELDSIZE, bodyCount)
            ok = ok && waqtor_curl_setopt_pointer(easy, CURLOPT_POSTFIELDS, requestBody.baseAddress) == CURLE_OK
        } else if method == "POST" {
            set(CURLOPT_POSTFIELDSIZE, 0)
            ok = ok && waqtor_curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "") == CURLE_OK
        }

        // "Expect:" turns off 100-continue round trips for larger bodies.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for header in request.headers {
            guard !header.name.contains(where: { $0 == ":" || $0 == "\r" || $0 == "\n" }),
                  !header.value.contains(where: { $0 == "\r" || $0 == "\n" })
            else {
                curl_slist_free_all(list)
                throw .transport(code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue), message: "header \"\(header.name)\" contains a line break or colon")
            }
            // "Name;" sends an empty value; "Name:" would remove the header.
            list = curl_slist_append(list, header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        headerList = list
        ok = ok && waqtor_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, list) == CURLE_OK

        let me = Unmanaged.passUnretained(self).toOpaque()
        ok = ok && waqtor_curl_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, curlWriteBody) == CURLE_OK
        ok = ok && waqtor_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, me) == CURLE_OK
        ok = ok && waqtor_curl_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader) == CURLE_OK
        ok = ok && waqtor_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, me) == CURLE_OK
        guard ok else { throw .transport(code: -1, message: "libcurl rejected an option (is libcurl >= 7.85?)") }
    }

    /// The response, read on the engine thread after the transfer completed.
    func response() -> HTTPResponse {
        var status = 0
        _ = waqtor_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: responseHeaders, body: responseBody)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

// libcurl's callbacks, on the engine thread; `userdata` is the transfer, kept alive by the engine.
private let curlWriteBody: waqtor_curl_write_callback = { pointer, size, count, userdata in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    let length = size * count
    if transfer.responseBody.count + length > transfer.maxBodySize {
        transfer.bodyTooLarge = true
        return 0  // aborts with CURLE_WRITE_ERROR
    }
    if let pointer, length > 0 {
        transfer.responseBody.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: length))
    }
    return length
}

private let curlWriteHeader: waqtor_curl_write_callback = { pointer, size, count, userdata in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    let length = size * count
    guard let pointer else { return length }
    let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        transfer.responseHeaders.removeAll()  // a new response (after 1xx or a redirect)
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        transfer.responseHeaders.append((name, value))
    }
    return length
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s.removeFirst() }
        while let last = s.last, set.contains(last) { s.removeLast() }
        return String(s)
    }
}
