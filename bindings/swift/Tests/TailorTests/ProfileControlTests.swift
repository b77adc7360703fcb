import Foundation
import XCTest
import Tailor

/// Erase that forgets the pages shown before it, interrupting a long write, and the encrypted
/// portable profile; mirrors core/tests/it/learning.rs, reliability.rs and privacy.rs.
final class ProfileControlTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let day: TimeInterval = 86_400

    func testEraseForgetsThePagesShownBeforeIt() async throws {
        let t = try await TestSupport.openWithLearningCatalog(self)
        try await t.track(.purchase("shoes-0", at: now - day))
        let page = try await t.rank(limit: 12, now: now)
        try await t.recordImpressions(Impressions(page: page, surface: "home", at: now))
        try await t.erase()
        // A click on the page shown before the erase teaches nothing: that page is gone.
        let clicked = page.ids[4]
        try await t.track(.click(clicked, at: now + 60))
        let updates = try await t.metrics().engine.personalUpdates
        XCTAssertEqual(updates, 0)
        let export = try await t.exportJson()
        for id in page.ids where id != clicked {
            XCTAssertFalse(export.contains(id), "\(id) in the export after erase")
        }
        await t.close()
    }

    func testInterruptStopsALongWriteWithNothingWritten() async throws {
        let t = try await TestSupport.openWithLearningCatalog(self)
        let bulk = (0..<100_000).map {
            Item(id: "bulk-\($0)", title: "bulk", category: "bulk", brand: "acme", price: 1)
        }
        let done = Flag()
        let write = Task { () -> Result<Int, Error> in
            defer { done.set() }
            do { return .success(try await t.upsertItems(bulk)) } catch { return .failure(error) }
        }
        while !done.isSet {
            t.interrupt()
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        let result = await write.value
        guard case .failure(TailorError.interrupted) = result else {
            return XCTFail("expected .interrupted, got \(result)")
        }
        let status = try await t.status()
        XCTAssertEqual(status.catalogItems, 12)
        await t.close()
    }

    func testAProfileSnapshotCarriesTasteToANewDevice() async throws {
        let key = Data((0..<32).map { UInt8($0) })
        let old = try await TestSupport.openWithLearningCatalog(self)
        for i in 0..<40 {
            try await old.track(.purchase("books-\(i % 4)", at: now - day + Double(i) * 60))
        }
        let blob = try await old.exportProfileSnapshot(key: key)
        await old.close()

        let new = try await TestSupport.openWithLearningCatalog(self)
        do {
            try await new.importProfileSnapshot(blob, key: Data(repeating: 9, count: 32))
            XCTFail("a wrong key must be refused")
        } catch TailorError.invalidInput {
        }
        var tampered = blob
        tampered[tampered.count / 2] ^= 1
        do {
            try await new.importProfileSnapshot(tampered, key: key)
            XCTFail("a changed blob must be refused")
        } catch TailorError.invalidInput {
        }
        let before = try await new.status().profileEvents
        XCTAssertEqual(before, 0)
        let first = try await new.importProfileSnapshot(blob, key: key)
        XCTAssertEqual(first.stored, 40)
        let again = try await new.importProfileSnapshot(blob, key: key)
        XCTAssertEqual(again.stored, 0, "importing twice adds nothing")
        let top = try await new.rank(limit: 4, now: now)
        XCTAssertTrue(top.personalized)
        XCTAssertTrue(top.ids.allSatisfy { $0.hasPrefix("books") }, "\(top.ids)")
        await new.close()
    }
}

/// A flag one task sets and another polls.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
