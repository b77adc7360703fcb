import Foundation
import XCTest
import Tailor

/// The packed page (`Tailor.rankPage`, what `TailorClient.rank` calls) gives the response the
/// generated `rank(request:)` lifts, field for field, for every kind of page; mirrors
/// core/tests/it/rank_page.rs.
final class RankPageTests: XCTestCase {
    private let now = TestSupport.now
    private let day = TestSupport.day

    /// The same page: only the per-call response id and timing differ between two calls.
    private func comparable(_ r: RankResponse) -> RankResponse {
        var r = r
        r.responseId = ""
        r.tookMicros = 0
        return r
    }

    func testEveryKindOfPageReadsBackAsRankGivesIt() async throws {
        let client = try await TestSupport.openWithLearningCatalog(self)
        let t = client.native
        let cold = RankRequest(limit: 5, now: now)
        XCTAssertEqual(comparable(try t.rankPage(cold)), comparable(try t.rank(request: cold)))
        XCTAssertEqual(try t.rankPage(cold).fallback, .coldStart)

        let at = { (seconds: Int64) in Date(timeIntervalSince1970: TimeInterval(seconds)) }
        try await client.track(.purchase("toys-2", at: at(now - 3 * day)))
        try await client.track(.view("books-1", at: at(now - day), sessionId: "s1"))
        try await client.track(.addToCart("toys-3", at: at(now - 3_600), sessionId: "s1"))
        try await client.setPreferences([.category("shoes")])
        try await client.defineCandidateSet("mixed", itemIds: ["shoes-0", "toys-3", "ghost", "books-1", "toys-2", "books-2"])
        let requests = [
            RankRequest(limit: 12, sessionId: "s1", now: now),
            RankRequest(limit: 4, now: now, candidateSet: "mixed"),
            RankRequest(limit: 6, now: now,
                        rules: BusinessRules(pinned: [Pin(itemId: "books-3", position: 0)],
                                             boosts: [Boost(attribute: .brand("zeta"), weight: 2)]),
                        exploration: ExplorationOptions(rate: 0.5, seed: 7)),
            RankRequest(limit: 3, now: now, kind: .similar, contextItemIds: ["toys-1"]),
            RankRequest(limit: 3, now: now, kind: .trending),
            RankRequest(limit: 5, now: now, deadlineMs: 0),
        ]
        var kinds = Set<String>()
        for request in requests {
            let full = try t.rank(request: request)
            let page = try t.rankPage(request)
            XCTAssertEqual(comparable(page), comparable(full), "\(request)")
            XCTAssertNotEqual(page.responseId, full.responseId, "a fresh id per call")
            for item in page.items {
                for reason in item.reasons {
                    kinds.insert(String(String(describing: reason).prefix(while: { $0 != "(" })))
                }
            }
        }
        XCTAssertGreaterThanOrEqual(kinds.count, 5, "the pages carry several kinds of reasons: \(kinds)")
        XCTAssertEqual(try t.rankPage(requests[1]).unknownIds, ["ghost"])
        guard case .deadlineExceeded = try t.rankPage(requests[5]).fallback else {
            return XCTFail("a zero deadline skips the model")
        }
        // The idiomatic call goes through the packed page.
        let viaClient = try await client.rank(requests[0])
        XCTAssertEqual(comparable(viaClient), comparable(try t.rank(request: requests[0])))
        await client.close()
    }

    func testADamagedPageIsAnErrorNotACrash() async throws {
        let client = try await TestSupport.openWithLearningCatalog(self)
        let bytes = try client.native.rankPacked(request: RankRequest(limit: 3, now: now))
        XCTAssertEqual(bytes.first, 1, "format version 1")
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try RankResponse(packed: bytes.prefix(cut)), "cut at \(cut)") { error in
                guard case TailorError.invalidInput = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try RankResponse(packed: bytes + [0]))
        var newer = bytes
        newer[newer.startIndex] = 2
        XCTAssertThrowsError(try RankResponse(packed: newer)) { error in
            XCTAssertTrue((error as? TailorError)?.message.contains("version") ?? false, "\(error)")
        }
        await client.close()
    }

    /// Pages and requests larger than the 16 kB answer buffer a call starts with arrive whole.
    func testLargePagesAndLargeRequestsArriveWhole() async throws {
        let client = try await TailorClient(config: TailorConfig(directory: TestSupport.tempDir(self)))
        let items = (0..<3000).map { i in
            Item(id: "item-with-a-long-identifier-\(i)", title: "Item \(i)", category: "c\(i % 7)",
                 price: 1.0 + Double(i % 50))
        }
        _ = try await client.upsertItems(items)
        let t = client.native
        let all = RankRequest(limit: 1000, now: now)
        let page = try t.rankPage(all)
        XCTAssertEqual(page.items.count, 1000)
        XCTAssertEqual(comparable(page), comparable(try t.rank(request: all)))
        let ids = items.map(\.id) + (0..<2000).map { "unknown-\($0)" }
        let many = RankRequest(candidateIds: ids, limit: 20, now: now)
        let ranked = try t.rankPage(many)
        XCTAssertEqual(ranked.unknownIds.count, 2000)
        XCTAssertEqual(comparable(ranked), comparable(try t.rank(request: many)))
        await client.close()
    }

    /// Failures are the generated call's `TailorError`s, with the same messages.
    func testFailuresAreTheGeneratedErrors() async throws {
        let client = try await TestSupport.openWithLearningCatalog(self)
        let t = client.native
        let unknown = RankRequest(limit: 3, now: now, candidateSet: "nope")
        var viaPage: TailorError?
        XCTAssertThrowsError(try t.rankPage(unknown)) { viaPage = $0 as? TailorError }
        var viaRank: TailorError?
        XCTAssertThrowsError(try t.rank(request: unknown)) { viaRank = $0 as? TailorError }
        guard case .notFound = viaPage else { return XCTFail("\(String(describing: viaPage))") }
        XCTAssertEqual(viaPage?.message, viaRank?.message)
        XCTAssertThrowsError(try t.rankPage(RankRequest(limit: 0))) { error in
            guard case TailorError.invalidInput = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try t.rankPage(RankRequest(limit: 3, now: now)).items.count, 3)
        t.close()
        XCTAssertThrowsError(try t.rankPage(RankRequest(limit: 3, now: now))) { error in
            guard case TailorError.closed = error else { return XCTFail("\(error)") }
        }
        await client.close()
    }
}
