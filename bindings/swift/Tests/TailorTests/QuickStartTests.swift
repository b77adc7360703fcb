import Foundation
import XCTest
import Tailor

/// The Swift quick start of bindings/README.md. The lines between BEGIN/END are the README
/// snippet, verbatim (bindings/swift/test.sh fails when the two differ).
final class QuickStartTests: XCTestCase {
    func testReadmeQuickStart() async throws {
        let filesDir = TestSupport.tempDir(self) // on iOS: the Application Support directory
        let catalogCsv = TestSupport.path("cli/data/catalog.csv.gz")
        // BEGIN README
        let tailor = try await TailorClient(directory: filesDir)
        try await tailor.importCatalogCsv(path: catalogCsv)  // or upsertItems([Item(...)])
        try await tailor.track(.view("85123A"))
        try await tailor.track(.purchase("85123A", quantity: 2))
        let page = try await tailor.rank(limit: 10, rules: BusinessRules(pinned: [Pin("22423", at: 0)]))
        for item in page.items { print(item.itemId, item.reasons) }
        await tailor.close()
        // END README
        XCTAssertEqual(page.items.count, 10)
        XCTAssertEqual(page.items[0].itemId, "22423")
        XCTAssertTrue(page.personalized, "\(String(describing: page.fallback))")
        let bought = try XCTUnwrap(page.items.first { $0.itemId == "85123A" })
        XCTAssertTrue(bought.reasons.contains(.boughtBefore(times: 1)), "\(bought.reasons)")
    }
}
