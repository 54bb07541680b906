/// A tiny, valid PNG (8-bit grayscale, stored-deflate zlib stream) drawing a QR-looking pattern
/// derived from a string: enough for a client to save, decode and show.
enum TinyPNG {
    static func qrLike(for text: String, modules: Int = 21, scale: Int = 3, border: Int = 2) -> [UInt8] {
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { seed = (seed ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var grid = [[Bool]](repeating: [Bool](repeating: false, count: modules), count: modules)
        for y in 0..<modules {
            for x in 0..<modules {
                seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
                grid[y][x] = seed & 1 == 1
            }
        }
        // Three finder patterns, like a QR code.
        for (ox, oy) in [(0, 0), (modules - 7, 0), (0, modules - 7)] {
            for y in 0..<7 {
                for x in 0..<7 {
                    let ring = max(abs(x - 3), abs(y - 3))
                    grid[oy + y][ox + x] = ring != 2
                }
            }
        }
        let size = (modules + 2 * border) * scale
        var raw: [UInt8] = []
        raw.reserveCapacity(size * (size + 1))
        for py in 0..<size {
            raw.append(0)  // filter: none
            for px in 0..<size {
                let mx = px / scale - border, my = py / scale - border
                let dark = mx >= 0 && my >= 0 && mx < modules && my < modules && grid[my][mx]
                raw.append(dark ? 0 : 255)
            }
        }
        return encode(width: size, height: size, grayscale: raw)
    }

    static func encode(width: Int, height: Int, grayscale raw: [UInt8]) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr: [UInt8] = []
        ihdr += be32(UInt32(width)) + be32(UInt32(height))
        ihdr += [8, 0, 0, 0, 0]
        png += chunk("IHDR", ihdr)
        png += chunk("IDAT", zlibStored(raw))
        png += chunk("IEND", [])
        return png
    }

    private static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length >= data.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        out += be32((b << 16) | a)
        return out
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return be32(UInt32(data.count)) + typeBytes + data + be32(crc32(typeBytes + data))
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}
