// Hand-written Kotlin layer over the generated bindings (build/generated/uniffi/dev/tailor/tailor.kt,
// same package). The generated API is complete but blocking and speaks Rust's types (String paths,
// UInt/ULong, Unix seconds); this layer adds coroutine wrappers and platform types at the edges:
// File/Path, Int and Long, Instant.
package dev.tailor

import java.io.File
import java.nio.file.Path
import java.time.Instant
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * One shopper's personalization: the catalog, the profile and the ranking model, stored in one
 * app-private directory.
 *
 * Every call is a `suspend` function that runs the blocking native call on [dispatcher]
 * ([Dispatchers.IO] by default), so it is safe to call from the main thread. The native object is
 * thread-safe: share one client across the app. Ranking never waits for writes or model swaps.
 *
 * Failures are thrown as the sealed [TailorException]: [TailorException.InvalidInput],
 * [TailorException.NotFound], [TailorException.ModelRejected] (with a [ModelProblem]),
 * [TailorException.Storage], [TailorException.Interrupted] and [TailorException.Closed] (every call after [close] or
 * [shutdown]). `message` (also `detail`) is the plain text.
 *
 * ```
 * val tailor = TailorClient.open(context.filesDir.resolve("tailor"))
 * tailor.track(Event.view("85123A"))
 * val page = tailor.rank { limit = 10 }
 * ```
 */
class TailorClient(
    /** The generated object. Its methods are blocking; use them from background threads only. */
    val native: Tailor,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) : AutoCloseable {
    private val closed = AtomicBoolean(false)

    /** rank's one-JNA-call path (NativeRank.kt), with its own reference to [native]. */
    private val ranker = NativeRank(native)

    companion object {
        /** Open (or create) the stores in [config]`.directory`. */
        suspend fun open(
            config: TailorConfig,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): TailorClient = withContext(dispatcher) { TailorClient(Tailor.open(config), dispatcher) }

        /** Open (or create) the stores in [directory] (e.g. `context.filesDir.resolve("tailor")`). */
        suspend fun open(directory: File, dispatcher: CoroutineDispatcher = Dispatchers.IO): TailorClient =
            open(TailorConfig(directory = directory.path), dispatcher)

        suspend fun open(directory: Path, dispatcher: CoroutineDispatcher = Dispatchers.IO): TailorClient =
            open(directory.toFile(), dispatcher)

        suspend fun open(directory: String, dispatcher: CoroutineDispatcher = Dispatchers.IO): TailorClient =
            open(File(directory), dispatcher)

        /** Blocking variant of [open], for Java callers and tests. */
        @JvmStatic
        fun openBlocking(config: TailorConfig): TailorClient = TailorClient(Tailor.open(config))
    }

    private fun closedError() = TailorException.Closed("this TailorClient was closed; open a new one")

    /**
     * Runs [block] on the dispatcher. After [close] the native object is freed and the generated
     * code would throw IllegalStateException; callers get [TailorException.Closed] instead.
     */
    private suspend inline fun <T> io(crossinline block: Tailor.() -> T): T {
        if (closed.get()) throw closedError()
        return withContext(dispatcher) {
            try {
                native.block()
            } catch (e: IllegalStateException) {
                if (closed.get()) throw closedError() else throw e
            } catch (e: java.nio.charset.CharacterCodingException) {
                // The generated code refuses a string with a lone UTF-16 surrogate before the call.
                throw notTextError()
            }
        }
    }

    // ---- catalog ----

    /** Load a catalog CSV (plain or gzip); returns how many items were written. */
    suspend fun importCatalogCsv(file: File): Int = io { importCatalogCsv(file.path).toInt() }

    suspend fun importCatalogCsv(path: Path): Int = importCatalogCsv(path.toFile())

    suspend fun importCatalogCsv(path: String): Int = importCatalogCsv(File(path))

    /** Insert or replace items, all or nothing. */
    suspend fun upsertItems(items: List<Item>): Int = io { upsertItems(items).toInt() }

    suspend fun upsertItems(vararg items: Item): Int = upsertItems(items.toList())

    /** Remove items by id; returns how many existed. */
    suspend fun removeItems(ids: List<String>): Int = io { removeItems(ids).toInt() }

    // ---- events ----

    /** Record one event; dropped silently when the shopper has not consented. */
    suspend fun track(event: Event): Unit = io { track(event) }

    /** Record many events in one transaction, all or nothing. */
    suspend fun trackBatch(events: List<Event>): TrackCounts = io { trackBatch(events) }.toCounts()

    /**
     * Load an events CSV (`user_id,item_id,event,ts,session_id,quantity`), optionally one user's
     * rows. When no catalog item has a popularity, every purchase in the file counts towards it,
     * so the cold-start page becomes a best-seller order.
     */
    suspend fun importEventsCsv(file: File, userId: String? = null): TrackCounts =
        io { importEventsCsv(file.path, userId) }.toCounts()

    suspend fun importEventsCsv(path: Path, userId: String? = null): TrackCounts =
        importEventsCsv(path.toFile(), userId)

    suspend fun importEventsCsv(path: String, userId: String? = null): TrackCounts =
        importEventsCsv(File(path), userId)

    // ---- ranking ----

    /**
     * Order candidates for this shopper. Never fails because of the shopper's state: cold start,
     * opt-out or a failing model give a popularity order flagged in `fallback`. One native call
     * per rank (the generated `native.rank` makes four), with the same response and errors.
     */
    suspend fun rank(request: RankRequest): RankResponse = io { ranker.rank(request) }

    /** Blocking variant of [rank], for Java callers and the app's own background threads. */
    fun rankBlocking(request: RankRequest): RankResponse {
        if (closed.get()) throw closedError()
        return ranker.rank(request)
    }

    /** Rank with the [RankRequestBuilder] DSL: `rank { limit = 10; sessionId = "s1" }`. */
    suspend fun rank(build: RankRequestBuilder.() -> Unit): RankResponse =
        rank(rankRequest(build))

    /**
     * Defines (or replaces) a named list of candidate ids, ranked with `rank { candidateSet = name }`:
     * each call then sends one name instead of lowering every id, the cheapest way to rank a
     * fixed list from Kotlin. Kept until [close]; ids the catalog lacks are reported in
     * `unknownIds` when ranked. Returns how many distinct ids the set holds. An empty list, more
     * than 100,000 ids or more than 64 sets throws [TailorException.InvalidInput]; ranking an
     * undefined name throws [TailorException.NotFound].
     */
    suspend fun defineCandidateSet(name: String, itemIds: List<String>): Int =
        io { defineCandidateSet(name, itemIds).toInt() }

    /** Removes a candidate set; `true` when it was defined. */
    suspend fun removeCandidateSet(name: String): Boolean = io { removeCandidateSet(name) }

    /** The names of the candidate sets defined, sorted. */
    suspend fun candidateSets(): List<String> = io { candidateSets() }

    /** Product page, "goes with": items bought together with [itemId] (itself left out). */
    suspend fun goesWith(itemId: String, limit: Int = 10, now: Instant? = null): RankResponse = rank {
        kind = SurfaceKind.GOES_WITH; context(itemId); this.limit = limit; this.now = now
    }

    /** Product page, "similar items": items that look like [itemId]. */
    suspend fun similar(itemId: String, limit: Int = 10, now: Instant? = null): RankResponse = rank {
        kind = SurfaceKind.SIMILAR; context(itemId); this.limit = limit; this.now = now
    }

    /** Cart, "complete your order": items bought with the cart's items (most recent last). */
    suspend fun completeCart(cart: List<String>, limit: Int = 10, now: Instant? = null): RankResponse = rank {
        kind = SurfaceKind.COMPLETE_CART; context = cart; this.limit = limit; this.now = now
    }

    /**
     * The app's search [results] in the shopper's order, mixing the app's relevance ([scores],
     * same order, or the order itself) with their taste. A shopper without history gets [results]
     * unchanged.
     */
    suspend fun rerankSearch(results: List<String>, scores: List<Double>? = null, now: Instant? = null): RankResponse =
        rank { searchResults(results, scores); limit = results.size.coerceIn(1, 1000); this.now = now }

    /**
     * A bundle of 2..5 in-stock items that go with the context items, within the price cap and
     * margin floor, with reasons and the total price. Impossible constraints are
     * [TailorException.InvalidInput] saying which to relax.
     */
    suspend fun bundle(request: BundleRequest): ItemBundle = io { bundle(request) }

    suspend fun bundle(
        vararg contextItemIds: String, size: Int = 3, maxTotalPrice: Double? = null, minMargin: Double? = null,
        now: Instant? = null,
    ): ItemBundle = bundle(BundleRequest.of(contextItemIds.toList(), size, maxTotalPrice, minMargin, now))

    // ---- shopper controls ----

    suspend fun setPreferences(preferences: List<Attribute>): Unit = io { setPreferences(preferences) }

    suspend fun setPreferences(vararg preferences: Attribute): Unit = setPreferences(preferences.toList())

    /**
     * The shopper is not interested in [attribute]: an item (`Attribute.item("sku-1")`) is left
     * out of every ranking from now on; a category, brand or tag puts its items after all others
     * on every surface. Listed by [explainProfile], exported, erased by [erase]; undone by
     * [undoNotInterested]. Nothing is stored without consent.
     */
    suspend fun markNotInterested(attribute: Attribute): Unit = io { markNotInterested(attribute) }

    /** Takes back a [markNotInterested]; `true` when there was such a mark. */
    suspend fun undoNotInterested(attribute: Attribute): Boolean = io { undoNotInterested(attribute) }

    /**
     * "Forget this item": deletes its events and history and takes back what they added to the
     * shopper's taste, so it no longer drives "because you viewed", buy-again or affinities.
     * Returns how many events were deleted. A deletion: it cannot be undone.
     */
    suspend fun forgetItem(itemId: String): Int = io { forgetItem(itemId).toInt() }

    /** Grant or withdraw consent to personalization (persisted). */
    suspend fun setConsent(granted: Boolean): Unit = io { setConsent(granted) }

    /** Whether the shopper consented (a cheap in-memory read). */
    val consent: Boolean get() = native.consent()

    /** Delete all personal data; the catalog and installed models stay. */
    suspend fun erase(): Unit = io { erase() }

    /** The shopper's data as one JSON document. */
    suspend fun exportJson(): String = io { exportJson() }

    /**
     * Stops the long write in progress (a large catalog import or upsert, a big event batch) from
     * any thread: that call throws [TailorException.Interrupted] and writes nothing. Returns at
     * once; calls started afterwards run normally.
     */
    fun interrupt() {
        if (!closed.get()) native.interrupt()
    }

    /**
     * The shopper's profile (events, preferences, exploration) encrypted and authenticated under
     * the app's 32-byte [key] (keep it in the Android Keystore), for the app to store or sync
     * through its own backend, e.g. to a new phone. Tailor sends it nowhere.
     */
    suspend fun exportProfileSnapshot(key: ByteArray): ByteArray = io { exportProfileSnapshot(key) }

    /**
     * Merges a blob from [exportProfileSnapshot]: its events are replayed as if tracked here (ones
     * already held are skipped), preferences added, exploration evidence summed. A wrong key, a
     * changed or truncated blob, or one from a newer Tailor throws [TailorException.InvalidInput]
     * and changes nothing.
     */
    suspend fun importProfileSnapshot(snapshot: ByteArray, key: ByteArray): TrackCounts =
        io { importProfileSnapshot(snapshot, key) }.toCounts()

    /** Sizes, consent, the active model, and notices (a damaged file moved aside, events pruned by retention). */
    suspend fun status(): TailorStatus = io { status() }.toStatus()

    /**
     * The shopper's profile in plain terms (top categories, brands, recent items, sentences), for a
     * "why am I seeing this" screen, as of [now] (`null`: the current time).
     */
    suspend fun explainProfile(now: Instant? = null): ProfileSummary = io { explainProfile(now?.epochSecond) }

    // ---- learning, experiments, metrics ----

    /**
     * Report what the app showed, in display order (`Impressions.of(page, surface = "home")`).
     * Tailor learns from the clicks, carts and purchases of these items that follow (unless
     * `TailorConfig.personalLearning` is off), steers exploration and counts the local funnel.
     */
    suspend fun recordImpressions(impressions: Impressions): Unit = io { recordImpressions(impressions) }

    /** Forget the personal adjustment layer learned from impressions; ranking uses the plain model. */
    suspend fun resetPersonalLayer(): Unit = io { resetPersonalLayer() }

    /**
     * Define (or redefine) an experiment and return this install's variant, the same on every
     * launch. Rank with `rank { experiment = key }` and report the page with
     * `Impressions.of(page, experiment = key)`. A variant's model must be loaded (active or kept
     * for rollback), else [TailorException.NotFound].
     */
    suspend fun defineExperiment(experiment: Experiment): String = io { defineExperiment(experiment) }

    /** `defineExperiment("ranker") { variant("a", model = "linear-ranker"); variant("b") }` */
    suspend fun defineExperiment(key: String, build: ExperimentBuilder.() -> Unit): String =
        defineExperiment(experiment(key, build))

    /**
     * For QA builds: this install gets [variant] of experiment [key] from now on (in this process),
     * whatever its deterministic assignment; `null` goes back to it. [TailorException.InvalidInput]
     * when the experiment is defined and has no such variant.
     */
    suspend fun forceVariant(key: String, variant: String?): Unit = io { forceVariant(key, variant) }

    /**
     * Local funnel counters per experiment variant and surface, conversions per placement (each
     * page shown, by its `RankResponse.responseId`, within `attributionWindowHours`), and engine
     * statistics, for the app to report through its own analytics (Tailor sends nothing anywhere).
     */
    suspend fun metrics(): TailorMetrics = io { metrics() }.toMetrics()

    /** Zero the funnel and placement counters, e.g. after the app reported them. */
    suspend fun resetMetrics(): Unit = io { resetMetrics() }

    // ---- models ----

    /**
     * Validate and activate a model: a folder with `model.onnx` and `manifest.json`, or the
     * `.onnx` file (manifest beside it unless [manifest] is given). Any problem, a missing file
     * included, is [TailorException.ModelRejected]; the current model keeps serving.
     */
    suspend fun loadModel(model: File, manifest: File? = null): ModelInfo =
        io { loadModel(model.path, manifest?.path) }

    suspend fun loadModel(model: Path, manifest: Path? = null): ModelInfo =
        loadModel(model.toFile(), manifest?.toFile())

    suspend fun loadModel(path: String, manifestPath: String? = null): ModelInfo =
        loadModel(File(path), manifestPath?.let(::File))

    /** From bytes (an app asset, a download the app verified). */
    suspend fun loadModel(model: ByteArray, manifestJson: String): ModelInfo =
        io { loadModelBytes(model, manifestJson) }

    /** Check a model without activating it. */
    suspend fun validateModel(model: File, manifest: File? = null): ModelInfo =
        io { validateModel(model.path, manifest?.path) }

    suspend fun validateModel(model: Path, manifest: Path? = null): ModelInfo =
        validateModel(model.toFile(), manifest?.toFile())

    suspend fun validateModel(path: String, manifestPath: String? = null): ModelInfo =
        validateModel(File(path), manifestPath?.let(::File))

    suspend fun rollbackModel(): ModelInfo = io { rollbackModel() }

    /** The active model (a cheap in-memory read). */
    val model: ModelInfo get() = native.modelInfo()

    val directory: File get() = File(native.directory())

    /**
     * The suspending close: flushes and closes the stores on the dispatcher (a WAL checkpoint,
     * which may touch the disk), then frees the native object. Prefer it from coroutines.
     */
    suspend fun shutdown() {
        if (closed.get()) return
        withContext(dispatcher) { close() }
    }

    /**
     * Flush and close the stores, then free the native object (blocking). Later calls throw
     * [TailorException.Closed]. Calling it again does nothing.
     */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            try {
                native.closeStores()
            } finally {
                ranker.close()
                native.close()
            }
        }
    }
}

/** Every call's answer to a string that is not text (a lone UTF-16 surrogate): nothing was sent. */
internal fun notTextError() =
    TailorException.InvalidInput("a string in the call is not valid text (it has a lone UTF-16 surrogate)")
