// The rank page received as one packed buffer (layout in core/src/rank/packed.rs) and read here
// in one pass over its bytes. uniffi's generated reader lifts a `RankResponse` field by field,
// copying each integer out of a Foundation `Data`; on Linux that cost about 10 µs per returned
// item, more than ranking 1,000 candidates. This reader builds the same `RankResponse` value from
// the same bytes the core wrote, received from the hand-written `tailor_rank_page` in one native
// call (no RustBuffer to allocate, copy into `Data` and free).
import Foundation
#if canImport(TailorFFI)
import TailorFFI
#endif

extension Tailor {
    /// `rank(request:)`, the same `RankResponse`, received through the packed page in one native
    /// call (`tailor_rank_page`, bindings/ffi/tailor_native.h): the cheap way to rank from Swift
    /// (what `TailorClient.rank` calls). Blocks like `rank(request:)` and fails as it does.
    public func rankPage(_ request: RankRequest) throws -> RankResponse {
        // The request in uniffi's own serialization, which the core reads back as uniffi would.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        FfiConverterTypeRankRequest.write(request, into: &bytes)
        // A handle of our own for the call: the object stays alive even if released meanwhile.
        let handle = uniffiCloneHandle()
        defer {
            var status = RustCallStatus()
            uniffi_tailor_fn_free_tailor(handle, &status)
        }
        var capacity = 16 * 1024
        var out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { out.deallocate() }
        var answer = bytes.withUnsafeBytes { request in
            tailor_rank_page(handle, address(request.baseAddress), UInt32(request.count),
                             address(out.baseAddress), UInt32(capacity))
        }
        let length = Int(answer & 0xffff_ffff)
        if length > capacity {
            // The answer waits in the core for a larger buffer; the rank is not run again.
            out.deallocate()
            capacity = length
            out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
            answer = tailor_take_answer(address(out.baseAddress), UInt32(capacity))
        }
        let body = UnsafeRawBufferPointer(rebasing: out[0..<length])
        switch answer >> 32 {
        case 0:
            return try RankResponse(packedBytes: body)
        case 1:
            var reader = (data: Data(body), offset: 0)
            throw try FfiConverterTypeTailorError.read(from: &reader)
        default:
            throw TailorInternalError(message: String(decoding: body, as: UTF8.self))
        }
    }
}

private func address(_ pointer: UnsafeRawPointer?) -> UInt64 {
    UInt64(UInt(bitPattern: pointer))
}

/// A bug inside Tailor (a Rust panic), reported by `rankPage` the way the generated calls report
/// theirs: the message says where. Please report it.
public struct TailorInternalError: LocalizedError {
    public let message: String
    public var errorDescription: String? { message }
}

extension RankResponse {
    /// Reads a page `Tailor.rankPacked` returned. Another format version or a damaged buffer
    /// throws `TailorError.invalidInput`.
    public init(packed: Data) throws {
        self = try packed.withUnsafeBytes { try RankResponse(packedBytes: $0) }
    }

    init(packedBytes bytes: UnsafeRawBufferPointer) throws {
        var reader = PackedReader(bytes: bytes)
        let page = try reader.response()
        guard reader.at == bytes.count else { throw PackedReader.damaged("trailing bytes") }
        self = page
    }
}

/// Reads the little-endian layout of core/src/rank/packed.rs.
private struct PackedReader {
    /// The format version this reader knows (`packed::VERSION`).
    static let version: UInt8 = 1

    let bytes: UnsafeRawBufferPointer
    var at = 0

    static func damaged(_ what: String) -> TailorError {
        .invalidInput(message: "packed rank page: \(what)")
    }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n <= bytes.count - at else { throw Self.damaged("cut short") }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<at + n])
    }

    mutating func u8() throws -> UInt8 {
        guard at < bytes.count else { throw Self.damaged("cut short") }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u32() throws -> UInt32 {
        UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self))
    }

    mutating func i64() throws -> Int64 {
        Int64(littleEndian: try take(8).loadUnaligned(as: Int64.self))
    }

    mutating func f64() throws -> Double {
        Double(bitPattern: UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)))
    }

    mutating func string() throws -> String {
        String(decoding: try take(Int(try u32())), as: UTF8.self)
    }

    mutating func optionalString() throws -> String? {
        try u8() == 0 ? nil : try string()
    }

    mutating func attribute() throws -> Attribute {
        let kind: AttributeKind
        switch try u8() {
        case 1: kind = .category
        case 2: kind = .brand
        case 3: kind = .tag
        case 4: kind = .item
        case let k: throw Self.damaged("attribute kind \(k)")
        }
        return Attribute(kind: kind, value: try string())
    }

    mutating func reason() throws -> Reason {
        switch try u8() {
        case 1: return .similarTo(itemId: try string(), title: try string())
        case 2: return .boughtBefore(times: try i64())
        case 3: return .leftInCart
        case 4: return .viewedRecently
        case 5: return .likes(attribute: try attribute())
        case 6: return .sessionIntent(attribute: try attribute())
        case 7: return .chosenPreference(attribute: try attribute())
        case 8: return .popularNow
        case 9: return .pinned
        case 10: return .boosted(attribute: try attribute())
        case 11: return .exploration
        case 12: return .goesWith(itemId: try string(), title: try string())
        case 13: return .looksLike(itemId: try string(), title: try string())
        case 14: return .trendingInCategory(category: try string())
        case let tag: throw Self.damaged("reason tag \(tag)")
        }
    }

    mutating func fallback() throws -> Fallback? {
        switch try u8() {
        case 0: return nil
        case 1: return .coldStart
        case 2: return .optedOut
        case 3: return .modelFailed(message: try string())
        case 4: return .deadlineExceeded(scored: try u32(), candidates: try u32())
        case let tag: throw Self.damaged("fallback tag \(tag)")
        }
    }

    mutating func response() throws -> RankResponse {
        let version = try u8()
        guard version == Self.version else {
            throw Self.damaged("version \(version), this SDK reads \(Self.version)")
        }
        let count = Int(try u32())
        // Every item takes at least 13 bytes: a count beyond that is a damaged buffer.
        guard count <= (bytes.count - at) / 13 else { throw Self.damaged("cut short") }
        var items: [RankedItem] = []
        items.reserveCapacity(count)
        for _ in 0..<count {
            let itemId = try string()
            let score = try f64()
            let n = Int(try u8())
            var reasons: [Reason] = []
            reasons.reserveCapacity(n)
            for _ in 0..<n {
                reasons.append(try reason())
            }
            items.append(RankedItem(itemId: itemId, score: score, reasons: reasons))
        }
        let unknown = Int(try u32())
        guard unknown <= (bytes.count - at) / 4 else { throw Self.damaged("cut short") }
        var unknownIds: [String] = []
        unknownIds.reserveCapacity(unknown)
        for _ in 0..<unknown {
            unknownIds.append(try string())
        }
        return RankResponse(
            items: items, unknownIds: unknownIds, personalized: try u8() != 0, fallback: try fallback(),
            modelName: try string(), modelVersion: try string(), tookMicros: try i64(),
            variant: try optionalString(), experiment: try optionalString(), surface: try optionalString(),
            responseId: try string())
    }
}
