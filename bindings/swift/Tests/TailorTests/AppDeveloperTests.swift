import Foundation
import XCTest
import Tailor

/// The friction points of a first app (issue 16), each shown gone: URLs, checked Ints, errors that
/// read well and match the README, cold start from imported events, QA hooks.
final class AppDeveloperTests: XCTestCase {
    let sampleCatalog = TestSupport.repo.appendingPathComponent("cli/data/catalog.csv.gz")
    let sampleEvents = TestSupport.repo.appendingPathComponent("cli/data/events.csv.gz")

    func testUrlsForDirectoriesAndFiles() async throws {
        let dir = URL(fileURLWithPath: TestSupport.tempDir(self)).appendingPathComponent("tailor")
        let t = try await TailorClient(directory: dir)
        XCTAssertEqual(t.directory.standardizedFileURL.path, dir.standardizedFileURL.path)
        let n = try await t.importCatalogCsv(sampleCatalog)
        XCTAssertEqual(n, 400)
        let model = TestSupport.repo.appendingPathComponent("models/linear-ranker")
        let info = try await t.loadModel(at: model)
        XCTAssertEqual(info.name, "linear-ranker")
        let page = try await t.rank(limit: 3)
        XCTAssertEqual(page.items.count, 3)
        await t.close()
    }

    func testNegativeIntsThrowInvalidInputInsteadOfTrapping() async throws {
        let t = try await TailorClient(directory: TestSupport.tempDir(self))
        try await t.importCatalogCsv(path: TestSupport.catalogCsv)
        await assertThrows(TailorError.self, { _ = try await t.rank(limit: -1) }) {
            XCTAssertEqual($0, .invalidInput(message: "limit must be 0...4294967295, got -1"))
        }
        await assertThrows(TailorError.self, {
            _ = try await t.rank(limit: 3, rules: BusinessRules(pinned: [Pin("toys-1", at: -1)]))
        }) {
            guard case .invalidInput(let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("pin position"), message)
        }
        await assertThrows(TailorError.self, { try await t.track(.purchase("toys-1", quantity: -2)) }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        await assertThrows(TailorError.self, { _ = try await t.rank(diversity: try .atMost(perCategory: -1)) }) {
            XCTAssertEqual($0, .invalidInput(message: "maxPerCategory must be 0...4294967295, got -1"))
        }
        await assertThrows(TailorError.self, { _ = try await t.rank(exploration: try .rate(0.2, seed: -7)) }) {
            XCTAssertEqual($0, .invalidInput(message: "exploration seed must be 0 or more, got -7"))
        }
        let limit: Int = 5  // a page size is an Int, no UInt32(...) needed
        let page = try await t.rank(limit: limit)
        XCTAssertEqual(page.items.count, 5)
        let status = try await t.status()
        XCTAssertEqual(status.profileEvents, 0, "nothing was stored")
        // Every count the client reports is an Int: it mixes with Int arithmetic and formatting.
        let stored = try await t.track([.view("toys-1"), .view("toys-2")])
        let total: Int = stored.stored + (try await t.status()).profileEvents
        XCTAssertEqual(total, 4)
        let engine = try await t.metrics().engine
        let ranks: Int = engine.rankLatency.count + engine.errors["invalid_input"]
        XCTAssertGreaterThanOrEqual(ranks, 1)
        XCTAssertEqual("\(engine.profileEvents) events", "2 events")
        await t.close()
    }

    func testErrorsReadWellAndMatchTheReadme() async throws {
        let t = try await TailorClient(directory: TestSupport.tempDir(self))
        do {
            try await t.upsertItems([Item(id: "x", title: "X", price: .nan)])
            XCTFail("NaN price accepted")
        } catch let error as TailorError {
            XCTAssertEqual(error.localizedDescription, error.message)
            XCTAssertTrue(error.localizedDescription.contains("price"), error.localizedDescription)
            XCTAssertFalse(error.localizedDescription.contains("invalidInput"), error.localizedDescription)
        }
        let missing = URL(fileURLWithPath: TestSupport.tempDir(self)).appendingPathComponent("no-model")
        await assertThrows(TailorError.self, { try await t.loadModel(at: missing) }) {
            guard case .modelRejected(problem: .notOnnx, let message) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("no-model"), message)
        }
        await t.close()
        await assertThrows(TailorError.self, { _ = try await t.status() }) {
            guard case .closed = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual($0.errorDescription, "this Tailor object was closed; open a new one")
        }
    }

    func testReasonsPrintReadably() {
        XCTAssertEqual("\(Reason.pinned)", "pinned")
        XCTAssertEqual("\([Reason.boughtBefore(times: 2), .popularNow])", "[Tailor.Reason.boughtBefore(times: 2), Tailor.Reason.popularNow]")
    }

    func testSampleCatalogColdStartIsABestSellerPageWithPopularNow() async throws {
        let t = try await TailorClient(directory: TestSupport.tempDir(self))
        try await t.importCatalogCsv(sampleCatalog)
        let idOrder = try await t.rank(limit: 5)
        XCTAssertFalse(idOrder.items.contains { $0.reasons.contains(.popularNow) })
        let summary = try await t.importEventsCsv(sampleEvents, userId: "not-a-shopper-in-the-file")
        XCTAssertEqual(summary.stored, 0)
        let page = try await t.rank(limit: 5)
        XCTAssertEqual(page.fallback, .coldStart)
        XCTAssertTrue(page.items.allSatisfy { $0.reasons.contains(.popularNow) }, "\(page.items)")
        XCTAssertNotEqual(page.ids, idOrder.ids)
        await t.close()
    }

    func testQaCanForceAVariantAndSeeRetentionInStatus() async throws {
        let t = try await TailorClient(config: TailorConfig(directory: TestSupport.tempDir(self), maxEvents: 2))
        try await t.importCatalogCsv(path: TestSupport.catalogCsv)
        let variants = [Variant("a"), Variant("b")]
        let natural = try await t.defineExperiment("qa", variants: variants)
        let other = natural == "a" ? "b" : "a"
        try await t.forceVariant("qa", variant: other)
        let forced = try await t.rank(limit: 2, experiment: "qa")
        XCTAssertEqual(forced.variant, other)
        await assertThrows(TailorError.self, { try await t.forceVariant("qa", variant: "c") }) {
            guard case .invalidInput = $0 else { return XCTFail("\($0)") }
        }
        try await t.forceVariant("qa", variant: nil)
        let back = try await t.rank(limit: 2, experiment: "qa")
        XCTAssertEqual(back.variant, natural)

        for id in ["toys-1", "toys-2", "toys-3"] { try await t.track(.view(id)) }
        let status = try await t.status()
        XCTAssertEqual(status.profileEvents, 2)
        XCTAssertTrue(status.notices.contains { $0.message.contains("retention removed 1 events") }, "\(status.notices)")
        await t.close()
    }
}
