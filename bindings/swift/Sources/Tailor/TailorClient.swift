// Hand-written Swift layer over the generated bindings (Generated/Tailor.swift, same module).
// The generated API is complete but blocking; this file adds async wrappers that keep the native
// work off the caller's actor, and small constructors for events, attributes, rules, impressions
// and experiments.
import Dispatch
import Foundation

/// One shopper's personalization: the catalog, the profile and the ranking model, stored in one
/// app-private directory.
///
/// Every method is `async` and runs the blocking native call on a background dispatch queue, so
/// it is safe to call from the main actor. The native object is thread-safe, so one client can be
/// shared by the whole app (`TailorClient` is `Sendable`). Ranking never waits for writes or model
/// swaps. Failures are thrown as ``TailorError`` (`.invalidInput`, `.notFound`, `.modelRejected`
/// with a ``ModelProblem``, `.storage`, `.closed`), a `LocalizedError` whose `errorDescription`
/// is the plain message.
///
/// ```swift
/// let tailor = try await TailorClient(directory: appSupport.appendingPathComponent("tailor"))
/// try await tailor.track(.view("85123A"))
/// let page = try await tailor.rank(limit: 10)
/// ```
public final class TailorClient: Sendable {
    /// The generated object. Its methods block; call them off the main thread.
    public let native: Tailor
    private let queue: DispatchQueue

    /// Where the native calls run unless a client is given its own queue.
    public static let defaultQueue = DispatchQueue(
        label: "dev.tailor.native", qos: .userInitiated, attributes: .concurrent)

    /// Wrap an already opened object.
    public init(_ native: Tailor, queue: DispatchQueue = TailorClient.defaultQueue) {
        self.native = native
        self.queue = queue
    }

    /// Open (or create) the stores in `config.directory`.
    public convenience init(config: TailorConfig, queue: DispatchQueue = TailorClient.defaultQueue) async throws {
        let native = try await Self.run(on: queue) { try Tailor.open(config: config) }
        self.init(native, queue: queue)
    }

    /// Open (or create) the stores in the folder `directory` with default settings.
    public convenience init(directory: URL, queue: DispatchQueue = TailorClient.defaultQueue) async throws {
        try await self.init(config: TailorConfig(directory: directory.path), queue: queue)
    }

    /// Open (or create) the stores in the folder at `directory` (a path) with default settings.
    public convenience init(directory: String, queue: DispatchQueue = TailorClient.defaultQueue) async throws {
        try await self.init(config: TailorConfig(directory: directory), queue: queue)
    }

    private static func run<T: Sendable>(
        on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (Tailor) throws -> T) async throws -> T {
        let native = self.native
        return try await Self.run(on: queue) { try body(native) }
    }

    // MARK: catalog

    /// Load a catalog CSV (plain or gzip); returns how many items were written.
    @discardableResult
    public func importCatalogCsv(_ file: URL) async throws -> Int {
        try await importCatalogCsv(path: file.path)
    }

    @discardableResult
    public func importCatalogCsv(path: String) async throws -> Int {
        Int(try await run { try $0.importCatalogCsv(path: path) })
    }

    /// Insert or replace items, all or nothing.
    @discardableResult
    public func upsertItems(_ items: [Item]) async throws -> Int {
        Int(try await run { try $0.upsertItems(items: items) })
    }

    /// Remove items by id; returns how many existed.
    @discardableResult
    public func removeItems(_ ids: [String]) async throws -> Int {
        Int(try await run { try $0.removeItems(ids: ids) })
    }

    // MARK: events

    /// Record one event; dropped silently when the shopper has not consented.
    public func track(_ event: Event) async throws {
        try await run { try $0.track(event: event) }
    }

    /// Record many events in one transaction, all or nothing.
    @discardableResult
    public func track(_ events: [Event]) async throws -> TrackCounts {
        try await run { try $0.trackBatch(events: events) }.counts
    }

    /// Load an events CSV (`user_id,item_id,event,ts,session_id,quantity`), optionally one user's
    /// rows. When no catalog item has a popularity, every purchase in the file counts towards it,
    /// so the cold-start page becomes a best-seller order.
    @discardableResult
    public func importEventsCsv(_ file: URL, userId: String? = nil) async throws -> TrackCounts {
        try await importEventsCsv(path: file.path, userId: userId)
    }

    @discardableResult
    public func importEventsCsv(path: String, userId: String? = nil) async throws -> TrackCounts {
        try await run { try $0.importEventsCsv(path: path, userId: userId) }.counts
    }

    // MARK: ranking

    /// Ranks `request`; the page comes back packed and is read in one pass (`Tailor.rankPage`).
    public func rank(_ request: RankRequest) async throws -> RankResponse {
        try await run { try $0.rankPage(request) }
    }

    /// Rank with named arguments; omitted ones take the core's defaults. `limit` is 1...1000;
    /// anything else throws `TailorError.invalidInput`. `deadline` is this call's time budget
    /// (whole milliseconds; `nil` uses `TailorConfig.rankDeadlineMs`): when scoring would run
    /// over it, the rest of the candidates are ordered by popularity and the response's
    /// `fallback` is `.deadlineExceeded`, never an error; `0` skips the model.
    public func rank(
        limit: Int = Int(RankRequest().limit),
        candidates: [String]? = nil,
        sessionId: String? = nil,
        surface: String? = nil,
        now: Date? = nil,
        rules: BusinessRules = BusinessRules(),
        diversity: DiversityOptions? = nil,
        exploration: ExplorationOptions? = nil,
        experiment: String? = nil,
        deadline: TimeInterval? = nil,
        candidateSet: String? = nil,
        kind: SurfaceKind = .forYou,
        context: [String] = [],
        includeContext: Bool = false,
        retrievalScores: [Double]? = nil
    ) async throws -> RankResponse {
        try await rank(RankRequest(
            candidateIds: candidates, limit: try checked("limit", limit), surface: surface, sessionId: sessionId,
            now: now.map(\.unixSeconds), rules: rules, diversity: diversity, exploration: exploration,
            experiment: experiment, deadlineMs: try deadline.map { try milliseconds("deadline", $0) },
            candidateSet: candidateSet, kind: kind, contextItemIds: context, includeContext: includeContext, retrievalScores: retrievalScores))
    }

    /// Defines (or replaces) a named list of candidate ids, ranked with
    /// `rank(candidateSet: name)`: each call then sends one name instead of lowering every id,
    /// the cheapest way to rank a fixed list from Swift. Kept until `close`; ids the catalog
    /// lacks are reported in `unknownIds` when ranked. Returns how many distinct ids the set
    /// holds. An empty list, more than 100,000 ids or more than 64 sets throws
    /// `TailorError.invalidInput`; ranking an undefined name throws `.notFound`.
    @discardableResult
    public func defineCandidateSet(_ name: String, itemIds: [String]) async throws -> Int {
        Int(try await run { try $0.defineCandidateSet(name: name, itemIds: itemIds) })
    }

    /// Removes a candidate set; `true` when it was defined.
    @discardableResult
    public func removeCandidateSet(_ name: String) async throws -> Bool {
        try await run { try $0.removeCandidateSet(name: name) }
    }

    /// The names of the candidate sets defined, sorted.
    public func candidateSets() async throws -> [String] {
        try await run { try $0.candidateSets() }
    }

    // MARK: surfaces

    /// Product page, "goes with": items bought together with `itemId` (itself left out).
    public func goesWith(_ itemId: String, limit: Int = 10, now: Date? = nil) async throws -> RankResponse {
        try await rank(limit: limit, now: now, kind: .goesWith, context: [itemId])
    }

    /// Product page, "similar items": items that look like `itemId`.
    public func similar(to itemId: String, limit: Int = 10, now: Date? = nil) async throws -> RankResponse {
        try await rank(limit: limit, now: now, kind: .similar, context: [itemId])
    }

    /// Cart, "complete your order": items bought with the cart's items (most recently added last).
    public func completeCart(_ cart: [String], limit: Int = 10, now: Date? = nil) async throws -> RankResponse {
        try await rank(limit: limit, now: now, kind: .completeCart, context: cart)
    }

    /// The app's search `results` in the shopper's order, mixing the app's relevance (`scores`, same
    /// order, or the order itself) with their taste. A shopper without history gets `results` unchanged.
    public func rerankSearch(_ results: [String], scores: [Double]? = nil, now: Date? = nil) async throws -> RankResponse {
        try await rank(limit: min(max(results.count, 1), 1000), candidates: results, now: now, kind: .search,
                       retrievalScores: scores)
    }

    /// A bundle of 2...5 in-stock items that go with the context items, within the price cap and
    /// margin floor, with reasons and the total price. Impossible constraints throw
    /// `TailorError.invalidInput` saying which to relax.
    public func bundle(_ request: BundleRequest) async throws -> ItemBundle {
        try await run { try $0.bundle(request: request) }
    }

    public func bundle(
        for contextItemIds: [String], size: Int = 3, maxTotalPrice: Double? = nil, minMargin: Double? = nil,
        now: Date? = nil
    ) async throws -> ItemBundle {
        try await bundle(BundleRequest(
            contextItemIds: contextItemIds, size: try checked("size", size), maxTotalPrice: maxTotalPrice,
            minMargin: minMargin, now: now.map(\.unixSeconds)))
    }

    // MARK: shopper controls

    public func setPreferences(_ preferences: [Attribute]) async throws {
        try await run { try $0.setPreferences(preferences: preferences) }
    }

    /// The shopper is not interested in `attribute`: an item (`.item("sku-1")`) is left out of
    /// every ranking from now on; a category, brand or tag puts its items after all others on
    /// every surface. Listed by `explainProfile`, exported, erased by `erase`; undone by
    /// `undoNotInterested`. Nothing is stored without consent.
    public func markNotInterested(_ attribute: Attribute) async throws {
        try await run { try $0.markNotInterested(attribute: attribute) }
    }

    /// Takes back a `markNotInterested`; `true` when there was such a mark.
    @discardableResult
    public func undoNotInterested(_ attribute: Attribute) async throws -> Bool {
        try await run { try $0.undoNotInterested(attribute: attribute) }
    }

    /// "Forget this item": deletes its events and history and takes back what they added to the
    /// shopper's taste, so it no longer drives "because you viewed", buy-again or affinities.
    /// Returns how many events were deleted. A deletion: it cannot be undone.
    @discardableResult
    public func forgetItem(_ itemId: String) async throws -> Int {
        Int(try await run { try $0.forgetItem(itemId: itemId) })
    }

    /// Grant or withdraw consent to personalization (persisted).
    public func setConsent(_ granted: Bool) async throws {
        try await run { try $0.setConsent(granted: granted) }
    }

    /// Whether the shopper consented (a cheap in-memory read).
    public var consent: Bool { native.consent() }

    /// Delete all personal data; the catalog and installed models stay.
    public func erase() async throws {
        try await run { try $0.erase() }
    }

    /// The shopper's data as one JSON document.
    public func exportJson() async throws -> String {
        try await run { try $0.exportJson() }
    }

    /// Stops the long write in progress (a large catalog import or upsert, a big event batch)
    /// from any task or thread: that call throws `.interrupted` and writes nothing. Returns at
    /// once; calls started afterwards run normally.
    public nonisolated func interrupt() {
        native.interrupt()
    }

    /// The shopper's profile (events, preferences, exploration) encrypted and authenticated under
    /// the app's 32-byte `key` (keep it in the Keychain), for the app to store or sync through
    /// its own backend, e.g. to a new phone. Tailor sends it nowhere.
    public func exportProfileSnapshot(key: Data) async throws -> Data {
        try await run { try $0.exportProfileSnapshot(key: key) }
    }

    /// Merges a blob from `exportProfileSnapshot`: its events are replayed as if tracked here
    /// (ones already held are skipped), preferences added, exploration evidence summed. A wrong
    /// key, a changed or truncated blob, or one from a newer Tailor throws `.invalidInput` and
    /// changes nothing.
    @discardableResult
    public func importProfileSnapshot(_ snapshot: Data, key: Data) async throws -> TrackCounts {
        try await run { try $0.importProfileSnapshot(snapshot: snapshot, key: key) }.counts
    }

    /// Sizes of the stores, the consent state, the active model and notices (a damaged file moved
    /// aside at open, a model that no longer loads, events pruned by retention).
    public func status() async throws -> TailorStatus {
        try await run { try $0.status() }.report
    }

    /// The shopper's profile in plain terms (top categories, brands, recent items, sentences), for
    /// a "why am I seeing this" screen. `now` defaults to the current time.
    public func explainProfile(now: Date? = nil) async throws -> ProfileSummary {
        try await run { try $0.explainProfile(now: now?.unixSeconds) }
    }

    // MARK: learning, experiments, metrics

    /// Report what the app showed, in display order (`Impressions(page: page, surface: "home")`).
    /// Tailor learns from the clicks, carts and purchases of these items that follow (unless
    /// `TailorConfig.personalLearning` is off), steers exploration and counts the local funnel.
    public func recordImpressions(_ impressions: Impressions) async throws {
        try await run { try $0.recordImpressions(impressions: impressions) }
    }

    /// Forget the personal adjustment layer learned from impressions; ranking uses the plain model.
    public func resetPersonalLayer() async throws {
        try await run { try $0.resetPersonalLayer() }
    }

    /// Define (or redefine) an experiment and return this install's variant, the same on every
    /// launch. Rank with `rank(experiment: key)` and report the page with
    /// `Impressions(page:surface:experiment: key)`. A variant's model must be loaded (active or
    /// kept for rollback), else `TailorError.NotFound`.
    @discardableResult
    public func defineExperiment(_ experiment: Experiment) async throws -> String {
        try await run { try $0.defineExperiment(experiment: experiment) }
    }

    /// For QA builds: this install gets `variant` of experiment `key` from now on (in this
    /// process), whatever its deterministic assignment; `nil` goes back to it. Throws
    /// `.invalidInput` when the experiment is defined and has no such variant.
    public func forceVariant(_ key: String, variant: String?) async throws {
        try await run { try $0.forceVariant(key: key, variant: variant) }
    }

    /// `defineExperiment("ranker", variants: [Variant("a"), Variant("b", model: "mlp-ranker")])`
    @discardableResult
    public func defineExperiment(_ key: String, variants: [Variant]) async throws -> String {
        try await defineExperiment(Experiment(key: key, variants: variants))
    }

    /// Local funnel counters per experiment variant and surface, conversions per placement (each
    /// page shown, by its `RankResponse.responseId`, within `attributionWindowHours`), and engine
    /// statistics, for the app to report through its own analytics (Tailor sends nothing anywhere).
    public func metrics() async throws -> TailorMetrics {
        try await run { try $0.metrics() }.report
    }

    /// Zero the funnel and placement counters, e.g. after the app reported them.
    public func resetMetrics() async throws {
        try await run { try $0.resetMetrics() }
    }

    // MARK: models

    /// Validate and activate a model: a folder with `model.onnx` and `manifest.json`, or the
    /// `.onnx` file (manifest beside it unless `manifest` is given). Any problem, a missing file
    /// included, throws `.modelRejected`; the current model keeps serving.
    @discardableResult
    public func loadModel(at model: URL, manifest: URL? = nil) async throws -> ModelInfo {
        try await loadModel(path: model.path, manifestPath: manifest?.path)
    }

    @discardableResult
    public func loadModel(path: String, manifestPath: String? = nil) async throws -> ModelInfo {
        try await run { try $0.loadModel(modelPath: path, manifestPath: manifestPath) }
    }

    @discardableResult
    public func loadModel(data: Data, manifestJson: String) async throws -> ModelInfo {
        try await run { try $0.loadModelBytes(model: data, manifestJson: manifestJson) }
    }

    /// Check a model without activating it.
    public func validateModel(at model: URL, manifest: URL? = nil) async throws -> ModelInfo {
        try await validateModel(path: model.path, manifestPath: manifest?.path)
    }

    public func validateModel(path: String, manifestPath: String? = nil) async throws -> ModelInfo {
        try await run { try $0.validateModel(modelPath: path, manifestPath: manifestPath) }
    }

    @discardableResult
    public func rollbackModel() async throws -> ModelInfo {
        try await run { try $0.rollbackModel() }
    }

    /// The active model (a cheap in-memory read).
    public var model: ModelInfo { native.modelInfo() }

    public var directory: URL { URL(fileURLWithPath: native.directory(), isDirectory: true) }

    /// Flush and close the stores. Later calls throw `TailorError.closed`; closing twice is fine.
    public func close() async {
        _ = try? await run { $0.close() }
    }
}

// MARK: - Small constructors for the generated records

/// `value` as a UInt32, or `TailorError.invalidInput` naming `what`: `UInt32(-1)` would trap the app.
func checked(_ what: String, _ value: Int) throws -> UInt32 {
    guard let v = UInt32(exactly: value) else {
        throw TailorError.invalidInput(message: "\(what) must be 0...\(UInt32.max), got \(value)")
    }
    return v
}

/// A time interval in seconds as whole milliseconds, or `.invalidInput` when it is negative, not a
/// number or beyond `UInt32.max` ms.
func milliseconds(_ what: String, _ seconds: TimeInterval) throws -> UInt32 {
    let ms = (seconds * 1000).rounded(.down)
    guard ms.isFinite, ms >= 0, ms <= Double(UInt32.max) else {
        throw TailorError.invalidInput(message: "\(what) must be 0...\(UInt32.max) ms, got \(seconds) s")
    }
    return UInt32(ms)
}

extension Date {
    /// Whole Unix seconds, as the core expects.
    var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}

extension Event {
    /// `Event.view("sku-1")`; the time is "now" unless `at` is given.
    public static func view(_ itemId: String, at: Date? = nil, sessionId: String? = nil, surface: String? = nil) -> Event {
        Event(kind: .view, itemId: itemId, timestamp: at?.unixSeconds, sessionId: sessionId, surface: surface)
    }

    /// `responseId`: the `RankResponse.responseId` of the page clicked on, credited in
    /// `metrics().placements`.
    public static func click(
        _ itemId: String, at: Date? = nil, sessionId: String? = nil, surface: String? = nil, responseId: String? = nil
    ) -> Event {
        Event(kind: .click, itemId: itemId, timestamp: at?.unixSeconds, sessionId: sessionId, surface: surface,
              responseId: responseId)
    }

    /// Throws `.invalidInput` for a negative `quantity` (the core rejects 0).
    public static func addToCart(
        _ itemId: String, quantity: Int = 1, at: Date? = nil, sessionId: String? = nil, surface: String? = nil,
        responseId: String? = nil
    ) throws -> Event {
        Event(kind: .addToCart, itemId: itemId, timestamp: at?.unixSeconds, sessionId: sessionId,
              quantity: try checked("quantity", quantity), surface: surface, responseId: responseId)
    }

    /// Throws `.invalidInput` for a negative `quantity` (the core rejects 0).
    public static func purchase(
        _ itemId: String, quantity: Int = 1, at: Date? = nil, sessionId: String? = nil, surface: String? = nil,
        responseId: String? = nil
    ) throws -> Event {
        Event(kind: .purchase, itemId: itemId, timestamp: at?.unixSeconds, sessionId: sessionId,
              quantity: try checked("quantity", quantity), surface: surface, responseId: responseId)
    }

    /// "Not interested".
    public static func dismiss(_ itemId: String, at: Date? = nil, sessionId: String? = nil, surface: String? = nil) -> Event {
        Event(kind: .dismiss, itemId: itemId, timestamp: at?.unixSeconds, sessionId: sessionId, surface: surface)
    }
}

extension Attribute {
    public static func category(_ value: String) -> Attribute { Attribute(kind: .category, value: value) }
    public static func brand(_ value: String) -> Attribute { Attribute(kind: .brand, value: value) }
    public static func tag(_ value: String) -> Attribute { Attribute(kind: .tag, value: value) }
    public static func item(_ id: String) -> Attribute { Attribute(kind: .item, value: id) }
}

extension Pin {
    /// `Pin("sku-1", at: 0)`: put the item at that 0-based position; a negative one throws
    /// `.invalidInput`.
    public init(_ itemId: String, at position: Int) throws {
        self.init(itemId: itemId, position: try checked("pin position", position))
    }
}

extension Boost {
    /// `Boost(.category("toys"), by: 2)`: add `weight` (a logit; negative lowers) to matching items.
    public init(_ attribute: Attribute, by weight: Double) {
        self.init(attribute: attribute, weight: weight)
    }
}

extension RankResponse {
    /// The ranked ids, best first.
    public var ids: [String] { items.map(\.itemId) }
}

extension ItemBundle {
    /// The bundle's ids, best first.
    public var ids: [String] { items.map(\.itemId) }
}

extension Impressions {
    /// What the app showed: `Impressions(page: page, surface: "home", experiment: "ranker")`.
    /// Pass the same `experiment` key as the rank request; `at` defaults to now. The page's
    /// `responseId` is cited, so conversions are credited to this placement.
    public init(page: RankResponse, surface: String? = nil, experiment: String? = nil, at: Date? = nil) {
        self.init(page.ids, surface: surface, experiment: experiment, at: at, responseId: page.responseId)
    }

    /// The items shown, in display order (e.g. `Array(page.ids.prefix(6))` when six fit on screen).
    public init(
        _ itemIds: [String], surface: String? = nil, experiment: String? = nil, at: Date? = nil,
        responseId: String? = nil
    ) {
        self.init(itemIds: itemIds, surface: surface, experiment: experiment, timestamp: at?.unixSeconds,
                  responseId: responseId)
    }
}

extension Variant {
    /// `Variant("mlp", weight: 50, model: "mlp-ranker")`. `weight` is the relative share of
    /// installs (any non-negative scale); `model` names a loaded model (active or kept for
    /// rollback), `nil` keeps the active one; `explorationRate` replaces the configured default (a
    /// request's own `exploration` still wins); `boosts` are added to the request's.
    public init(
        _ name: String, weight: Double = 1, model: String? = nil, explorationRate: Double? = nil,
        boosts: [Boost] = []
    ) {
        self.init(name: name, weight: weight, modelName: model, explorationRate: explorationRate, boosts: boosts)
    }
}

extension Experiment {
    /// `Experiment("ranker", variants: [Variant("control"), Variant("mlp", model: "mlp-ranker")])`
    public init(_ key: String, variants: [Variant]) {
        self.init(key: key, variants: variants)
    }
}

extension LocalMetrics {
    /// The funnel of one experiment (`""` outside experiments) and surface (`""` when none was given).
    public func funnel(experiment: String = "", surface: String = "") -> FunnelCounters? {
        funnels.first { $0.experiment == experiment && $0.surface == surface }
    }
}

extension Array where Element == NamedCount {
    /// `engine.fallbacks["cold_start"]`, `engine.errors["invalid_input"]`: the count, 0 when absent.
    public subscript(_ name: String) -> Int {
        Int(first { $0.name == name }?.count ?? 0)
    }
}
