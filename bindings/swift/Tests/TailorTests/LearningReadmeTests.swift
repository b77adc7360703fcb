import Foundation
import XCTest
import Tailor

/// The Swift "learning, experiments and metrics" example of bindings/README.md. The lines between
/// BEGIN/END are the README snippet, verbatim (bindings/swift/test.sh fails when the two differ).
final class LearningReadmeTests: XCTestCase {
    func testReadmeLearningExample() async throws {
        let tailor = try await TailorClient(directory: TestSupport.tempDir(self))
        try await tailor.importCatalogCsv(path: TestSupport.path("cli/data/catalog.csv.gz"))
        try await tailor.loadModel(path: TestSupport.path("models/linear-ranker"))
        try await tailor.loadModel(path: TestSupport.path("models/mlp-ranker")) // active; linear kept for rollback
        try await tailor.track(.purchase("85123A"))
        // BEGIN README
        // On every launch, once the models the variants name are loaded:
        let variant = try await tailor.defineExperiment("ranker", variants: [
            Variant("control", weight: 50, model: "linear-ranker"),
            Variant("mlp", weight: 50, model: "mlp-ranker"),
        ])
        let page = try await tailor.rank(limit: 10, surface: "home", experiment: "ranker")
        // ... show the page, then report what was on screen:
        try await tailor.recordImpressions(Impressions(page: page, surface: "home", experiment: "ranker"))
        try await tailor.track(.click(page.ids[3], surface: "home"))

        let metrics = try await tailor.metrics()
        let funnel = metrics.funnel(experiment: "ranker", surface: "home")
        print(variant, funnel?.impressions ?? 0, funnel?.clicks ?? 0, metrics.engine.rankLatency.p95Micros)
        try await tailor.resetMetrics()  // once your analytics has them

        let why = try await tailor.explainProfile()  // "why am I seeing this"
        why.sentences.forEach { print($0) }
        // END README
        XCTAssertTrue(["control", "mlp"].contains(variant), variant)
        XCTAssertEqual(page.variant, variant)
        XCTAssertEqual(page.modelName, variant == "mlp" ? "mlp-ranker" : "linear-ranker")
        XCTAssertEqual(funnel?.impressions, 10)
        XCTAssertEqual(funnel?.clicks, 1)
        XCTAssertEqual(funnel?.variant, variant)
        let cleared = try await tailor.metrics()
        XCTAssertTrue(cleared.funnels.isEmpty)
        XCTAssertFalse(why.sentences.isEmpty)
        await tailor.close()
    }
}
