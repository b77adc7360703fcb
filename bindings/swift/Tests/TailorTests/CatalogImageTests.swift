import Foundation
import XCTest
import Tailor

/// A large catalog opens from `catalog.image` (written by `close`): the same pages after a reopen,
/// and a damaged `catalog.db` written again from the image instead of starting empty.
final class CatalogImageTests: XCTestCase {
    let items: [Item] = (0..<1_500).map { i in
        var item = Item(
            id: String(format: "p%05d", i), title: "Item \(i)", category: "c\(i % 9)",
            price: 1 + Double(i), tags: ["t\(i % 13)"], popularity: Double(i * 37 % 1000))
        item.related = (1...5).map { k in
            RelatedItem(itemId: String(format: "p%05d", (i * 31 + k * 7) % 1_540), weight: Double(k))
        }
        return item
    }

    func page(_ t: TailorClient) async throws -> [String] {
        try await t.rank(limit: 30, now: TestSupport.nowDate).items.map { "\($0.itemId) \($0.score)" }
    }

    func testALargeCatalogSurvivesReopenAndADamagedDatabase() async throws {
        let dir = URL(fileURLWithPath: TestSupport.tempDir(self)).appendingPathComponent("store")
        var t = try await TailorClient(directory: dir)
        try await t.upsertItems(items)
        for id in ["p00010", "p00011", "p00500"] {
            try await t.track(.view(id, at: TestSupport.nowDate.addingTimeInterval(-600)))
        }
        let expected = try await page(t)
        await t.close()
        let image = dir.appendingPathComponent("catalog.image")
        XCTAssertTrue(FileManager.default.fileExists(atPath: image.path), "close writes the image")
        t = try await TailorClient(directory: dir)
        let reopened = try await page(t)
        XCTAssertEqual(reopened, expected)
        await t.close()

        // Damage item pages in the middle of catalog.db; open still serves the whole catalog.
        let db = dir.appendingPathComponent("catalog.db")
        var bytes = try Data(contentsOf: db)
        let middle = bytes.count / 4096 / 2
        bytes.replaceSubrange(middle * 4096..<(middle + 3) * 4096, with: Data(repeating: 0x5a, count: 3 * 4096))
        try bytes.write(to: db)
        t = try await TailorClient(directory: dir)
        let served = try await page(t)
        XCTAssertEqual(served, expected)
        var notices = try await t.status().notices
        for _ in 0..<1_000 where !notices.contains(where: { $0.store == "catalog" }) {
            try await Task.sleep(nanoseconds: 20_000_000)
            notices = try await t.status().notices
        }
        let notice = try XCTUnwrap(notices.first { $0.store == "catalog" })
        XCTAssertTrue(notice.message.contains("written again from catalog.image (1500 items)"), notice.message)
        await t.close()
        t = try await TailorClient(directory: dir)
        let status = try await t.status()
        XCTAssertTrue(status.notices.isEmpty, "\(status.notices)")
        XCTAssertEqual(status.catalogItems, 1_500)
        let after = try await page(t)
        XCTAssertEqual(after, expected)
        await t.close()
    }
}
