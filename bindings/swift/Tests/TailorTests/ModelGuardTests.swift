import Foundation
import XCTest
import Tailor

/// Issue 18: the model guard rolls a degrading model back by itself; deadlines never fail a call.
final class ModelGuardTests: XCTestCase {
    private let now = TestSupport.nowDate

    private func config(_ dir: String, guardMinRanks: UInt32 = 50, rankDeadlineMs: UInt32? = nil) -> TailorConfig {
        var c = TailorConfig(directory: dir)
        c.maxEventAgeDays = 36_500
        c.guardMinRanks = guardMinRanks
        c.rankDeadlineMs = rankDeadlineMs
        return c
    }

    private func shopper(_ t: TailorClient) async throws {
        try await t.importCatalogCsv(path: TestSupport.catalogCsv)
        try await t.track(.purchase("kitchen-1", at: now - 3 * 86_400))
        try await t.loadModel(path: TestSupport.path("models/linear-ranker"))
    }

    private func assertQuarantined(_ t: TailorClient, _ path: String) async {
        do {
            try await t.loadModel(path: path)
            XCTFail("the rolled-back model loaded again")
        } catch TailorError.modelRejected(let problem, let message) {
            XCTAssertEqual(problem, .quarantined, message)
        } catch {
            XCTFail("\(error)")
        }
    }

    func testAModelThatScoresNanOnRealItemsIsRolledBackAndStaysRefused() async throws {
        let dir = TestSupport.tempDir(self)
        let degrading = TestSupport.path("tests/fixtures/models/nan_on_real_items")
        let t = try await TailorClient(config: config(dir, guardMinRanks: 5))
        try await shopper(t)
        let info = try await t.loadModel(path: degrading)
        XCTAssertEqual(info.name, "fixture-nan-on-real-items")
        var calls = 0
        while t.model.name == "fixture-nan-on-real-items" {
            let page = try await t.rank(limit: 3, now: now)
            guard case .modelFailed? = page.fallback else { return XCTFail("\(String(describing: page.fallback))") }
            calls += 1
            if calls > 5 { return XCTFail("not rolled back after \(calls) calls") }
        }
        XCTAssertEqual(calls, 5)
        let page = try await t.rank(limit: 3, now: now)
        XCTAssertTrue(page.personalized)
        XCTAssertEqual(page.modelName, "linear-ranker")

        let notices = try await t.status().notices.filter { $0.message.hasPrefix("model guard rolled back") }
        XCTAssertEqual(notices.count, 1)
        XCTAssertTrue(notices[0].message.contains("after 5 rank calls"), notices[0].message)
        let guardStats = try await t.metrics().engine.modelGuard
        XCTAssertTrue(guardStats.enabled)
        XCTAssertEqual(guardStats.ranks, 1)
        XCTAssertNil(guardStats.driftPsi)
        XCTAssertEqual(guardStats.rollbacks.map(\.name), ["fixture-nan-on-real-items"])
        XCTAssertEqual(guardStats.rollbacks.first?.replacedBy, "linear-ranker")
        XCTAssertEqual(guardStats.rollbacks.first?.ranks, 5)
        await assertQuarantined(t, degrading)
        await t.close()

        // Across reopen: still refused, still reported.
        let again = try await TailorClient(config: config(dir, guardMinRanks: 5))
        XCTAssertEqual(again.model.name, "linear-ranker")
        let rollbacks = try await again.metrics().engine.modelGuard.rollbacks
        XCTAssertEqual(rollbacks.count, 1)
        await assertQuarantined(again, degrading)
        await again.close()
    }

    func testAnExpiredDeadlineRanksByPopularityAndFlagsTheResponse() async throws {
        let t = try await TailorClient(config: config(TestSupport.tempDir(self)))
        try await shopper(t)
        let page = try await t.rank(limit: 3, now: now, deadline: 0)
        XCTAssertFalse(page.personalized)
        XCTAssertEqual(page.fallback, .deadlineExceeded(scored: 0, candidates: 15))
        XCTAssertEqual(page.modelName, "popularity")
        XCTAssertEqual(page.ids, ["shoes-1", "shoes-2", "shoes-3"])
        let full = try await t.rank(limit: 3, now: now, deadline: 60)
        XCTAssertTrue(full.personalized)
        XCTAssertNil(full.fallback)
        let fallbacks = try await t.metrics().engine.fallbacks
        XCTAssertEqual(fallbacks["deadline_exceeded"], 1)
        do {
            _ = try await t.rank(deadline: -1)
            XCTFail("negative deadline accepted")
        } catch TailorError.invalidInput(let message) {
            XCTAssertTrue(message.contains("deadline"), message)
        }
        await t.close()

        // The configured default applies to requests without their own.
        let strict = try await TailorClient(config: config(TestSupport.tempDir(self), rankDeadlineMs: 0))
        try await shopper(strict)
        let cut = try await strict.rank(limit: 3, now: now)
        guard case .deadlineExceeded? = cut.fallback else { return XCTFail("\(String(describing: cut.fallback))") }
        await strict.close()
    }
}
