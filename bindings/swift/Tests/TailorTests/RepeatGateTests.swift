import Foundation
import XCTest
import Tailor

/// The built-in model offers a repeat only where the shop says items are bought again (the
/// catalog's `repeatRate`); mirrors core/tests/it/any_shop.rs.
final class RepeatGateTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let day: TimeInterval = 86_400

    /// The page for a shopper who bought three books, none twice; books-0 goes with toys-3.
    private func pageForABuyer(repeatRate: Double?) async throws -> [String] {
        let partners = ["books-0": "toys-3", "toys-3": "books-0"]
        let items = TestSupport.learningCatalog().map { item -> Item in
            var item = item
            item.repeatRate = repeatRate
            item.related = partners[item.id].map { [RelatedItem(itemId: $0, weight: 0.5)] } ?? []
            return item
        }
        let t = try await TailorClient(config: TailorConfig(directory: TestSupport.tempDir(self)))
        _ = try await t.upsertItems(items)
        for (id, days) in [("books-2", 20.0), ("books-1", 10.0), ("books-0", 2.0)] {
            try await t.track(.purchase(id, at: now - days * day))
        }
        let ids = try await t.rank(limit: 12, now: now).ids
        await t.close()
        return ids
    }

    func testARepeatIsOfferedOnlyWhereItemsAreBoughtAgain() async throws {
        let bought = ["books-0", "books-1", "books-2"]
        let unknown = try await pageForABuyer(repeatRate: nil)
        XCTAssertTrue(bought.contains(unknown[0]), "without repeat rates the model's own page: \(unknown)")
        let staples = try await pageForABuyer(repeatRate: 0.5)
        XCTAssertEqual(staples, unknown, "staples keep it")
        let oneOffs = try await pageForABuyer(repeatRate: 0.0)
        XCTAssertEqual(Array(oneOffs.prefix(2)), ["books-3", "toys-3"], "\(oneOffs)")
        XCTAssertEqual(oneOffs.suffix(3).sorted(), bought, "the shopper's purchases go last: \(oneOffs)")
    }
}
