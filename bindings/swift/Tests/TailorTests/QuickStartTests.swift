import Foundation
import XCTest
import Tailor

/// The Swift quick start of bindings/README.md. The lines between BEGIN/END are the README
/// snippet, verbatim (bindings/swift/test.sh fails when the two differ).
final class QuickStartTests: XCTestCase {
    func testReadmeQuickStart() async throws {
        // On iOS: FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        let filesDir = URL(fileURLWithPath: TestSupport.tempDir(self)).appendingPathComponent("tailor")
        let catalogCsv = TestSupport.repo.appendingPathComponent("cli/data/catalog.csv.gz")
        // BEGIN README
        let tailor = try await TailorClient(directory: filesDir)  // a URL: applicationSupport/tailor
        try await tailor.importCatalogCsv(catalogCsv)            // a URL; or upsertItems([Item(...)])
        try await tailor.track(.view("85123A", at: Date()))
        try await tailor.track(.purchase("85123A", quantity: 2))
        let pageSize = 10                                        // Ints; a negative one throws .invalidInput
        let page = try await tailor.rank(limit: pageSize, rules: BusinessRules(pinned: [Pin("22423", at: 0)]))
        for item in page.items { print(item.itemId, item.reasons) }  // 22423 [Tailor.Reason.pinned]
        print("\(try await tailor.status().profileEvents) events")  // counts are Ints
        await tailor.close()                                     // later calls throw TailorError.closed
        // END README
        XCTAssertEqual(page.items.count, 10)
        XCTAssertEqual(page.items[0].itemId, "22423")
        XCTAssertTrue(page.personalized, "\(String(describing: page.fallback))")
        let bought = try XCTUnwrap(page.items.first { $0.itemId == "85123A" })
        XCTAssertTrue(bought.reasons.contains(.boughtBefore(times: 1)), "\(bought.reasons)")
        XCTAssertEqual("\(page.items[0].reasons)", "[Tailor.Reason.pinned]")
    }
}
