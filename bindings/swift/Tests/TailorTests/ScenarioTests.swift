// The shared scenarios (the JSON files in tests/scenarios, format in its README.md) through the
// generated Swift bindings. Same rules as core/tests/it/scenarios.rs and the Kotlin ScenarioTest.kt;
// the transcripts written to target/scenario-transcripts/swift/ must equal the Rust and Kotlin ones
// (scripts/test.sh checks).
import Foundation
import XCTest
import Tailor

final class ScenarioTests: XCTestCase {
    func testScenarios() throws {
        let filter = ProcessInfo.processInfo.environment["TAILOR_SCENARIO"] ?? ""
        let dir = TestSupport.repo.appendingPathComponent("tests/scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".json") && (filter.isEmpty || $0.contains(filter)) }
            .sorted()
        XCTAssertFalse(files.isEmpty, "no scenario files matched '\(filter)'")
        let out = TestSupport.repo.appendingPathComponent("target/scenario-transcripts/swift")
        try? FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var failed = 0
        for file in files {
            let name = String(file.dropLast(".json".count))
            let run = ScenarioRun(url: dir.appendingPathComponent(file))
            var failure: String?
            do {
                try run.run()
            } catch let e as ScenarioFailure {
                failure = e.message
            }
            try (run.transcript.joined(separator: "\n") + "\n")
                .write(to: out.appendingPathComponent(name + ".txt"), atomically: true, encoding: .utf8)
            if let failure {
                failed += 1
                XCTFail("scenario \(name): \(failure)\n  transcript so far:\n    "
                    + run.transcript.joined(separator: "\n    "))
            } else {
                print("scenario \(name): ok (\(run.transcript.count) steps)")
            }
        }
        print("\(files.count) scenarios, \(failed) failed")
    }
}

struct ScenarioFailure: Error {
    let message: String
}

private func fail(_ message: String) -> ScenarioFailure { ScenarioFailure(message: message) }

/// 2090-01-01T00:00:00Z (see the README of tests/scenarios).
private let defaultNow: Int64 = 3_786_912_000

// MARK: - JSON

/// A JSON value. Integers stay exact (`int`); other numbers are `double`.
enum JSON: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSON].self))
        }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!)" }.joined(separator: ", ") + "}"
        }
    }

    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

private typealias Obj = [String: JSON]

private func obj(_ v: JSON?, _ what: String) throws -> Obj {
    guard case .object(let o)? = v else { throw fail("\(what): expected an object, got \(v ?? .null)") }
    return o
}

/// Refuse keys the format does not define, so a typo cannot silently skip a check.
private func checkKeys(_ o: Obj, _ allowed: [String], _ what: String) throws {
    for k in o.keys.sorted() where !allowed.contains(k) {
        throw fail("\(what): unknown key `\(k)` (allowed: \(allowed))")
    }
}

private func str(_ v: JSON?, _ what: String) throws -> String {
    guard case .string(let s)? = v else { throw fail("\(what): expected a string, got \(v ?? .null)") }
    return s
}

private func strs(_ v: JSON?, _ what: String) throws -> [String] {
    guard case .array(let a)? = v else { throw fail("\(what): expected an array of strings, got \(v ?? .null)") }
    return try a.map { try str($0, what) }
}

private func list(_ v: JSON?, _ what: String) throws -> [JSON] {
    guard case .array(let a)? = v else { throw fail("\(what): expected an array") }
    return a
}

private func bool(_ v: JSON?, _ what: String) throws -> Bool {
    guard case .bool(let b)? = v else { throw fail("\(what): expected true or false, got \(v ?? .null)") }
    return b
}

private func int(_ v: JSON?, _ what: String) throws -> Int64 {
    guard case .int(let i)? = v else { throw fail("\(what): expected an integer, got \(v ?? .null)") }
    return i
}

private func uint(_ v: JSON?, _ what: String) throws -> UInt64 {
    guard case .int(let i)? = v, i >= 0 else { throw fail("\(what): expected a non-negative integer, got \(v ?? .null)") }
    return UInt64(i)
}

private func u32(_ v: JSON?, _ what: String) throws -> UInt32 {
    let n = try uint(v, what)
    guard let x = UInt32(exactly: n) else { throw fail("\(what): \(n) does not fit in u32") }
    return x
}

/// A number, or one of the strings "NaN", "Infinity", "-Infinity".
private func float(_ v: JSON?, _ what: String) throws -> Double {
    switch v {
    case .int(let i)?: return Double(i)
    case .double(let d)?: return d
    case .string("NaN")?: return .nan
    case .string("Infinity")?: return .infinity
    case .string("-Infinity")?: return -.infinity
    default: throw fail("\(what): expected a number or \"NaN\"/\"Infinity\"/\"-Infinity\", got \(v ?? .null)")
    }
}

/// The value of `key`, treating JSON null as absent.
private func opt(_ o: Obj, _ key: String) -> JSON? {
    if let v = o[key], v != .null { return v }
    return nil
}

/// "-3d", "+2h", "90m", "-45s", "0": seconds.
private func offset(_ text: String) throws -> Int64 {
    let bad = fail("time offset \"\(text)\": use e.g. \"-3d\", \"+2h\", \"-90m\", \"30s\"")
    var rest = Substring(text)
    var sign: Int64 = 1
    if rest.first == "-" { sign = -1; rest = rest.dropFirst() } else if rest.first == "+" { rest = rest.dropFirst() }
    let digits = rest.prefix { $0.isASCII && $0.isNumber }
    let unit = rest.dropFirst(digits.count)
    guard let n = Int64(digits) else { throw bad }
    let scale: Int64
    switch unit {
    case "", "s": scale = 1
    case "m": scale = 60
    case "h": scale = 3600
    case "d": scale = 86_400
    default: throw bad
    }
    return sign * n * scale
}

/// `abs` (absolute Unix seconds) or `at` (offset from the scenario's now).
private func time(_ o: Obj, _ abs: String, _ now: Int64, _ what: String) throws -> Int64? {
    switch (opt(o, abs), opt(o, "at")) {
    case (.some, .some): throw fail("\(what): give `\(abs)` or `at`, not both")
    case (let t?, nil): return try int(t, what)
    case (nil, let a?): return now + (try offset(try str(a, what)))
    case (nil, nil): return nil
    }
}

// MARK: - scenario JSON -> generated types

private func attributeKind(_ s: String) throws -> AttributeKind {
    switch s {
    case "category": return .category
    case "brand": return .brand
    case "tag": return .tag
    case "item": return .item
    default: throw fail("unknown attribute kind \"\(s)\"")
    }
}

private func attribute(_ v: JSON) throws -> Attribute {
    let o = try obj(v, "attribute")
    try checkKeys(o, ["kind", "value"], "attribute")
    return Attribute(kind: try attributeKind(try str(o["kind"], "attribute.kind")),
                     value: try str(o["value"], "attribute.value"))
}

private func item(_ v: JSON) throws -> Item {
    let o = try obj(v, "item")
    try checkKeys(o, ["id", "title", "category", "brand", "price", "tags", "in_stock", "margin", "embedding",
                      "popularity", "related"], "item")
    let id = try str(o["id"], "item.id")
    guard let price = opt(o, "price") else { throw fail("item: missing `price`") }
    return Item(
        id: id,
        title: try opt(o, "title").map { try str($0, "item.title") } ?? id,
        category: try opt(o, "category").map { try str($0, "item.category") } ?? "",
        brand: try opt(o, "brand").map { try str($0, "item.brand") } ?? "",
        price: try float(price, "item.price"),
        tags: try opt(o, "tags").map { try strs($0, "item.tags") } ?? [],
        inStock: try opt(o, "in_stock").map { try bool($0, "item.in_stock") } ?? true,
        margin: try opt(o, "margin").map { try float($0, "item.margin") },
        embedding: try opt(o, "embedding").map { e in try list(e, "item.embedding").map { Float(try float($0, "item.embedding")) } },
        popularity: try opt(o, "popularity").map { try float($0, "item.popularity") } ?? 0,
        related: try opt(o, "related").map { r in
            try list(r, "item.related").map {
                let ro = try obj($0, "related")
                try checkKeys(ro, ["item_id", "weight"], "related")
                return RelatedItem(itemId: try str(ro["item_id"], "related.item_id"),
                                   weight: try float(ro["weight"], "related.weight"))
            }
        } ?? [])
}

private func eventKind(_ s: String) throws -> EventKind {
    switch s {
    case "view": return .view
    case "click": return .click
    case "add_to_cart": return .addToCart
    case "purchase": return .purchase
    case "dismiss": return .dismiss
    default: throw fail("unknown event kind \"\(s)\"")
    }
}

/// `responses`: rank steps saved by label (an event's `response` cites one).
private func event(_ v: JSON, _ now: Int64, _ responses: [String: RankResponse]) throws -> Event {
    let o = try obj(v, "event")
    try checkKeys(o, ["kind", "item_id", "timestamp", "at", "session_id", "quantity", "surface", "response"], "event")
    guard let ts = try time(o, "timestamp", now, "event") else {
        throw fail("event: give `timestamp` or `at` (scenarios never use the wall clock)")
    }
    return Event(
        kind: try eventKind(try str(o["kind"], "event.kind")),
        itemId: try str(o["item_id"], "event.item_id"),
        timestamp: ts,
        sessionId: try opt(o, "session_id").map { try str($0, "event.session_id") },
        quantity: try opt(o, "quantity").map { try u32($0, "event.quantity") },
        surface: try opt(o, "surface").map { try str($0, "event.surface") },
        responseId: try opt(o, "response").map { try savedResponse(responses, $0).responseId })
}

private func savedResponse(_ responses: [String: RankResponse], _ label: JSON) throws -> RankResponse {
    let l = try str(label, "response label")
    guard let r = responses[l] else { throw fail("no rank step saved as \"\(l)\"") }
    return r
}

private func rules(_ v: JSON) throws -> BusinessRules {
    let o = try obj(v, "rules")
    try checkKeys(o, ["include_out_of_stock", "pinned", "boosts", "exclude_ids", "min_margin"], "rules")
    let items = { (key: String) -> [JSON] in
        if case .array(let a)? = opt(o, key) { return a }
        return []
    }
    return BusinessRules(
        includeOutOfStock: try opt(o, "include_out_of_stock").map { try bool($0, "rules.include_out_of_stock") } ?? false,
        pinned: try items("pinned").map {
            let p = try obj($0, "pin")
            try checkKeys(p, ["item_id", "position"], "pin")
            return Pin(itemId: try str(p["item_id"], "pin.item_id"), position: try u32(p["position"], "pin.position"))
        },
        boosts: try items("boosts").map {
            let b = try obj($0, "boost")
            try checkKeys(b, ["attribute", "weight"], "boost")
            return Boost(attribute: try attribute(b["attribute"] ?? .null), weight: try float(b["weight"], "boost.weight"))
        },
        excludeIds: try opt(o, "exclude_ids").map { try strs($0, "rules.exclude_ids") } ?? [],
        minMargin: try opt(o, "min_margin").map { try float($0, "rules.min_margin") })
}

private func rankRequest(_ v: JSON, _ now: Int64) throws -> RankRequest {
    let o = try obj(v, "request")
    try checkKeys(o, ["candidate_ids", "limit", "surface", "session_id", "now", "at", "rules", "diversity",
                      "exploration", "deadline_ms", "candidate_set", "kind", "context_item_ids", "include_context",
                      "retrieval_scores"], "request")
    return RankRequest(
        candidateIds: try opt(o, "candidate_ids").map { try strs($0, "request.candidate_ids") },
        limit: try opt(o, "limit").map { try u32($0, "request.limit") } ?? 20,
        surface: try opt(o, "surface").map { try str($0, "request.surface") },
        sessionId: try opt(o, "session_id").map { try str($0, "request.session_id") },
        now: try time(o, "now", now, "request") ?? now,
        rules: try opt(o, "rules").map(rules) ?? BusinessRules(),
        diversity: try opt(o, "diversity").map {
            let d = try obj($0, "diversity")
            try checkKeys(d, ["max_per_category", "max_per_brand", "window"], "diversity")
            return DiversityOptions(
                maxPerCategory: try opt(d, "max_per_category").map { try u32($0, "diversity.max_per_category") },
                maxPerBrand: try opt(d, "max_per_brand").map { try u32($0, "diversity.max_per_brand") },
                window: try opt(d, "window").map { try u32($0, "diversity.window") } ?? 10)
        },
        exploration: try opt(o, "exploration").map {
            let e = try obj($0, "exploration")
            try checkKeys(e, ["rate", "seed"], "exploration")
            return ExplorationOptions(
                rate: try opt(e, "rate").map { try float($0, "exploration.rate") } ?? 0,
                seed: try opt(e, "seed").map { try uint($0, "exploration.seed") })
        },
        deadlineMs: try opt(o, "deadline_ms").map { try u32($0, "request.deadline_ms") },
        candidateSet: try opt(o, "candidate_set").map { try str($0, "request.candidate_set") },
        kind: try opt(o, "kind").map { try surfaceKind(try str($0, "request.kind")) },
        contextItemIds: try opt(o, "context_item_ids").map { try strs($0, "request.context_item_ids") } ?? [],
        includeContext: try opt(o, "include_context").map { try bool($0, "request.include_context") } ?? false,
        retrievalScores: try opt(o, "retrieval_scores").map {
            try list($0, "request.retrieval_scores").map { try float($0, "request.retrieval_scores") }
        })
}

private func surfaceKind(_ s: String) throws -> SurfaceKind {
    switch s {
    case "for_you": return .forYou
    case "similar": return .similar
    case "goes_with": return .goesWith
    case "complete_cart": return .completeCart
    case "buy_again": return .buyAgain
    case "trending": return .trending
    case "search": return .search
    default: throw fail("unknown surface kind \"\(s)\"")
    }
}

private func bundleRequest(_ v: JSON, _ now: Int64) throws -> BundleRequest {
    let o = try obj(v, "bundle request")
    try checkKeys(o, ["context_item_ids", "size", "max_total_price", "min_margin", "now", "at"], "bundle request")
    return BundleRequest(
        contextItemIds: try opt(o, "context_item_ids").map { try strs($0, "bundle.context_item_ids") } ?? [],
        size: try opt(o, "size").map { try u32($0, "bundle.size") } ?? 3,
        maxTotalPrice: try opt(o, "max_total_price").map { try float($0, "bundle.max_total_price") },
        minMargin: try opt(o, "min_margin").map { try float($0, "bundle.min_margin") },
        now: try time(o, "now", now, "bundle request") ?? now)
}

private func config(_ v: JSON?, _ directory: String) throws -> TailorConfig {
    var c = TailorConfig(directory: directory)
    guard let v else { return c }
    let o = try obj(v, "config")
    try checkKeys(o, ["half_life_days", "session_gap_minutes", "max_event_age_days", "max_events",
                      "exploration_rate", "durable_sync", "rank_deadline_ms", "guard_min_ranks"], "config")
    if let x = opt(o, "half_life_days") { c.halfLifeDays = try float(x, "config.half_life_days") }
    if let x = opt(o, "session_gap_minutes") { c.sessionGapMinutes = try u32(x, "config.session_gap_minutes") }
    if let x = opt(o, "max_event_age_days") { c.maxEventAgeDays = try u32(x, "config.max_event_age_days") }
    if let x = opt(o, "max_events") { c.maxEvents = try u32(x, "config.max_events") }
    if let x = opt(o, "exploration_rate") { c.explorationRate = try float(x, "config.exploration_rate") }
    if let x = opt(o, "durable_sync") { c.durableSync = try bool(x, "config.durable_sync") }
    if let x = opt(o, "rank_deadline_ms") { c.rankDeadlineMs = try u32(x, "config.rank_deadline_ms") }
    if let x = opt(o, "guard_min_ranks") { c.guardMinRanks = try u32(x, "config.guard_min_ranks") }
    return c
}

// MARK: - generated types -> canonical JSON and text

private func kindName(_ k: AttributeKind) -> String {
    switch k {
    case .category: return "category"
    case .brand: return "brand"
    case .tag: return "tag"
    case .item: return "item"
    }
}

private func attrJSON(_ a: Attribute) -> JSON {
    .object(["kind": .string(kindName(a.kind)), "value": .string(a.value)])
}

private func reasonJSON(_ r: Reason) -> JSON {
    func t(_ type: String, _ extra: Obj = [:]) -> JSON { .object(extra.merging(["type": .string(type)]) { a, _ in a }) }
    switch r {
    case .similarTo(let itemId, let title): return t("similar_to", ["item_id": .string(itemId), "title": .string(title)])
    case .boughtBefore(let times): return t("bought_before", ["times": .int(Int64(times))])
    case .leftInCart: return t("left_in_cart")
    case .viewedRecently: return t("viewed_recently")
    case .likes(let a): return t("likes", ["attribute": attrJSON(a)])
    case .sessionIntent(let a): return t("session_intent", ["attribute": attrJSON(a)])
    case .chosenPreference(let a): return t("chosen_preference", ["attribute": attrJSON(a)])
    case .popularNow: return t("popular_now")
    case .pinned: return t("pinned")
    case .boosted(let a): return t("boosted", ["attribute": attrJSON(a)])
    case .exploration: return t("exploration")
    case .goesWith(let itemId, let title): return t("goes_with", ["item_id": .string(itemId), "title": .string(title)])
    case .looksLike(let itemId, let title): return t("looks_like", ["item_id": .string(itemId), "title": .string(title)])
    case .trendingInCategory(let category): return t("trending_in_category", ["category": .string(category)])
    }
}

private func reasonText(_ r: Reason) -> String {
    func a(_ x: Attribute) -> String { "\(kindName(x.kind))=\(x.value)" }
    switch r {
    case .similarTo(let itemId, _): return "similar_to:\(itemId)"
    case .boughtBefore(let times): return "bought_before:\(times)"
    case .leftInCart: return "left_in_cart"
    case .viewedRecently: return "viewed_recently"
    case .likes(let x): return "likes:\(a(x))"
    case .sessionIntent(let x): return "session_intent:\(a(x))"
    case .chosenPreference(let x): return "chosen_preference:\(a(x))"
    case .popularNow: return "popular_now"
    case .pinned: return "pinned"
    case .boosted(let x): return "boosted:\(a(x))"
    case .exploration: return "exploration"
    case .goesWith(let itemId, _): return "goes_with:\(itemId)"
    case .looksLike(let itemId, _): return "looks_like:\(itemId)"
    case .trendingInCategory(let category): return "trending_in_category:\(category)"
    }
}

private func fallbackName(_ f: Fallback?) -> String {
    switch f {
    case nil: return "none"
    case .coldStart?: return "cold_start"
    case .optedOut?: return "opted_out"
    case .modelFailed?: return "model_failed"
    case .deadlineExceeded?: return "deadline_exceeded"
    }
}

private func problemName(_ p: ModelProblem) -> String {
    switch p {
    case .invalidManifest: return "invalid_manifest"
    case .hashMismatch: return "hash_mismatch"
    case .unknownFeature: return "unknown_feature"
    case .notOnnx: return "not_onnx"
    case .unsupportedOperator: return "unsupported_operator"
    case .shapeMismatch: return "shape_mismatch"
    case .nonFiniteOutput: return "non_finite_output"
    case .badSignature: return "bad_signature"
    case .tooLarge: return "too_large"
    case .overBudget: return "over_budget"
    case .runtimeError: return "runtime_error"
    case .quarantined: return "quarantined"
    }
}

private func errorText(_ e: TailorError) -> String {
    switch e {
    case .invalidInput: return "invalid_input"
    case .notFound: return "not_found"
    case .modelRejected(let problem, _): return "model_rejected/\(problemName(problem))"
    case .storage: return "storage"
    case .closed: return "closed"
    case .interrupted: return "interrupted"
    }
}

private func rankText(_ r: RankResponse) -> String {
    let items = r.items.map { i in "\(i.itemId)(\(i.reasons.map(reasonText).joined(separator: ",")))" }
    return "personalized=\(r.personalized) fallback=\(fallbackName(r.fallback)) model=\(r.modelName) "
        + "unknown=[\(r.unknownIds.joined(separator: ","))] items=[\(items.joined(separator: " "))]"
}

// MARK: - expectations

/// Numbers compare by value; objects match when every key of `spec` matches.
private func matches(_ spec: JSON, _ actual: JSON) -> Bool {
    switch (spec, actual) {
    case (.object(let s), .object(let a)):
        return s.allSatisfy { k, v in a[k].map { matches(v, $0) } ?? false }
    default:
        if let x = spec.number, let y = actual.number { return x == y }
        return spec == actual
    }
}

/// `"pinned"` is short for `{"type": "pinned"}`.
private func reasonSpec(_ v: JSON) -> JSON {
    if case .string(let s) = v { return .object(["type": .string(s)]) }
    return v
}

private func expectEq<T: Equatable>(_ what: String, _ expected: T, _ actual: T) throws {
    if expected != actual { throw fail("\(what): expected \(expected), got \(actual)") }
}

private func checkRank(_ e: Obj, _ r: RankResponse, _ saved: [String: [String]]) throws {
    try checkKeys(e, ["ids", "prefix", "contains", "absent", "count", "before", "personalized", "fallback", "model",
                      "unknown_ids", "reasons", "top_reason", "no_reason", "positions", "same_as"], "rank expect")
    let ids = r.items.map(\.itemId)
    func pos(_ id: String) -> Int? { ids.firstIndex(of: id) }
    if let v = e["ids"] { try expectEq("ids", try strs(v, "ids"), ids) }
    if let v = e["prefix"] {
        let p = try strs(v, "prefix")
        try expectEq("prefix", p, Array(ids.prefix(p.count)))
    }
    if let v = e["contains"] {
        for id in try strs(v, "contains") where pos(id) == nil { throw fail("contains: \(id) is not among \(ids)") }
    }
    if let v = e["absent"] {
        for id in try strs(v, "absent") where pos(id) != nil { throw fail("absent: \(id) is among \(ids)") }
    }
    if let v = e["count"] { try expectEq("count", Int(try uint(v, "count")), ids.count) }
    if let v = e["before"] {
        for pair in try list(v, "before") {
            let p = try strs(pair, "before")
            guard p.count == 2 else { throw fail("before: each entry is [higher, lower]") }
            guard let x = pos(p[0]), let y = pos(p[1]), x < y else {
                throw fail("before: expected \(p[0]) above \(p[1]) in \(ids)")
            }
        }
    }
    if let v = e["personalized"] { try expectEq("personalized", try bool(v, "personalized"), r.personalized) }
    if let v = e["fallback"] {
        let want = v == .null ? "none" : try str(v, "fallback")
        try expectEq("fallback", want, fallbackName(r.fallback))
    }
    if let v = e["model"] { try expectEq("model", try str(v, "model"), r.modelName) }
    if let v = e["unknown_ids"] { try expectEq("unknown_ids", try strs(v, "unknown_ids"), r.unknownIds) }
    func reasonsOf(_ id: String) throws -> [JSON] {
        guard let i = pos(id) else { throw fail("reasons: \(id) is not among \(ids)") }
        return r.items[i].reasons.map(reasonJSON)
    }
    if let v = e["reasons"] {
        for (id, specs) in try obj(v, "reasons").sorted(by: { $0.key < $1.key }) {
            let actual = try reasonsOf(id)
            for s in try list(specs, "reasons") {
                let spec = reasonSpec(s)
                if !actual.contains(where: { matches(spec, $0) }) {
                    throw fail("reasons of \(id): no reason matches \(spec) in \(actual)")
                }
            }
        }
    }
    if let v = e["top_reason"] {
        for (id, s) in try obj(v, "top_reason").sorted(by: { $0.key < $1.key }) {
            let actual = try reasonsOf(id)
            let spec = reasonSpec(s)
            guard let first = actual.first, matches(spec, first) else {
                throw fail("top reason of \(id): expected \(spec), got \(actual)")
            }
        }
    }
    if let v = e["no_reason"] {
        for s in try list(v, "no_reason") {
            let spec = reasonSpec(s)
            for i in r.items where i.reasons.contains(where: { matches(spec, reasonJSON($0)) }) {
                throw fail("no_reason: \(i.itemId) has a reason matching \(spec)")
            }
        }
    }
    if let v = e["positions"] {
        for (kind, want) in try obj(v, "positions").sorted(by: { $0.key < $1.key }) {
            let spec = JSON.object(["type": .string(kind)])
            let got = r.items.indices.filter { p in r.items[p].reasons.contains { matches(spec, reasonJSON($0)) } }
                .map { UInt64($0) }
            try expectEq("positions of \(kind)", try list(want, "positions").map { try uint($0, "positions") }, got)
        }
    }
    if let v = e["same_as"] {
        let label = try str(v, "same_as")
        guard let before = saved[label] else { throw fail("same_as: no rank step saved as \"\(label)\"") }
        try expectEq("same ids as \"\(label)\"", before, ids)
    }
}

private func checkFields(_ e: Obj, _ actual: Obj, _ what: String) throws {
    try checkKeys(e, Array(actual.keys), what)
    for (k, v) in actual.sorted(by: { $0.key < $1.key }) {
        if let want = e[k], !matches(want, v) { throw fail("\(what).\(k): expected \(want), got \(v)") }
    }
}

// MARK: - running

private final class ScenarioRun {
    let url: URL
    var transcript: [String] = []
    private var now = defaultNow
    private var cfg = TailorConfig(directory: "")
    private var tailor: Tailor?
    private var saved: [String: [String]] = [:]
    private var responses: [String: RankResponse] = [:]

    init(url: URL) { self.url = url }

    func run() throws {
        let doc: JSON
        do {
            doc = try JSONDecoder().decode(JSON.self, from: try Data(contentsOf: url))
        } catch {
            throw fail("not JSON: \(error)")
        }
        let o = try obj(doc, "scenario")
        try checkKeys(o, ["description", "now", "config", "steps"], "scenario")
        _ = try str(o["description"], "description")
        now = try opt(o, "now").map { try int($0, "now") } ?? defaultNow
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-scenario-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        cfg = try config(opt(o, "config"), dir.appendingPathComponent("store").path)
        let steps = try list(o["steps"], "scenario.steps")
        do {
            tailor = try Tailor.open(config: cfg)
        } catch {
            throw fail("open: \(error)")
        }
        defer { tailor?.close() }
        for (n, s) in steps.enumerated() {
            do {
                transcript.append(try step(n, try obj(s, "step")))
            } catch let f as ScenarioFailure {
                throw fail("step \(n): \(f.message)")
            }
        }
    }

    private struct Outcome {
        var text: String
        var fields: Obj
    }

    private func step(_ n: Int, _ o: Obj) throws -> String {
        let op = try str(o["op"], "op")
        let wantError = try opt(o, "error").map { try str($0, "error") }
        let result: Outcome
        do {
            result = try call(op, o)
        } catch let e as TailorError {
            let got = errorText(e)
            guard let wantError else { throw fail("unexpected error: \(e)") }
            // `model_rejected` matches any problem; `model_rejected/not_onnx` only that one.
            if got != wantError && got.split(separator: "/").first.map(String.init) != wantError {
                throw fail("expected error \(wantError), got \(got): \(e)")
            }
            return "\(n) \(op): error \(got)"
        }
        if let wantError { throw fail("expected error \(wantError), but the call succeeded: \(result.text)") }
        if op != "rank", let e = opt(o, "expect") { try checkFields(try obj(e, "expect"), result.fields, "\(op) expect") }
        return "\(n) \(op): " + (result.text.isEmpty ? "ok" : "ok \(result.text)")
    }

    private func keys(_ o: Obj, _ op: String, _ extra: String...) throws {
        try checkKeys(o, ["op", "note", "error", "expect"] + extra, "step \(op)")
    }

    private func path(_ o: Obj, _ op: String, _ key: String) throws -> String {
        guard let v = o[key] else { throw fail("\(op): missing `\(key)`") }
        return TestSupport.repo.appendingPathComponent(try str(v, key)).path
    }

    private func count(_ n: UInt32) -> Outcome { Outcome(text: "count=\(n)", fields: ["count": .int(Int64(n))]) }

    private func model(_ m: ModelInfo) -> Outcome {
        Outcome(text: "model=\(m.name) version=\(m.version)",
                fields: ["name": .string(m.name), "version": .string(m.version), "builtin": .bool(m.builtin)])
    }

    private func call(_ op: String, _ o: Obj) throws -> Outcome {
        guard let t = tailor else { throw fail("no open Tailor") }
        let none = Outcome(text: "", fields: [:])
        switch op {
        case "upsert":
            try keys(o, op, "items")
            return count(try t.upsertItems(items: try list(o["items"], "upsert.items").map(item)))
        case "import_catalog_csv":
            try keys(o, op, "path")
            return count(try t.importCatalogCsv(path: try path(o, op, "path")))
        case "remove":
            try keys(o, op, "ids")
            return count(try t.removeItems(ids: try strs(o["ids"], "remove.ids")))
        case "track":
            try keys(o, op, "events")
            let s = try t.trackBatch(events: try list(o["events"], "track.events").map { try event($0, now, responses) })
            return Outcome(
                text: "stored=\(s.stored) pending_items=\(s.pendingItems) dropped_no_consent=\(s.droppedNoConsent)",
                fields: ["stored": .int(Int64(s.stored)), "pending_items": .int(Int64(s.pendingItems)),
                         "dropped_no_consent": .int(Int64(s.droppedNoConsent))])
        case "consent":
            try keys(o, op, "granted")
            try t.setConsent(granted: try bool(o["granted"], "consent.granted"))
            return none
        case "preferences":
            try keys(o, op, "attributes")
            try t.setPreferences(preferences: try list(o["attributes"], "preferences.attributes").map(attribute))
            return none
        case "load_model":
            try keys(o, op, "path")
            return model(try t.loadModel(modelPath: try path(o, op, "path"), manifestPath: nil))
        case "rollback_model":
            try keys(o, op)
            return model(try t.rollbackModel())
        case "erase":
            try keys(o, op)
            try t.erase()
            return none
        case "close":
            try keys(o, op)
            t.close()
            return none
        case "reopen":
            try keys(o, op)
            t.close()
            tailor = nil
            tailor = try Tailor.open(config: cfg)
            return none
        case "status":
            try keys(o, op)
            let s = try t.status()
            return Outcome(
                text: "catalog_items=\(s.catalogItems) profile_events=\(s.profileEvents) "
                    + "pending_events=\(s.pendingEvents) consent=\(s.consent) model=\(s.model.name)",
                fields: ["catalog_items": .int(Int64(s.catalogItems)), "profile_events": .int(Int64(s.profileEvents)),
                         "pending_events": .int(Int64(s.pendingEvents)), "consent": .bool(s.consent),
                         "model": .string(s.model.name)])
        case "rank":
            try keys(o, op, "request", "save")
            let r = try t.rank(request: try rankRequest(opt(o, "request") ?? .object([:]), now))
            if let e = opt(o, "expect") { try checkRank(try obj(e, "rank expect"), r, saved) }
            if let label = opt(o, "save") {
                saved[try str(label, "save")] = r.items.map(\.itemId)
                responses[try str(label, "save")] = r
            }
            return Outcome(text: rankText(r), fields: [:])
        case "bundle":
            try keys(o, op, "request")
            guard let req = o["request"] else { throw fail("bundle: missing `request`") }
            let b = try t.bundle(request: try bundleRequest(req, now))
            let items = b.items.map { i in "\(i.itemId)(\(i.reasons.map(reasonText).joined(separator: ",")))" }
            let cents = Int64((b.totalPrice * 100).rounded())
            return Outcome(
                text: "personalized=\(b.personalized) items=[\(items.joined(separator: " "))] total_cents=\(cents)",
                fields: ["ids": .string(b.items.map(\.itemId).joined(separator: ",")), "total_cents": .int(cents),
                         "personalized": .bool(b.personalized)])
        case "not_interested":
            try keys(o, op, "attribute")
            guard let a = o["attribute"] else { throw fail("not_interested: missing `attribute`") }
            try t.markNotInterested(attribute: try attribute(a))
            return none
        case "undo_not_interested":
            try keys(o, op, "attribute")
            guard let a = o["attribute"] else { throw fail("undo_not_interested: missing `attribute`") }
            let removed = try t.undoNotInterested(attribute: try attribute(a))
            return Outcome(text: "removed=\(removed)", fields: ["removed": .bool(removed)])
        case "define_candidate_set":
            try keys(o, op, "name", "ids")
            return count(try t.defineCandidateSet(name: try str(o["name"], "name"),
                                                  itemIds: try strs(o["ids"], "define_candidate_set.ids")))
        case "remove_candidate_set":
            try keys(o, op, "name")
            let removed = try t.removeCandidateSet(name: try str(o["name"], "name"))
            return Outcome(text: "removed=\(removed)", fields: ["removed": .bool(removed)])
        case "forget_item":
            try keys(o, op, "item_id")
            return count(try t.forgetItem(itemId: try str(o["item_id"], "item_id")))
        case "impressions":
            try keys(o, op, "from", "shown", "at")
            guard let from = o["from"] else { throw fail("impressions: missing `from`") }
            let r = try savedResponse(responses, from)
            let shown = Int(try uint(o["shown"], "shown"))
            let ts = try time(o, "timestamp", now, "impressions") ?? now
            try t.recordImpressions(impressions: Impressions(
                itemIds: Array(r.items.prefix(shown).map(\.itemId)), surface: r.surface,
                experiment: r.experiment, timestamp: ts, responseId: r.responseId))
            return none
        case "placements":
            try keys(o, op)
            return placements(try t.metrics())
        default:
            throw fail("unknown op \"\(op)\"")
        }
    }

    /// Placements by the label their response was saved under (ids are random), in label order.
    private func placements(_ m: LocalMetrics) -> Outcome {
        let rows = m.placements.map { p in
            (responses.first { $0.value.responseId == p.responseId }?.key ?? "?", p)
        }.sorted { $0.0 < $1.0 }
        let text = rows.map { l, p in
            "\(l) surface=\(p.surface) variant=\(p.variant) impressions=\(p.impressions) clicks=\(p.clicks) "
                + "add_to_carts=\(p.addToCarts) purchases=\(p.purchases)"
        }.joined(separator: "; ")
        var fields: Obj = [:]
        for (l, p) in rows {
            fields[l] = .object([
                "surface": .string(p.surface), "variant": .string(p.variant),
                "impressions": .int(Int64(p.impressions)), "clicks": .int(Int64(p.clicks)),
                "add_to_carts": .int(Int64(p.addToCarts)), "purchases": .int(Int64(p.purchases)),
            ])
        }
        return Outcome(text: text.isEmpty ? "none" : text, fields: fields)
    }
}
