import Dispatch
import Foundation
import XCTest
import Tailor

/// One object shared by many threads: every event lands exactly once and every rank succeeds.
final class ConcurrencyTests: XCTestCase {
    private let workers = 8
    private let singles = 40
    private let batch = 10

    func testEightThreadsTrackAndRankOnOneObject() throws {
        let t = try Tailor.open(config: TailorConfig(directory: TestSupport.tempDir(self)))
        _ = try t.importCatalogCsv(path: TestSupport.catalogCsv)
        let ids = ["shoes-1", "books-2", "toys-3", "kitchen-4", "garden-9"] // garden-9: pending
        let (singles, batch, now) = (self.singles, self.batch, TestSupport.now)
        let failures = Failures()
        // Eight real threads (DispatchQueue.concurrentPerform would use one per core), released together.
        let go = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for w in 0..<workers {
            finished.enter()
            Thread {
                defer { finished.leave() }
                go.wait()
                do {
                    for i in 0..<singles {
                        let kind: EventKind = i % 5 == 4 ? .purchase : .view
                        try t.track(event: Event(kind: kind, itemId: ids[(w + i) % ids.count],
                                                 timestamp: now - 1000 * Int64(w) - Int64(i)))
                        let page = try t.rank(request: RankRequest(limit: 5, sessionId: "s-\(w)", now: now))
                        if page.items.count != 5 { failures.add("page of \(page.items.count)") }
                    }
                    let events = (0..<batch).map {
                        Event(kind: .click, itemId: ids[$0 % ids.count], timestamp: now - 5000 - Int64($0))
                    }
                    let stored = try t.trackBatch(events: events).stored
                    if stored != UInt32(batch) { failures.add("stored \(stored)") }
                } catch {
                    failures.add("worker \(w): \(error)")
                }
            }.start()
        }
        for _ in 0..<workers { go.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success, "workers did not finish")
        XCTAssertEqual(failures.all, [])
        let s = try t.status()
        XCTAssertEqual(s.profileEvents, UInt64(workers * (singles + batch)))  // the generated record
        XCTAssertGreaterThan(s.pendingEvents, 0, "garden-9 events stay pending")
        XCTAssertTrue(try t.rank(request: RankRequest(limit: 5, now: now)).personalized)
        t.close()
    }

    func testEightTasksThroughTheClient() async throws {
        let t = try await TailorClient(directory: TestSupport.tempDir(self))
        try await t.importCatalogCsv(path: TestSupport.catalogCsv)
        let (singles, now) = (self.singles, TestSupport.nowDate)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    for i in 0..<singles {
                        try await t.track(.view("toys-\(1 + (w + i) % 4)", at: now - TimeInterval(i)))
                        _ = try await t.rank(limit: 3, now: now)
                    }
                }
            }
            try await group.waitForAll()
        }
        let s = try await t.status()
        XCTAssertEqual(s.profileEvents, workers * singles)  // an Int, like every count the client reports
        await t.close()
    }
}

/// Failure messages collected from many threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []

    func add(_ m: String) {
        lock.lock()
        messages.append(m)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }
}
