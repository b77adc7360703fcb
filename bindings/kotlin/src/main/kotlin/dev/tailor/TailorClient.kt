// Hand-written Kotlin layer over the generated bindings (build/generated/uniffi/dev/tailor/tailor.kt,
// same package). The generated API is complete but blocking; this file adds coroutine wrappers,
// Int instead of UInt where Kotlin code expects it, and small constructors for events, rules,
// impressions and experiments.
package dev.tailor

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
 * Failures are thrown as the generated [TailorException] subclasses: [TailorException.InvalidInput],
 * [TailorException.NotFound], [TailorException.ModelRejected] (with a [ModelProblem]),
 * [TailorException.Storage] and [TailorException.Closed]. Their text is in `detail`.
 *
 * ```
 * val tailor = TailorClient.open(context.filesDir.resolve("tailor").path)
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

    companion object {
        /** Open (or create) the stores in [config]`.directory`. */
        suspend fun open(
            config: TailorConfig,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): TailorClient = withContext(dispatcher) { TailorClient(Tailor.open(config), dispatcher) }

        /** Open (or create) the stores in [directory] with default settings. */
        suspend fun open(
            directory: String,
            dispatcher: CoroutineDispatcher = Dispatchers.IO,
        ): TailorClient = open(TailorConfig(directory = directory), dispatcher)

        /** Blocking variant of [open], for Java callers and tests. */
        @JvmStatic
        fun openBlocking(config: TailorConfig): TailorClient = TailorClient(Tailor.open(config))
    }

    private suspend inline fun <T> io(crossinline block: Tailor.() -> T): T =
        withContext(dispatcher) { native.block() }

    // ---- catalog ----

    /** Load a catalog CSV (plain or gzip); returns how many items were written. */
    suspend fun importCatalogCsv(path: String): Int = io { importCatalogCsv(path).toInt() }

    /** Insert or replace items, all or nothing. */
    suspend fun upsertItems(items: List<Item>): Int = io { upsertItems(items).toInt() }

    suspend fun upsertItems(vararg items: Item): Int = upsertItems(items.toList())

    /** Remove items by id; returns how many existed. */
    suspend fun removeItems(ids: List<String>): Int = io { removeItems(ids).toInt() }

    // ---- events ----

    /** Record one event; dropped silently when the shopper has not consented. */
    suspend fun track(event: Event): Unit = io { track(event) }

    /** Record many events in one transaction, all or nothing. */
    suspend fun trackBatch(events: List<Event>): TrackSummary = io { trackBatch(events) }

    /** Load an events CSV (`user_id,item_id,event,ts,session_id,quantity`), optionally one user's rows. */
    suspend fun importEventsCsv(path: String, userId: String? = null): TrackSummary =
        io { importEventsCsv(path, userId) }

    // ---- ranking ----

    suspend fun rank(request: RankRequest): RankResponse = io { rank(request) }

    /** Rank with the [RankRequestBuilder] DSL: `rank { limit = 10; sessionId = "s1" }`. */
    suspend fun rank(build: RankRequestBuilder.() -> Unit): RankResponse =
        rank(rankRequest(build))

    // ---- shopper controls ----

    suspend fun setPreferences(preferences: List<Attribute>): Unit = io { setPreferences(preferences) }

    suspend fun setPreferences(vararg preferences: Attribute): Unit = setPreferences(preferences.toList())

    /** Grant or withdraw consent to personalization (persisted). */
    suspend fun setConsent(granted: Boolean): Unit = io { setConsent(granted) }

    /** Whether the shopper consented (a cheap in-memory read). */
    val consent: Boolean get() = native.consent()

    /** Delete all personal data; the catalog and installed models stay. */
    suspend fun erase(): Unit = io { erase() }

    /** The shopper's data as one JSON document. */
    suspend fun exportJson(): String = io { exportJson() }

    suspend fun status(): Status = io { status() }

    /**
     * The shopper's profile in plain terms (top categories, brands, recent items, sentences), for a
     * "why am I seeing this" screen. [now] is Unix seconds; `null` means now.
     */
    suspend fun explainProfile(now: Long? = null): ProfileSummary = io { explainProfile(now) }

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
     * Local funnel counters per experiment variant and surface, and engine statistics, for the
     * app to report through its own analytics (Tailor sends nothing anywhere).
     */
    suspend fun metrics(): LocalMetrics = io { metrics() }

    /** Zero the funnel counters, e.g. after the app reported them. */
    suspend fun resetMetrics(): Unit = io { resetMetrics() }

    // ---- models ----

    /** Validate and activate a model folder (`model.onnx` + `manifest.json`). */
    suspend fun loadModel(path: String, manifestPath: String? = null): ModelInfo =
        io { loadModel(path, manifestPath) }

    suspend fun loadModel(model: ByteArray, manifestJson: String): ModelInfo =
        io { loadModelBytes(model, manifestJson) }

    /** Check a model without activating it. */
    suspend fun validateModel(path: String, manifestPath: String? = null): ModelInfo =
        io { validateModel(path, manifestPath) }

    suspend fun rollbackModel(): ModelInfo = io { rollbackModel() }

    /** The active model (a cheap in-memory read). */
    val model: ModelInfo get() = native.modelInfo()

    val directory: String get() = native.directory()

    /**
     * Flush and close the stores, then free the native object. Later calls throw
     * [TailorException.Closed] or [IllegalStateException]. Calling it again does nothing.
     */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            try {
                native.closeStores()
            } finally {
                native.close()
            }
        }
    }
}

// ---- small constructors for the generated records ----

/** `Event.view("sku-1")`: the time is "now" unless [at] (Unix seconds) is given. */
fun Event.Companion.view(itemId: String, at: Long? = null, sessionId: String? = null, surface: String? = null) =
    Event(EventKind.VIEW, itemId, timestamp = at, sessionId = sessionId, surface = surface)

fun Event.Companion.click(itemId: String, at: Long? = null, sessionId: String? = null, surface: String? = null) =
    Event(EventKind.CLICK, itemId, timestamp = at, sessionId = sessionId, surface = surface)

fun Event.Companion.addToCart(
    itemId: String, quantity: Int = 1, at: Long? = null, sessionId: String? = null, surface: String? = null,
) = Event(
    EventKind.ADD_TO_CART, itemId, timestamp = at, sessionId = sessionId, quantity = quantity.toUInt(), surface = surface,
)

fun Event.Companion.purchase(
    itemId: String, quantity: Int = 1, at: Long? = null, sessionId: String? = null, surface: String? = null,
) = Event(
    EventKind.PURCHASE, itemId, timestamp = at, sessionId = sessionId, quantity = quantity.toUInt(), surface = surface,
)

/** "Not interested". */
fun Event.Companion.dismiss(itemId: String, at: Long? = null, sessionId: String? = null, surface: String? = null) =
    Event(EventKind.DISMISS, itemId, timestamp = at, sessionId = sessionId, surface = surface)

fun Attribute.Companion.category(value: String) = Attribute(AttributeKind.CATEGORY, value)
fun Attribute.Companion.brand(value: String) = Attribute(AttributeKind.BRAND, value)
fun Attribute.Companion.tag(value: String) = Attribute(AttributeKind.TAG, value)
fun Attribute.Companion.item(id: String) = Attribute(AttributeKind.ITEM, id)

/** The ranked ids, best first. */
val RankResponse.ids: List<String> get() = items.map { it.itemId }

/**
 * What the app showed: `Impressions.of(page, surface = "home", experiment = "ranker")`. Pass the
 * same [experiment] key as the rank request; [at] is Unix seconds (`null` means now).
 */
fun Impressions.Companion.of(
    page: RankResponse, surface: String? = null, experiment: String? = null, at: Long? = null,
) = of(page.ids, surface, experiment, at)

/** The items shown, in display order (e.g. `page.ids.take(6)` when only six fit on screen). */
fun Impressions.Companion.of(
    itemIds: List<String>, surface: String? = null, experiment: String? = null, at: Long? = null,
) = Impressions(itemIds = itemIds, surface = surface, experiment = experiment, timestamp = at)

/** The funnel of one experiment (`""` outside experiments) and surface (`""` when none was given). */
fun LocalMetrics.funnel(experiment: String = "", surface: String = ""): FunnelCounters? =
    funnels.firstOrNull { it.experiment == experiment && it.surface == surface }

/** `engine.fallbacks["cold_start"]`, `engine.errors["invalid_input"]`: the count, 0 when absent. */
operator fun List<NamedCount>.get(name: String): Long = firstOrNull { it.name == name }?.count?.toLong() ?: 0L

// ---- request DSL ----

@DslMarker
annotation class TailorDsl

/** Builds a [RankRequest]; every property defaults to the core's default. */
@TailorDsl
class RankRequestBuilder {
    /** Results to return, 1..1000. */
    var limit: Int = 20

    /** Items to order; `null` ranks the whole in-stock catalog. */
    var candidates: List<String>? = null
    var surface: String? = null

    /** The app's current session, so session intent applies to it. */
    var sessionId: String? = null

    /** Ranking time in Unix seconds; `null` means now. */
    var now: Long? = null
    var diversity: DiversityOptions? = null

    /** `null` uses the configured default exploration rate. */
    var exploration: ExplorationOptions? = null

    /** Key of an experiment defined with `defineExperiment`: this install's variant ranks. */
    var experiment: String? = null
    private val rules = RulesBuilder()

    fun candidates(vararg ids: String) {
        candidates = ids.toList()
    }

    fun rules(configure: RulesBuilder.() -> Unit) {
        rules.configure()
    }

    /** At most [maxPerCategory] / [maxPerBrand] items each within the first [window] results. */
    fun diversity(maxPerCategory: Int? = null, maxPerBrand: Int? = null, window: Int = 10) {
        diversity = DiversityOptions(
            maxPerCategory = maxPerCategory?.toUInt(),
            maxPerBrand = maxPerBrand?.toUInt(),
            window = window.toUInt(),
        )
    }

    /** Give a [rate] of the page to discovery; a [seed] makes the picks reproducible. */
    fun explore(rate: Double, seed: Long? = null) {
        exploration = ExplorationOptions(rate = rate, seed = seed?.toULong())
    }

    fun build() = RankRequest(
        candidateIds = candidates,
        limit = limit.toUInt(),
        surface = surface,
        sessionId = sessionId,
        now = now,
        rules = rules.build(),
        diversity = diversity,
        exploration = exploration,
        experiment = experiment,
    )
}

/** Merchant rules: pins, boosts, exclusions, stock and margin filters. */
@TailorDsl
class RulesBuilder {
    var includeOutOfStock: Boolean = false

    /** Drop items whose known margin is below this fraction. */
    var minMargin: Double? = null
    private val pinned = mutableListOf<Pin>()
    private val boosts = mutableListOf<Boost>()
    private val excluded = mutableListOf<String>()

    /** Put [itemId] at 0-based [position]. */
    fun pin(itemId: String, position: Int) {
        pinned += Pin(itemId = itemId, position = position.toUInt())
    }

    /** Add [weight] (a logit; 1.0 is a strong nudge, negative lowers) to items with [attribute]. */
    fun boost(attribute: Attribute, weight: Double) {
        boosts += Boost(attribute = attribute, weight = weight)
    }

    fun exclude(vararg ids: String) {
        excluded += ids
    }

    fun build() = BusinessRules(
        includeOutOfStock = includeOutOfStock,
        pinned = pinned.toList(),
        boosts = boosts.toList(),
        excludeIds = excluded.toList(),
        minMargin = minMargin,
    )
}

fun rankRequest(build: RankRequestBuilder.() -> Unit): RankRequest = RankRequestBuilder().apply(build).build()

// ---- experiment DSL ----

/**
 * Builds an [Experiment]:
 * ```
 * experiment("ranker") {
 *     variant("control", weight = 50.0)
 *     variant("mlp", weight = 50.0, model = "mlp-ranker") { boost(Attribute.category("new"), 0.5) }
 * }
 * ```
 */
@TailorDsl
class ExperimentBuilder(val key: String) {
    private val variants = mutableListOf<Variant>()

    /**
     * One arm. [weight] is its relative share of installs (any non-negative scale); [model] names
     * a loaded model (active or kept for rollback), `null` keeps the active one; [explorationRate]
     * replaces the configured default (a request's own `explore(..)` still wins); [configure] adds
     * boosts, applied after the request's.
     */
    fun variant(
        name: String,
        weight: Double = 1.0,
        model: String? = null,
        explorationRate: Double? = null,
        configure: VariantBuilder.() -> Unit = {},
    ) {
        val boosts = VariantBuilder().apply(configure).boosts.toList()
        variants += Variant(
            name = name, weight = weight, modelName = model, explorationRate = explorationRate, boosts = boosts,
        )
    }

    fun build() = Experiment(key = key, variants = variants.toList())
}

/** Extra boosts of one experiment variant. */
@TailorDsl
class VariantBuilder {
    internal val boosts = mutableListOf<Boost>()

    /** Add [weight] (a logit) to items with [attribute] for installs in this variant. */
    fun boost(attribute: Attribute, weight: Double) {
        boosts += Boost(attribute = attribute, weight = weight)
    }
}

fun experiment(key: String, build: ExperimentBuilder.() -> Unit): Experiment = ExperimentBuilder(key).apply(build).build()
