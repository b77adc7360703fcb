import Foundation
import XCTest
import Tailor

/// The shopper's corrections (not interested, undo, forget) and attribution per placement;
/// mirrors core/tests/it/corrections.rs and attribution.rs.
final class CorrectionsAndAttributionTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let day: TimeInterval = 86_400

    func testNotInterestedLeavesAnItemOutPushesACategoryDownAndUndoes() async throws {
        let t = try await TestSupport.openWithLearningCatalog(self)
        _ = try await t.track([try .purchase("shoes-0", at: now - 2 * day), .view("shoes-1", at: now - day)])
        var page = try await t.rank(limit: 12, now: now)
        XCTAssertTrue(page.ids.contains("shoes-0"))
        try await t.markNotInterested(.item("shoes-0"))
        for surface in ["home", "pdp"] {
            page = try await t.rank(limit: 12, surface: surface, now: now)
            XCTAssertFalse(page.ids.contains("shoes-0"), "\(surface): \(page.ids)")
        }
        try await t.markNotInterested(.category("shoes"))
        page = try await t.rank(limit: 12, now: now)
        XCTAssertEqual(page.ids.suffix(3).sorted(), ["shoes-1", "shoes-2", "shoes-3"], "\(page.ids)")
        let summary = try await t.explainProfile()
        XCTAssertEqual(summary.notInterested.map(\.attribute), [.category("shoes"), .item("shoes-0")])
        let export = try await t.exportJson()
        XCTAssertTrue(export.contains("\"not_interested\""))

        let removed = try await t.undoNotInterested(.item("shoes-0"))
        XCTAssertTrue(removed)
        let again = try await t.undoNotInterested(.item("shoes-0"))
        XCTAssertFalse(again)
        page = try await t.rank(limit: 12, now: now)
        XCTAssertTrue(page.ids.contains("shoes-0"))
        do {
            try await t.markNotInterested(.brand(""))
            XCTFail("an empty value is refused")
        } catch TailorError.invalidInput {}
        try await t.erase()
        let after = try await t.explainProfile()
        XCTAssertTrue(after.notInterested.isEmpty)
        await t.close()
    }

    func testForgetItemDeletesItsEvents() async throws {
        let t = try await TestSupport.openWithLearningCatalog(self)
        _ = try await t.track([
            try .purchase("toys-0", at: now - 2 * day), .view("toys-0", at: now - day), .view("books-2", at: now - day),
        ])
        let forgotten = try await t.forgetItem("toys-0")
        XCTAssertEqual(forgotten, 2)
        let none = try await t.forgetItem("toys-0")
        XCTAssertEqual(none, 0)
        let status = try await t.status()
        XCTAssertEqual(status.profileEvents, 1)
        let export = try await t.exportJson()
        XCTAssertFalse(export.contains("toys-0"))
        await t.close()
    }

    func testConversionsAreCreditedToThePlacementThatEarnedThem() async throws {
        let t = try await TestSupport.openWithLearningCatalog(self)
        let home = try await t.rank(limit: 4, candidates: ["shoes-0", "shoes-1", "shoes-2", "shoes-3"], surface: "home", now: now)
        let pdp = try await t.rank(limit: 4, candidates: ["books-0", "books-1"], surface: "pdp", now: now)
        XCTAssertNotEqual(home.responseId, pdp.responseId)
        try await t.recordImpressions(Impressions(page: home, surface: "home", at: now))
        try await t.recordImpressions(Impressions(page: pdp, surface: "pdp", at: now))
        _ = try await t.track([
            .click(home.ids[0], at: now + 60, responseId: home.responseId),
            try .addToCart(home.ids[0], at: now + 90, responseId: home.responseId),
            try .purchase(pdp.ids[0], at: now + 120, responseId: pdp.responseId),
            // After the 24-hour window: not credited.
            try .purchase(pdp.ids[1], at: now + 2 * day, responseId: pdp.responseId),
        ])
        let metrics = try await t.metrics()
        XCTAssertEqual(metrics.placements.count, 2)
        let h = try XCTUnwrap(metrics.placement(home.responseId))
        XCTAssertEqual([h.impressions, h.clicks, h.addToCarts, h.purchases], [4, 1, 1, 0])
        XCTAssertEqual(h.surface, "home")
        XCTAssertEqual(h.shownAt, now)
        let p = try XCTUnwrap(metrics.placement(pdp.responseId))
        XCTAssertEqual([p.impressions, p.clicks, p.purchases], [2, 0, 1])
        XCTAssertGreaterThan(p.revenue, 0)
        try await t.resetMetrics()
        let reset = try await t.metrics()
        XCTAssertTrue(reset.placements.isEmpty)
        await t.close()
    }
}
