import Foundation
import XCTest
import Tailor

/// The SDK end to end through the generated bindings and the real library.
final class TailorClientTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let day: TimeInterval = 86_400

    private func openWithCatalog(_ dir: String? = nil) async throws -> TailorClient {
        let t = try await TailorClient(directory: dir ?? TestSupport.tempDir(self))
        let n = try await t.importCatalogCsv(path: TestSupport.catalogCsv)
        XCTAssertEqual(n, 16)
        try await t.loadModel(path: TestSupport.path("models/bootstrap-ranker"))
        return t
    }

    func testCatalogEventsAndRankingWithReasons() async throws {
        let t = try await openWithCatalog()
        let cold = try await t.rank(limit: 3, now: now)
        XCTAssertEqual(cold.ids, ["shoes-1", "shoes-2", "shoes-3"])
        XCTAssertFalse(cold.personalized)
        XCTAssertEqual(cold.fallback, .coldStart)
        XCTAssertEqual(cold.modelName, "popularity")

        let summary = try await t.track([
            .purchase("toys-3", at: now - 10 * day),
            .purchase("toys-3", at: now - 9 * day),
            .purchase("toys-3", at: now - 8 * day),
            .view("toys-1", at: now - day),
        ])
        XCTAssertEqual(summary, TrackCounts(stored: 4, pendingItems: 0, droppedNoConsent: 0))
        XCTAssertEqual("\(summary.stored) of \(4) stored", "4 of 4 stored")  // plain Ints
        let page = try await t.rank(limit: 8, now: now)
        XCTAssertTrue(page.personalized)
        XCTAssertNil(page.fallback)
        XCTAssertEqual(page.modelName, "bootstrap-ranker")
        XCTAssertEqual(Array(page.ids.prefix(3)), ["toys-3", "toys-4", "toys-1"])
        XCTAssertEqual(page.items[0].reasons.first, .boughtBefore(times: 3))
        XCTAssertTrue(page.items[0].reasons.contains(.likes(attribute: .category("toys"))))
        XCTAssertEqual(page.items[1].reasons.first, .similarTo(itemId: "toys-3", title: "Robot Kit"))
        XCTAssertEqual(page.items[2].reasons.first, .viewedRecently)
        XCTAssertTrue(zip(page.items, page.items.dropFirst()).allSatisfy { $0.score >= $1.score })
        await t.close()
    }

    func testNamedCandidateSetsRankLikeTheSameIds() async throws {
        let t = try await openWithCatalog()
        try await t.track([.purchase("toys-3", at: now - 2 * day)])
        let ids = ["books-1", "toys-4", "nope", "toys-1", "toys-4", "kitchen-2"]
        let distinct = try await t.defineCandidateSet("gifts", itemIds: ids)
        XCTAssertEqual(distinct, 5)
        let names = try await t.candidateSets()
        XCTAssertEqual(names, ["gifts"])
        let bySet = try await t.rank(limit: 3, now: now, candidateSet: "gifts")
        let byIds = try await t.rank(limit: 3, candidates: ids, now: now)
        XCTAssertTrue(bySet.personalized)
        XCTAssertEqual(bySet.items, byIds.items)
        XCTAssertEqual(bySet.unknownIds, ["nope"])
        XCTAssertEqual(bySet.ids.first, "toys-4", "the neighbour of the bought robot kit leads")
        await assertThrows(TailorError.self, { _ = try await t.rank(candidateSet: "other") }) {
            guard case .notFound = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { _ = try await t.rank(candidates: ["toys-1"], candidateSet: "gifts") }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { _ = try await t.defineCandidateSet("empty", itemIds: []) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        let removed = try await t.removeCandidateSet("gifts")
        XCTAssertTrue(removed)
        let again = try await t.removeCandidateSet("gifts")
        XCTAssertFalse(again)
        await assertThrows(TailorError.self, { _ = try await t.rank(candidateSet: "gifts") }) {
            guard case .notFound = $0 else { return XCTFail("\($0)") }
        }
        await t.close()
    }

    func testErrorsAreTypedSwiftErrors() async throws {
        let t = try await openWithCatalog()
        do {
            try await t.upsertItems([Item(id: "x", title: "X", price: .nan)])
            XCTFail("NaN price accepted")
        } catch TailorError.invalidInput(let message) {
            XCTAssertTrue(message.contains("price"), message)
        }
        await assertThrows(TailorError.self, { try await t.upsertItems([Item(id: "", title: "", price: 1)]) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { try await t.track(.purchase("toys-1", quantity: 0, at: self.now)) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { _ = try await t.rank(limit: 0) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { _ = try await t.rank(limit: 3, rules: BusinessRules(pinned: [Pin("toys-1", at: 5)])) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, {
            try await t.loadModel(path: TestSupport.path("tests/fixtures/models/not_onnx"))
        }) {
            guard case .modelRejected(problem: .notOnnx, let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertFalse(message.isEmpty)
        }
        await assertThrows(TailorError.self, {
            try await t.loadModel(path: TestSupport.path("tests/fixtures/models/hash_mismatch"))
        }) {
            guard case .modelRejected(problem: .hashMismatch, _) = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, {
            _ = try await t.validateModel(path: TestSupport.path("tests/fixtures/models/nan_output"))
        }) {
            guard case .modelRejected(problem: .nonFiniteOutput, _) = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { try await t.loadModel(path: TestSupport.path("models/no-such-model")) }) {
            guard case .modelRejected = $0 else { return XCTFail("\($0)") }
        }
        // Every refusal left the state alone.
        XCTAssertEqual(t.model.name, "bootstrap-ranker")
        let s = try await t.status()
        XCTAssertEqual(s.catalogItems, 16)
        XCTAssertEqual(s.profileEvents, 0)
        XCTAssertTrue((TailorError.notFound(message: "x") as Error).localizedDescription.contains("x"))

        await t.close()
        await t.close() // closing twice is fine
        await assertThrows(TailorError.self, { _ = try await t.rank(limit: 1, now: self.now) }) {
            guard case .closed = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { try await t.track(.view("toys-1", at: self.now)) }) {
            guard case .closed = $0 else { return XCTFail("\($0)") }
        }
    }

    func testModelSwapAndRollback() async throws {
        let t = try await openWithCatalog()
        try await t.track(.purchase("kitchen-1", at: now - day))
        for name in ["linear-ranker", "gbt-ranker"] {
            let info = try await t.loadModel(path: TestSupport.path("models/\(name)"))
            XCTAssertEqual(info.name, name)
            XCTAssertFalse(info.builtin)
            let page = try await t.rank(limit: 5, now: now)
            XCTAssertTrue(page.personalized, "\(name): \(String(describing: page.fallback))")
            XCTAssertEqual(page.modelName, name)
            XCTAssertEqual(page.items.count, 5)
            XCTAssertTrue(page.items.contains { $0.reasons.contains(.boughtBefore(times: 1)) }, "\(name)")
        }
        let back = try await t.rollbackModel()
        XCTAssertEqual(back.name, "linear-ranker")
        let status = try await t.status()
        XCTAssertEqual(status.model.name, "linear-ranker")
        let data = try Data(contentsOf: URL(fileURLWithPath: TestSupport.path("models/mlp-ranker/model.onnx")))
        let manifest = try String(contentsOfFile: TestSupport.path("models/mlp-ranker/manifest.json"), encoding: .utf8)
        let mlp = try await t.loadModel(data: data, manifestJson: manifest)
        XCTAssertEqual(mlp.name, "mlp-ranker")
        let page = try await t.rank(limit: 2, now: now)
        XCTAssertEqual(page.modelName, "mlp-ranker")
        await t.close()
    }

    func testCloseAndReopenKeepsEverything() async throws {
        let dir = TestSupport.tempDir(self)
        let first = try await openWithCatalog(dir)
        try await first.track([
            .addToCart("books-2", at: now - 3600),
            .purchase("books-1", quantity: 2, at: now - 7200),
            .view("kitchen-3", at: now - 60, sessionId: "s-1"),
        ])
        try await first.setPreferences([.tag("coffee")])
        let before = try await first.rank(limit: 16, now: now)
        await first.close()

        let t = try await TailorClient(directory: dir)
        let s = try await t.status()
        XCTAssertEqual(s.catalogItems, 16)
        XCTAssertEqual(s.profileEvents, 3)
        XCTAssertEqual(s.pendingEvents, 0)
        XCTAssertTrue(s.consent)
        XCTAssertEqual(s.model.name, "bootstrap-ranker")
        let after = try await t.rank(limit: 16, now: now)
        XCTAssertEqual(after.ids, before.ids)
        XCTAssertEqual(after.items.map(\.reasons), before.items.map(\.reasons))
        XCTAssertEqual(after.items.first { $0.itemId == "books-2" }?.reasons.first, .leftInCart)
        await t.close()
    }

    func testRulesAndOptions() async throws {
        let t = try await openWithCatalog()
        let page = try await t.rank(limit: 7, now: now, rules: BusinessRules(
            pinned: [Pin("books-3", at: 0), Pin("kitchen-2", at: 6)],
            boosts: [Boost(.category("toys"), by: 10)]))
        XCTAssertEqual(page.ids, ["books-3", "toys-1", "toys-2", "toys-3", "toys-4", "shoes-1", "kitchen-2"])
        XCTAssertEqual(page.items[0].reasons.first, .pinned)
        XCTAssertEqual(page.items[1].reasons.first, .boosted(attribute: .category("toys")))

        let filtered = try await t.rank(
            now: now, rules: BusinessRules(excludeIds: ["kitchen-1"], minMargin: 0.3),
            diversity: try .atMost(perCategory: 1, window: 3))
        XCTAssertEqual(Array(filtered.ids.prefix(3)), ["shoes-1", "kitchen-4", "toys-1"])
        XCTAssertFalse(filtered.ids.contains("kitchen-1"))
        XCTAssertFalse(filtered.ids.contains("shoes-2"))

        let explore = try ExplorationOptions.rate(0.5, seed: 42)
        let a = try await t.rank(limit: 4, now: now, exploration: explore)
        let b = try await t.rank(limit: 4, now: now, exploration: explore)
        XCTAssertEqual(a.ids, b.ids)
        XCTAssertEqual(a.items.indices.filter { a.items[$0].reasons.contains(.exploration) }, [1, 2])

        let c = try await t.rank(candidates: ["toys-1", "nope", "toys-1", "books-1"], now: now)
        XCTAssertEqual(c.ids, ["books-1", "toys-1"])
        XCTAssertEqual(c.unknownIds, ["nope"])
        await t.close()
    }

    func testPendingEventsOptOutAndErase() async throws {
        let t = try await openWithCatalog()
        let s = try await t.track([.purchase("garden-1", at: now - day)])
        XCTAssertEqual(s.pendingItems, 1)
        var status = try await t.status()
        XCTAssertEqual(status.pendingEvents, 1)
        try await t.upsertItems([Item(id: "garden-1", title: "Watering Can", category: "garden", price: 15)])
        status = try await t.status()
        XCTAssertEqual(status.pendingEvents, 0)
        let page = try await t.rank(limit: 3, now: now)
        XCTAssertEqual(page.ids.first, "garden-1")

        try await t.setConsent(false)
        XCTAssertFalse(t.consent)
        let dropped = try await t.track([.view("toys-1", at: now)])
        XCTAssertEqual(dropped.droppedNoConsent, 1)
        let optedOut = try await t.rank(limit: 3, now: now)
        XCTAssertEqual(optedOut.fallback, .optedOut)
        try await t.setConsent(true)

        let export = try await t.exportJson()
        XCTAssertTrue(export.contains("garden-1"))
        try await t.erase()
        status = try await t.status()
        XCTAssertEqual(status.profileEvents, 0)
        let cold = try await t.rank(limit: 3, now: now)
        XCTAssertEqual(cold.fallback, .coldStart)
        let removed = try await t.removeItems(["garden-1", "toys-1", "nope"])
        XCTAssertEqual(removed, 2)
        await t.close()
    }

    /// The generated API is usable directly too (blocking; records have the core's defaults).
    func testGeneratedApiDirectly() throws {
        let t = try Tailor.open(config: TailorConfig(directory: TestSupport.tempDir(self), explorationRate: 0))
        XCTAssertEqual(try t.upsertItems(items: [
            Item(id: "a", title: "A", price: 1, popularity: 2), Item(id: "b", title: "B", price: 2),
        ]), 2)
        let r = try t.rank(request: RankRequest(limit: 5, now: TestSupport.now))
        XCTAssertEqual(r.items.map(\.itemId), ["a", "b"])
        XCTAssertEqual(RankRequest().limit, 20)
        t.close()
    }
}

/// `await assertThrows(E.self, { try await ... }) { error in ... }`.
func assertThrows<E: Error>(
    _: E.Type, _ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line,
    _ check: (E) -> Void
) async {
    do {
        try await body()
        XCTFail("expected \(E.self), nothing was thrown", file: file, line: line)
    } catch let e as E {
        check(e)
    } catch {
        XCTFail("expected \(E.self), got \(error)", file: file, line: line)
    }
}
