// Small constructors and DSLs for the generated records, with platform types at the edges: Int for
// counts and positions (checked here, so a negative number is an InvalidInput error instead of a
// UInt that wraps to 4294967295) and java.time.Instant for times.
package dev.tailor

import java.time.Duration
import java.time.Instant

// ---- small constructors for the generated records ----

/**
 * [value] as a UInt, or [TailorException.InvalidInput] naming [what] when it is negative (a plain
 * `toUInt()` would wrap -1 to 4294967295).
 */
internal fun nonNegative(what: String, value: Int): UInt {
    if (value < 0) throw TailorException.InvalidInput("$what must be 0 or more, got $value")
    return value.toUInt()
}

internal fun nonNegative(what: String, value: Long): ULong {
    if (value < 0) throw TailorException.InvalidInput("$what must be 0 or more, got $value")
    return value.toULong()
}

/** `Event.view("sku-1")`: the time is now unless [at] is given. */
fun Event.Companion.view(itemId: String, at: Instant? = null, sessionId: String? = null, surface: String? = null) =
    Event(EventKind.VIEW, itemId, timestamp = at?.epochSecond, sessionId = sessionId, surface = surface)

/** [responseId]: the `RankResponse.responseId` of the page clicked on, credited in `metrics().placements`. */
fun Event.Companion.click(
    itemId: String, at: Instant? = null, sessionId: String? = null, surface: String? = null, responseId: String? = null,
) = Event(EventKind.CLICK, itemId, timestamp = at?.epochSecond, sessionId = sessionId, surface = surface, responseId = responseId)

/** [quantity] below 1 is [TailorException.InvalidInput] (0 from the core, negative from here). */
fun Event.Companion.addToCart(
    itemId: String, quantity: Int = 1, at: Instant? = null, sessionId: String? = null, surface: String? = null,
    responseId: String? = null,
) = Event(
    EventKind.ADD_TO_CART, itemId, timestamp = at?.epochSecond, sessionId = sessionId,
    quantity = nonNegative("quantity", quantity), surface = surface, responseId = responseId,
)

fun Event.Companion.purchase(
    itemId: String, quantity: Int = 1, at: Instant? = null, sessionId: String? = null, surface: String? = null,
    responseId: String? = null,
) = Event(
    EventKind.PURCHASE, itemId, timestamp = at?.epochSecond, sessionId = sessionId,
    quantity = nonNegative("quantity", quantity), surface = surface, responseId = responseId,
)

/** "Not interested". */
fun Event.Companion.dismiss(itemId: String, at: Instant? = null, sessionId: String? = null, surface: String? = null) =
    Event(EventKind.DISMISS, itemId, timestamp = at?.epochSecond, sessionId = sessionId, surface = surface)

fun Attribute.Companion.category(value: String) = Attribute(AttributeKind.CATEGORY, value)
fun Attribute.Companion.brand(value: String) = Attribute(AttributeKind.BRAND, value)
fun Attribute.Companion.tag(value: String) = Attribute(AttributeKind.TAG, value)
fun Attribute.Companion.item(id: String) = Attribute(AttributeKind.ITEM, id)

/** The ranked ids, best first. */
val RankResponse.ids: List<String> get() = items.map { it.itemId }

/**
 * What the app showed: `Impressions.of(page, surface = "home", experiment = "ranker")`. Pass the
 * same [experiment] key as the rank request; [at] `null` means now. The page's `responseId` is
 * cited, so conversions are credited to this placement in `metrics().placements`.
 */
fun Impressions.Companion.of(
    page: RankResponse, surface: String? = null, experiment: String? = null, at: Instant? = null,
) = of(page.ids, surface, experiment, at, page.responseId)

/** The items shown, in display order (e.g. `page.ids.take(6)` when only six fit on screen). */
fun Impressions.Companion.of(
    itemIds: List<String>, surface: String? = null, experiment: String? = null, at: Instant? = null,
    responseId: String? = null,
) = Impressions(
    itemIds = itemIds, surface = surface, experiment = experiment, timestamp = at?.epochSecond, responseId = responseId,
)

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
    /** Results to return, 1..1000 (anything else is [TailorException.InvalidInput]). */
    var limit: Int = 20

    /** Items to order; `null` ranks the whole in-stock catalog. */
    var candidates: List<String>? = null

    /**
     * Name of a set defined with `TailorClient.defineCandidateSet`: ranks those items without
     * sending their ids on every call. Set this or [candidates], not both.
     */
    var candidateSet: String? = null
    var surface: String? = null

    /** The app's current session, so session intent applies to it. */
    var sessionId: String? = null

    /** Ranking time; `null` means now. */
    var now: Instant? = null
    var diversity: DiversityOptions? = null

    /** `null` uses the configured default exploration rate. */
    var exploration: ExplorationOptions? = null

    /** Key of an experiment defined with `defineExperiment`: this install's variant ranks. */
    var experiment: String? = null

    /**
     * Time budget of this call (whole milliseconds); `null` uses `TailorConfig.rankDeadlineMs`.
     * When scoring would run over it, the rest of the candidates are ordered by popularity and
     * the response's `fallback` is [Fallback.DeadlineExceeded], never an error.
     * [Duration.ZERO] skips the model.
     */
    var deadline: Duration? = null

    /** Which list this is: [SurfaceKind.FOR_YOU] (the default), a product page, the cart, search... */
    var kind: SurfaceKind = SurfaceKind.FOR_YOU

    /**
     * The items the page is about: the viewed item on a product page, the cart's items (most
     * recently added last) on the cart. Left out of the results unless [includeContext].
     */
    var context: List<String> = emptyList()
    var includeContext: Boolean = false

    /** The app's retrieval score of each of [candidates] (same order), e.g. search relevance. */
    var retrievalScores: List<Double>? = null
    private val rules = RulesBuilder()

    fun candidates(vararg ids: String) {
        candidates = ids.toList()
    }

    fun context(vararg ids: String) {
        context = ids.toList()
    }

    /** Re-rank the app's search results in the shopper's order, with their retrieval scores if known. */
    fun searchResults(ids: List<String>, scores: List<Double>? = null) {
        kind = SurfaceKind.SEARCH
        candidates = ids
        retrievalScores = scores
    }

    fun rules(configure: RulesBuilder.() -> Unit) {
        rules.configure()
    }

    /** At most [maxPerCategory] / [maxPerBrand] items each within the first [window] results. */
    fun diversity(maxPerCategory: Int? = null, maxPerBrand: Int? = null, window: Int = 10) {
        diversity = DiversityOptions(
            maxPerCategory = maxPerCategory?.let { nonNegative("maxPerCategory", it) },
            maxPerBrand = maxPerBrand?.let { nonNegative("maxPerBrand", it) },
            window = nonNegative("window", window),
        )
    }

    /**
     * Give a [rate] of the page to discovery. Exploration picks are random per call unless [seed]
     * (0 or more) is given: the same seed, request and state give the same page, so tests can
     * pin it down.
     */
    fun explore(rate: Double, seed: Long? = null) {
        exploration = ExplorationOptions(rate = rate, seed = seed?.let { nonNegative("seed", it) })
    }

    fun build() = RankRequest(
        candidateIds = candidates,
        limit = nonNegative("limit", limit),
        surface = surface,
        sessionId = sessionId,
        now = now?.epochSecond,
        rules = rules.build(),
        diversity = diversity,
        exploration = exploration,
        experiment = experiment,
        deadlineMs = deadline?.let { d ->
            if (d.isNegative || d.toMillis() > UInt.MAX_VALUE.toLong()) {
                throw TailorException.InvalidInput("deadline must be 0 to ${UInt.MAX_VALUE} ms, got $d")
            }
            d.toMillis().toUInt()
        },
        candidateSet = candidateSet,
        kind = kind,
        contextItemIds = context,
        includeContext = includeContext,
        retrievalScores = retrievalScores,
    )
}

/**
 * A bundle request: [size] (2..5) in-stock items that go with [contextItemIds], costing at most
 * [maxTotalPrice] together, each with a known margin of at least [minMargin].
 */
fun BundleRequest.Companion.of(
    contextItemIds: List<String>, size: Int = 3, maxTotalPrice: Double? = null, minMargin: Double? = null,
    now: Instant? = null,
) = BundleRequest(
    contextItemIds = contextItemIds, size = nonNegative("size", size), maxTotalPrice = maxTotalPrice,
    minMargin = minMargin, now = now?.epochSecond,
)

/** The bundle's ids, best first. */
val ItemBundle.ids: List<String> get() = items.map { it.itemId }

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
        pinned += Pin(itemId = itemId, position = nonNegative("pin position", position))
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
