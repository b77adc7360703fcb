// What Tailor reports back (status, metrics, track summaries), with `Int` counts: the generated
// records carry Rust's u64/u32 as UInt64/UInt32, which do not mix with `Int` arithmetic, string
// formatting or most analytics SDKs without conversions at every use. Counts never come near
// Int.max on the 64-bit platforms Tailor ships for, and the conversion clamps instead of trapping.
import Foundation

/// Health and size of the stores (`TailorClient.status()`).
public struct TailorStatus: Equatable, Sendable {
    public let catalogItems: Int
    public let profileEvents: Int
    /// Events for items the catalog does not have yet; they count once the item arrives.
    public let pendingEvents: Int
    public let consent: Bool
    public let model: ModelInfo
    /// A damaged file moved aside at open, a model that no longer loads, events pruned by retention.
    public let notices: [StoreNotice]
}

/// What a `track([Event])`, `importEventsCsv` or `importProfileSnapshot` did.
public struct TrackCounts: Equatable, Sendable {
    public let stored: Int
    /// Stored events whose item is not in the catalog yet.
    public let pendingItems: Int
    /// Events dropped because the shopper has not consented.
    public let droppedNoConsent: Int

    public init(stored: Int, pendingItems: Int = 0, droppedNoConsent: Int = 0) {
        self.stored = stored
        self.pendingItems = pendingItems
        self.droppedNoConsent = droppedNoConsent
    }
}

/// Everything measured on the device (`TailorClient.metrics()`), for the app's own analytics.
public struct TailorMetrics: Equatable, Sendable {
    public let funnels: [Funnel]
    /// Conversions per page shown, most recently shown first.
    public let placements: [Placement]
    public let engine: EngineMetrics

    /// The funnel of one experiment (`""` outside experiments) and surface (`""` when none was given).
    public func funnel(experiment: String = "", surface: String = "") -> Funnel? {
        funnels.first { $0.experiment == experiment && $0.surface == surface }
    }

    /// The placement of one page: `metrics.placement(page.responseId)`.
    public func placement(_ responseId: String) -> Placement? {
        placements.first { $0.responseId == responseId }
    }
}

/// Conversions of one placement: a page (rank response) the app reported with
/// `recordImpressions`, with its surface and variant. Clicks, carts and purchases count when they
/// cite the page (`Event.click(id, responseId: page.responseId)`) or follow an impression of the
/// item on it, within `attributionWindowHours` of when it was first shown.
public struct Placement: Equatable, Sendable {
    public let responseId: String
    public let surface: String
    public let experiment: String
    public let variant: String
    public let shownAt: Date
    public let impressions: Int
    public let clicks: Int
    public let addToCarts: Int
    public let purchases: Int
    /// Price x quantity of the attributed purchases.
    public let revenue: Double
}

/// Local funnel of one experiment variant and surface.
public struct Funnel: Equatable, Sendable {
    public let experiment: String
    public let variant: String
    public let surface: String
    public let impressions: Int
    public let clicks: Int
    public let addToCarts: Int
    public let purchases: Int
    /// Price x quantity of the purchases.
    public let revenue: Double
    /// Purchases of an item shown within `attributionWindowHours` before.
    public let attributedConversions: Int
    public let attributedRevenue: Double
}

/// Rank latency since the client was opened, in microseconds.
public struct Latency: Equatable, Sendable {
    public let count: Int
    public let p50Micros: Int
    public let p95Micros: Int
    public let p99Micros: Int
}

/// Counters by name: `errors["invalid_input"]` is 0 when there were none.
public struct NamedCounts: Equatable, Sendable {
    public let counts: [String: Int]
    public subscript(_ name: String) -> Int { counts[name] ?? 0 }
}

/// How the engine has been doing since the client was opened.
public struct EngineMetrics: Equatable, Sendable {
    public let rankLatency: Latency
    public let model: ModelInfo
    /// Fallback responses by reason (cold_start, opted_out, model_failed, deadline_exceeded).
    public let fallbacks: NamedCounts
    /// Failed calls by error kind (invalid_input, not_found, model_rejected, storage, closed).
    public let errors: NamedCounts
    public let catalogItems: Int
    public let profileEvents: Int
    public let profileDbBytes: Int
    public let catalogDbBytes: Int
    /// Updates of the personal adjustment layer (lifetime).
    public let personalUpdates: Int
    /// What the model guard sees of the active model, and the rollbacks it made.
    public let modelGuard: ModelGuardMetrics
}

/// The model guard's view of the active model since it became active (counts are halved as they
/// grow, so recent calls weigh more) and the rollbacks it made on this device (kept across
/// restarts).
public struct ModelGuardMetrics: Equatable, Sendable {
    public let enabled: Bool
    /// Rank calls the active model scored (or failed to score).
    public let ranks: Int
    /// Of these, calls that fell back because the model failed.
    public let fallbacks: Int
    /// Of these, calls whose scores were NaN or infinite.
    public let nonFinite: Int
    /// Rank latency p95 of those calls, per 1,000 candidates scored (fewer count whole).
    public let p95Micros: Int
    /// Score drift (PSI) against the manifest's `score_reference`; `nil` without one.
    public let driftPsi: Double?
    /// Models rolled back, oldest first; each stays refused (`.quarantined`).
    public let rollbacks: [GuardRollback]
}

/// `value` as an `Int`, clamped (never trapping) in the impossible case it does not fit.
func count<T: BinaryInteger>(_ value: T) -> Int { Int(clamping: value) }

extension Status {
    var report: TailorStatus {
        TailorStatus(catalogItems: count(catalogItems), profileEvents: count(profileEvents),
                     pendingEvents: count(pendingEvents), consent: consent, model: model, notices: notices)
    }
}

extension TrackSummary {
    var counts: TrackCounts {
        TrackCounts(stored: count(stored), pendingItems: count(pendingItems),
                    droppedNoConsent: count(droppedNoConsent))
    }
}

extension LocalMetrics {
    var report: TailorMetrics {
        let named = { (list: [NamedCount]) in
            NamedCounts(counts: Dictionary(list.map { ($0.name, count($0.count)) }, uniquingKeysWith: +))
        }
        return TailorMetrics(
            funnels: funnels.map {
                Funnel(experiment: $0.experiment, variant: $0.variant, surface: $0.surface,
                       impressions: count($0.impressions), clicks: count($0.clicks),
                       addToCarts: count($0.addToCarts), purchases: count($0.purchases), revenue: $0.revenue,
                       attributedConversions: count($0.attributedConversions),
                       attributedRevenue: $0.attributedRevenue)
            },
            placements: placements.map {
                Placement(responseId: $0.responseId, surface: $0.surface, experiment: $0.experiment,
                          variant: $0.variant, shownAt: Date(timeIntervalSince1970: TimeInterval($0.shownAt)),
                          impressions: count($0.impressions), clicks: count($0.clicks),
                          addToCarts: count($0.addToCarts), purchases: count($0.purchases), revenue: $0.revenue)
            },
            engine: EngineMetrics(
                rankLatency: Latency(count: count(engine.rankLatency.count),
                                     p50Micros: count(engine.rankLatency.p50Micros),
                                     p95Micros: count(engine.rankLatency.p95Micros),
                                     p99Micros: count(engine.rankLatency.p99Micros)),
                model: engine.model, fallbacks: named(engine.fallbacks), errors: named(engine.errors),
                catalogItems: count(engine.catalogItems), profileEvents: count(engine.profileEvents),
                profileDbBytes: count(engine.profileDbBytes), catalogDbBytes: count(engine.catalogDbBytes),
                personalUpdates: count(engine.personalUpdates),
                modelGuard: ModelGuardMetrics(
                    enabled: engine.modelGuard.enabled, ranks: count(engine.modelGuard.ranks),
                    fallbacks: count(engine.modelGuard.fallbacks), nonFinite: count(engine.modelGuard.nonFinite),
                    p95Micros: count(engine.modelGuard.p95Micros), driftPsi: engine.modelGuard.driftPsi,
                    rollbacks: engine.modelGuard.rollbacks)))
    }
}

extension DiversityOptions {
    /// At most `maxPerCategory` / `maxPerBrand` items each within the first `window` results:
    /// `rank(limit: 20, diversity: try .atMost(perCategory: 2))`. A negative number throws
    /// `.invalidInput`.
    public static func atMost(perCategory: Int? = nil, perBrand: Int? = nil, window: Int = 10) throws
        -> DiversityOptions
    {
        DiversityOptions(maxPerCategory: try perCategory.map { try checked("maxPerCategory", $0) },
                         maxPerBrand: try perBrand.map { try checked("maxPerBrand", $0) },
                         window: try checked("window", window))
    }
}

extension ExplorationOptions {
    /// Give `rate` of the page to discovery: `rank(exploration: try .rate(0.2, seed: 7))`. Picks
    /// are random per call unless `seed` (0 or more) is given: the same seed, request and state
    /// give the same page, so tests can pin it down. A negative seed throws `.invalidInput`.
    public static func rate(_ rate: Double, seed: Int? = nil) throws -> ExplorationOptions {
        let fixed = try seed.map { s -> UInt64 in
            guard let v = UInt64(exactly: s) else {
                throw TailorError.invalidInput(message: "exploration seed must be 0 or more, got \(s)")
            }
            return v
        }
        return ExplorationOptions(rate: rate, seed: fixed)
    }
}
