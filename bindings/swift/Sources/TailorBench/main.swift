// FFI cost: rank(1,000 candidates) through the Swift bindings. Same catalog, profile and requests
// as core/examples/ffi_baseline.rs and the Kotlin FfiBench.kt. Run by `bindings/swift/test.sh bench`.
// Usage: TailorBench REPO_DIR [ITERATIONS]
import Foundation
import Tailor

let items = 2000
let candidates = 1000
let now: Int64 = 3_786_912_000
let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: TailorBench REPO_DIR [ITERATIONS]")
    exit(2)
}
let repo = args[1]
let iterations = args.count > 2 ? Int(args[2]) ?? 200 : 200

let catalog = (0..<items).map { i in
    Item(id: "p\(i)", title: "Product \(i)", category: "c\(i % 20)", brand: "b\(i % 50)",
         price: 5.0 + Double(i % 97), tags: ["t\(i % 30)", "u\(i % 11)"], margin: 0.1 + Double(i % 5) * 0.1,
         popularity: Double(items - i), related: [RelatedItem(itemId: "p\((i + 1) % items)", weight: 1)])
}
let events = (0..<300).map { k -> Event in
    let kind: EventKind = k % 10 == 0 ? .purchase : (k % 10 == 1 ? .addToCart : .view)
    return Event(kind: kind, itemId: "p\((k * 37) % items)", timestamp: now - Int64(300 - k) * 600, sessionId: "bench")
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-bench-\(UUID().uuidString)")
let t = try Tailor.open(config: TailorConfig(directory: dir.path))
_ = try t.upsertItems(items: catalog)
_ = try t.trackBatch(events: events)
_ = try t.loadModel(modelPath: repo + "/models/bootstrap-ranker", manifestPath: nil)
let ids = (0..<candidates).map { "p\(2 * $0)" }
// The same ids as a named set: the request carries the set's name instead of 1,000 strings.
_ = try t.defineCandidateSet(name: "bench", itemIds: ids)
// `client`: what `TailorClient.rank` calls (`rankPage`: the packed page in one native call);
// otherwise the generated `rank(request:)`.
for (limit, named, client) in [(20, false, false), (20, false, true), (50, false, false), (1000, false, false),
                               (20, true, false), (20, true, true)] {
    let request = RankRequest(candidateIds: named ? nil : ids, limit: UInt32(limit),
                              sessionId: "bench", now: now, candidateSet: named ? "bench" : nil)
    let call: () throws -> RankResponse = client ? { try t.rankPage(request) } : { try t.rank(request: request) }
    for _ in 0..<20 {
        let warm = try call()
        precondition(warm.personalized)
    }
    // Reserved up front: the timed loop appends without growing the arrays (as Rust and Kotlin).
    var wall: [UInt64] = []
    var core: [UInt64] = []
    var outside: [UInt64] = []
    wall.reserveCapacity(iterations)
    core.reserveCapacity(iterations)
    outside.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        let r = try call()
        let us = (DispatchTime.now().uptimeNanoseconds - start) / 1000
        wall.append(us)
        let took = UInt64(max(0, r.tookMicros))
        core.append(took)
        outside.append(us > took ? us - took : 0)
        precondition(r.items.count == limit)
    }
    func median(_ v: [UInt64]) -> UInt64 { v.sorted()[v.count / 2] }
    print("swift rank(\(candidates) candidates\(named ? " in a named set" : "")\(client ? " through TailorClient" : ""), "
        + "limit \(limit)): median \(median(wall)) us, "
        + "core took_micros median \(median(core)) us, "
        + "outside the core (call - took_micros) median \(median(outside)) us, n=\(iterations)")
}
t.close()
try? FileManager.default.removeItem(at: dir)
