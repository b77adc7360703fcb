import Foundation
import XCTest
import Tailor

/// Paths and constants shared by the Swift tests.
enum TestSupport {
    /// The repository root: `TAILOR_REPO`, else four levels above this file.
    static let repo: URL = {
        if let env = ProcessInfo.processInfo.environment["TAILOR_REPO"] {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// 2090-01-01T00:00:00Z; see tests/scenarios/README.md for why test times lie in the future.
    static let now: Int64 = 3_786_912_000
    static let day: Int64 = 86_400
    static let nowDate = Date(timeIntervalSince1970: TimeInterval(now))

    static func path(_ relative: String) -> String { repo.appendingPathComponent(relative).path }

    static var catalogCsv: String { path("tests/data/catalog.csv") }

    /// The catalog of the core's integration tests (core/tests/common/mod.rs `catalog()`): twelve
    /// items, shoes-0..3, books-0..3, toys-0..3, brands alternating acme/zeta, popularity falling
    /// and price rising with the position.
    static func learningCatalog() -> [Item] {
        ["shoes", "books", "toys"].enumerated().flatMap { c, category in
            (0..<4).map { i in
                let n = c * 4 + i
                return Item(
                    id: "\(category)-\(i)", title: "\(category) \(category)-\(i)", category: category,
                    brand: i % 2 == 0 ? "acme" : "zeta", price: 10 + Double(n), tags: [category],
                    popularity: 100 - Double(n))
            }
        }
    }

    /// A client in a fresh directory whose catalog is `learningCatalog()`.
    static func openWithLearningCatalog(_ test: XCTestCase) async throws -> TailorClient {
        let t = try await TailorClient(config: TailorConfig(directory: tempDir(test)))
        let n = try await t.upsertItems(learningCatalog())
        XCTAssertEqual(n, 12)
        return t
    }

    /// A fresh empty directory, removed when the test ends.
    static func tempDir(_ test: XCTestCase) -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tailor-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }
}
