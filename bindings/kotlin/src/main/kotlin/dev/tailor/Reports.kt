// What Tailor reports back (status, metrics, track summaries), with signed counts: the generated
// records carry Rust's u64/u32 as ULong/UInt, which `"%d".format(...)`, `Long` arithmetic and most
// analytics SDKs reject. Counts never come near Long.MAX_VALUE, so the conversion is exact.
package dev.tailor

import java.time.Instant

/** Health and size of the stores (`TailorClient.status()`). */
data class TailorStatus(
    val catalogItems: Long,
    val profileEvents: Long,
    /** Events for items the catalog does not have yet; they count once the item arrives. */
    val pendingEvents: Long,
    val consent: Boolean,
    val model: ModelInfo,
    /** A damaged file moved aside at open, a model that no longer loads, events pruned by retention. */
    val notices: List<StoreNotice>,
)

/** What a `trackBatch` or `importEventsCsv` did. */
data class TrackCounts(
    val stored: Int,
    /** Stored events whose item is not in the catalog yet. */
    val pendingItems: Int,
    /** Events dropped because the shopper has not consented. */
    val droppedNoConsent: Int,
)

/** Everything measured on the device (`TailorClient.metrics()`), for the app's own analytics. */
data class TailorMetrics(val funnels: List<Funnel>, val placements: List<Placement>, val engine: EngineMetrics) {
    /** The funnel of one experiment (`""` outside experiments) and surface (`""` when none was given). */
    fun funnel(experiment: String = "", surface: String = ""): Funnel? =
        funnels.firstOrNull { it.experiment == experiment && it.surface == surface }

    /** The placement of one page: `metrics.placement(page.responseId)`. */
    fun placement(responseId: String): Placement? = placements.firstOrNull { it.responseId == responseId }
}

/**
 * Conversions of one placement: a page (rank response) the app reported with `recordImpressions`,
 * with its surface and variant. Clicks, carts and purchases count when they cite the page
 * (`Event.click(id, responseId = page.responseId)`) or follow an impression of the item on it,
 * within `attributionWindowHours` of when it was first shown.
 */
data class Placement(
    val responseId: String,
    val surface: String,
    val experiment: String,
    val variant: String,
    val shownAt: Instant,
    val impressions: Long,
    val clicks: Long,
    val addToCarts: Long,
    val purchases: Long,
    /** Price x quantity of the attributed purchases. */
    val revenue: Double,
)

/** Local funnel of one experiment variant and surface. */
data class Funnel(
    val experiment: String,
    val variant: String,
    val surface: String,
    val impressions: Long,
    val clicks: Long,
    val addToCarts: Long,
    val purchases: Long,
    /** Price x quantity of the purchases. */
    val revenue: Double,
    /** Purchases of an item shown within `attributionWindowHours` before. */
    val attributedConversions: Long,
    val attributedRevenue: Double,
)

/** Rank latency since the client was opened, in microseconds. */
data class Latency(val count: Long, val p50Micros: Long, val p95Micros: Long, val p99Micros: Long)

/** Counters by name: `errors["invalid_input"]` is 0 when there were none. */
data class NamedCounts(val counts: Map<String, Long>) {
    operator fun get(name: String): Long = counts[name] ?: 0L
}

/** How the engine has been doing since the client was opened. */
data class EngineMetrics(
    val rankLatency: Latency,
    val model: ModelInfo,
    /** Fallback responses by reason (cold_start, opted_out, model_failed, deadline_exceeded). */
    val fallbacks: NamedCounts,
    /** Failed calls by error kind (invalid_input, not_found, model_rejected, storage, closed). */
    val errors: NamedCounts,
    val catalogItems: Long,
    val profileEvents: Long,
    val profileDbBytes: Long,
    val catalogDbBytes: Long,
    /** Updates of the personal adjustment layer (lifetime). */
    val personalUpdates: Long,
    /** What the model guard sees of the active model, and the rollbacks it made. */
    val modelGuard: ModelGuardMetrics,
)

/**
 * The model guard's view of the active model since it became active (counts are halved as they
 * grow, so recent calls weigh more) and the rollbacks it made on this device (kept across
 * restarts).
 */
data class ModelGuardMetrics(
    val enabled: Boolean,
    /** Rank calls the active model scored (or failed to score). */
    val ranks: Long,
    /** Of these, calls that fell back because the model failed. */
    val fallbacks: Long,
    /** Of these, calls whose scores were NaN or infinite. */
    val nonFinite: Long,
    /** Rank latency p95 of those calls, per 1,000 candidates scored (fewer count whole). */
    val p95Micros: Long,
    /** Score drift (PSI) against the manifest's `score_reference`; `null` without one. */
    val driftPsi: Double?,
    /** Models rolled back, oldest first; each stays refused ([ModelProblem.QUARANTINED]). */
    val rollbacks: List<GuardRollback>,
)

internal fun Status.toStatus() = TailorStatus(
    catalogItems.toLong(), profileEvents.toLong(), pendingEvents.toLong(), consent, model, notices,
)

internal fun TrackSummary.toCounts() = TrackCounts(stored.toInt(), pendingItems.toInt(), droppedNoConsent.toInt())

private fun List<NamedCount>.toCounts() = NamedCounts(associate { it.name to it.count.toLong() })

internal fun LocalMetrics.toMetrics() = TailorMetrics(
    funnels = funnels.map {
        Funnel(
            it.experiment, it.variant, it.surface, it.impressions.toLong(), it.clicks.toLong(),
            it.addToCarts.toLong(), it.purchases.toLong(), it.revenue, it.attributedConversions.toLong(),
            it.attributedRevenue,
        )
    },
    placements = placements.map {
        Placement(
            it.responseId, it.surface, it.experiment, it.variant, Instant.ofEpochSecond(it.shownAt),
            it.impressions.toLong(), it.clicks.toLong(), it.addToCarts.toLong(), it.purchases.toLong(), it.revenue,
        )
    },
    engine = with(engine) {
        EngineMetrics(
            Latency(
                rankLatency.count.toLong(), rankLatency.p50Micros.toLong(),
                rankLatency.p95Micros.toLong(), rankLatency.p99Micros.toLong(),
            ),
            model, fallbacks.toCounts(), errors.toCounts(), catalogItems.toLong(), profileEvents.toLong(),
            profileDbBytes.toLong(), catalogDbBytes.toLong(), personalUpdates.toLong(),
            with(modelGuard) {
                ModelGuardMetrics(
                    enabled, ranks.toLong(), fallbacks.toLong(), nonFinite.toLong(), p95Micros.toLong(),
                    driftPsi, rollbacks,
                )
            },
        )
    },
)
