import Foundation
import XCTest
import Tailor

/// On-device learning, experiments, the local funnel, engine statistics and the profile summary,
/// through the SDK and the real library; mirrors core/tests/it/learning.rs and api.rs
/// `explain_profile_speaks_plainly` (the times are in 2090, see TestSupport.now).
final class LearningTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let day: TimeInterval = 86_400

    private func open(_ dir: String, personalLearning: Bool = true) async throws -> TailorClient {
        try await TailorClient(config: TailorConfig(directory: dir, personalLearning: personalLearning))
    }

    private func openWithCatalog(_ dir: String, personalLearning: Bool = true) async throws -> TailorClient {
        let t = try await open(dir, personalLearning: personalLearning)
        let n = try await t.upsertItems(TestSupport.learningCatalog())
        XCTAssertEqual(n, 12)
        try await t.loadModel(path: TestSupport.path("models/bootstrap-ranker"))
        return t
    }

    /// A shopper who bought shoes long ago but now skips them and picks books further down the page.
    private func trainBooksLover(_ t: TailorClient, rounds: Int) async throws {
        for i in 0..<4 {
            try await t.track(.purchase("shoes-\(i)", at: now - 60 * day))
        }
        for r in 0..<rounds {
            let at = now - 10 * day + Double(r) * 3_600
            let page = try await t.rank(limit: 12, now: at)
            try await t.recordImpressions(Impressions(page: page, surface: "home", at: at))
            // The best-placed book: everything above it is what the shopper skipped.
            let book = try XCTUnwrap(page.ids.first { $0.hasPrefix("books") })
            try await t.track(.click(book, at: at + 60))
        }
    }

    private func position(_ page: RankResponse, _ prefix: String) -> Int? {
        page.ids.firstIndex { $0.hasPrefix(prefix) }
    }

    func testPersonalLayerLearnsFromImpressionsAndClicksPersistsAndResets() async throws {
        let control = try await openWithCatalog(TestSupport.tempDir(self), personalLearning: false)
        try await trainBooksLover(control, rounds: 30)
        let controlMetrics = try await control.metrics()
        XCTAssertEqual(controlMetrics.engine.personalUpdates, 0)
        let plain = try await control.rank(limit: 12, now: now)
        await control.close()

        let dir = TestSupport.tempDir(self)
        let t = try await openWithCatalog(dir)
        try await trainBooksLover(t, rounds: 30)
        let updates = try await t.metrics().engine.personalUpdates
        XCTAssertEqual(updates, 30)
        let learned = try await t.rank(limit: 12, now: now)
        await t.close()
        let books = try XCTUnwrap(position(learned, "books"))
        let plainBooks = try XCTUnwrap(position(plain, "books"))
        XCTAssertLessThan(books, plainBooks, "books rise with learning: \(learned.ids) vs \(plain.ids)")

        let reopened = try await open(dir)
        let again = try await reopened.rank(limit: 12, now: now)
        XCTAssertEqual(again.ids, learned.ids, "the layer persists")
        try await reopened.resetPersonalLayer()
        let afterReset = try await reopened.metrics().engine.personalUpdates
        XCTAssertEqual(afterReset, 0)
        let reset = try await reopened.rank(limit: 12, now: now)
        XCTAssertEqual(position(reset, "books"), plainBooks, "reset returns to the model")
        await reopened.close()
    }

    func testExperimentsAreStickyAndChooseTheModel() async throws {
        let ranker = Experiment("ranker-test", variants: [
            Variant("a", weight: 1, model: "linear-ranker"),
            Variant("b", weight: 1, model: "linear-ranker"),
        ])
        XCTAssertEqual(ranker, Experiment(key: "ranker-test", variants: [
            Variant(name: "a", weight: 1, modelName: "linear-ranker"),
            Variant(name: "b", weight: 1, modelName: "linear-ranker"),
        ]))
        let dir = TestSupport.tempDir(self)
        let t = try await open(dir)
        try await t.upsertItems(TestSupport.learningCatalog())
        try await t.track(.purchase("toys-1", at: now - day))
        await assertThrows(TailorError.self, { _ = try await t.rank(limit: 3, now: self.now, experiment: "ranker-test") }) {
            guard case .invalidInput(let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("ranker-test"), message)
        }
        await assertThrows(TailorError.self, {
            try await t.recordImpressions(Impressions(["toys-1"], experiment: "ranker-test", at: self.now))
        }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { try await t.defineExperiment(ranker) }) {
            guard case .notFound = $0 else { return XCTFail("\($0)") }
        }
        try await t.loadModel(path: TestSupport.path("models/linear-ranker"))
        // The active model becomes bootstrap; linear-ranker stays loaded for rollback.
        try await t.loadModel(path: TestSupport.path("models/bootstrap-ranker"))
        let variant = try await t.defineExperiment(ranker)
        XCTAssertTrue(["a", "b"].contains(variant), variant)
        let r = try await t.rank(limit: 3, now: now, experiment: "ranker-test")
        XCTAssertEqual(r.variant, variant)
        XCTAssertEqual(r.modelName, "linear-ranker", "the variant's model ranks")
        XCTAssertEqual(t.model.name, "bootstrap-ranker", "the active model is unchanged")
        let outside = try await t.rank(limit: 3, now: now)
        XCTAssertNil(outside.variant)
        XCTAssertEqual(outside.modelName, "bootstrap-ranker")
        await t.close()

        // Definitions live in memory: define again on every launch. The assignment is stable.
        let reopened = try await open(dir)
        let again = try await reopened.defineExperiment(
            "ranker-test", variants: [Variant("a", model: "linear-ranker"), Variant("b", model: "linear-ranker")])
        XCTAssertEqual(again, variant, "same install, same variant")
        let page = try await reopened.rank(limit: 3, now: now, experiment: "ranker-test")
        XCTAssertEqual(page.variant, variant)
        // Bad definitions are InvalidInput.
        for bad in [
            Experiment("empty", variants: []),
            Experiment("twice", variants: [Variant("a"), Variant("a")]),
            Experiment("negative", variants: [Variant("a", weight: -1)]),
        ] {
            await assertThrows(TailorError.self, { try await reopened.defineExperiment(bad) }) {
                guard case .invalidInput = $0 else { return XCTFail("\(bad.key): \($0)") }
            }
        }
        await reopened.close()
    }

    func testFunnelCountsImpressionsConversionsAndAttribution() async throws {
        let t = try await open(TestSupport.tempDir(self))
        let catalog = TestSupport.learningCatalog()
        try await t.upsertItems(catalog)
        try await t.track(.purchase("toys-1", at: now - day))
        let variant = try await t.defineExperiment(
            "e", variants: [Variant("only", boosts: [Boost(.category("books"), by: 0.1)])])
        XCTAssertEqual(variant, "only")
        let page = try await t.rank(limit: 5, now: now, experiment: "e")
        XCTAssertEqual(page.variant, "only")
        try await t.recordImpressions(Impressions(page: page, surface: "home", experiment: "e", at: now))
        let shownId = page.ids[2]
        try await t.track(.click(shownId, at: now + 60))
        try await t.track(.purchase(shownId, quantity: 2, at: now + 120, surface: "search"))
        let notShown = try XCTUnwrap(catalog.map(\.id).first { !page.ids.contains($0) })
        try await t.track(.purchase(notShown, at: now + 180, surface: "search"))
        try await t.track(.purchase(shownId, at: now + 3 * day, surface: "search")) // outside the 24 h window

        let m = try await t.metrics()
        let f = try XCTUnwrap(m.funnel(experiment: "e", surface: "home"), "\(m.funnels)")
        XCTAssertEqual(f.variant, "only")
        XCTAssertEqual([f.impressions, f.clicks, f.purchases, f.attributedConversions], [5, 1, 1, 1])
        let price = try XCTUnwrap(catalog.first { $0.id == shownId }).price
        XCTAssertEqual(f.revenue, 2 * price, accuracy: 1e-9)
        XCTAssertEqual(f.attributedRevenue, 2 * price, accuracy: 1e-9)
        let other = try XCTUnwrap(m.funnel(surface: "search"), "\(m.funnels)")
        XCTAssertEqual(other.purchases, 2)
        XCTAssertEqual(other.attributedConversions, 0)
        XCTAssertGreaterThanOrEqual(m.engine.rankLatency.count, 1)

        try await t.resetMetrics()
        let cleared = try await t.metrics()
        XCTAssertTrue(cleared.funnels.isEmpty)
        await t.close()
    }

    func testEngineStatsCountFallbacksErrorsAndEraseClearsLearning() async throws {
        let t = try await open(TestSupport.tempDir(self))
        try await t.upsertItems(TestSupport.learningCatalog())
        let cold = try await t.rank(limit: 3, now: now)
        XCTAssertEqual(cold.fallback, .coldStart)
        await assertThrows(TailorError.self, { _ = try await t.rank(limit: 0, now: self.now) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { try await t.upsertItems([Item(id: "", title: "x", price: 1)]) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        let e = try await t.metrics().engine
        XCTAssertEqual(e.fallbacks["cold_start"], 1)
        XCTAssertEqual(e.fallbacks["opted_out"], 0)
        XCTAssertEqual(e.errors["invalid_input"], 2)
        XCTAssertEqual(e.rankLatency.count, 1)
        XCTAssertLessThanOrEqual(e.rankLatency.p50Micros, e.rankLatency.p99Micros)
        XCTAssertTrue(e.model.builtin, "\(e.model)")
        XCTAssertEqual(e.catalogItems, 12)
        XCTAssertGreaterThan(e.profileDbBytes, 0)
        XCTAssertGreaterThan(e.catalogDbBytes, 0)

        try await t.loadModel(path: TestSupport.path("models/bootstrap-ranker"))
        try await trainBooksLover(t, rounds: 5)
        let trained = try await t.metrics().engine
        XCTAssertGreaterThan(trained.personalUpdates, 0)
        XCTAssertEqual(trained.profileEvents, 4 + 5)
        try await t.erase()
        let m = try await t.metrics()
        XCTAssertEqual(m.engine.personalUpdates, 0)
        XCTAssertTrue(m.funnels.isEmpty)
        await t.close()
    }

    func testExplainProfileSpeaksPlainly() async throws {
        let t = try await open(TestSupport.tempDir(self))
        try await t.upsertItems(TestSupport.learningCatalog())
        let empty = try await t.explainProfile(now: now)
        XCTAssertTrue(empty.topCategories.isEmpty)
        XCTAssertTrue(empty.sentences.first?.contains("don't know") ?? false, "\(empty.sentences)")
        try await t.track((0..<3).map { try Event.purchase("toys-\($0)", at: now - day) })
        try await t.track(.view("books-1", at: now - 2 * day))
        try await t.track(.addToCart("shoes-2", at: now - 60, sessionId: "s"))
        let s = try await t.explainProfile(now: now)
        XCTAssertEqual(s.topCategories.first?.attribute, .category("toys"))
        XCTAssertEqual(s.topCategories.first?.strength, 1)
        XCTAssertTrue(s.topCategories.contains { $0.attribute == .category("books") }, "\(s.topCategories)")
        XCTAssertEqual(s.sessionIntent.first?.attribute, .category("shoes"))
        XCTAssertEqual(s.recentItems.first?.itemId, "shoes-2")
        XCTAssertEqual(s.recentItems.first?.inCart, true)
        XCTAssertEqual(s.eventsTotal, 5)
        XCTAssertNotNil(s.usualPrice)
        XCTAssertTrue(s.sentences.contains { $0.contains("toys") }, "\(s.sentences)")
        XCTAssertTrue(s.personalized)
        try await t.setConsent(false)
        let optedOut = try await t.explainProfile(now: now)
        XCTAssertFalse(optedOut.personalized)
        await t.close()
    }
}
