import Dispatch
import Foundation

/// Runs programs from tests without blocking the cooperative thread pool.
public enum TestProcess {
    /// Runs `executable` to completion on a Dispatch thread (reading its output and waiting for it
    /// block); returns its exit status and its standard output and error, interleaved.
    public static func run(
        _ executable: String, _ arguments: [String], in directory: URL
    ) async throws -> (status: Int32, output: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
        }
    }
}
