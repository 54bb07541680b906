import Foundation

extension Array where Element: Sendable {
    /// `transform` applied to every element, in order, on as many slices as there are cores (one
    /// slice per `minimumSlice` elements at most): for CPU-bound work over large batches (phone
    /// parsing, template rendering).
    public func concurrentMap<T: Sendable>(minimumSlice: Int, _ transform: @escaping @Sendable (Element) -> T) async -> [T] {
        let slices = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / Swift.max(1, minimumSlice)))
        guard slices > 1 else { return map(transform) }
        let size = (count + slices - 1) / slices
        return await withTaskGroup(of: (Int, [T]).self) { group in
            for slice in 0..<slices {
                let part = Array(self[(slice * size)..<Swift.min(count, (slice + 1) * size)])
                group.addTask { (slice, part.map(transform)) }
            }
            var parts: [(Int, [T])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }
}
