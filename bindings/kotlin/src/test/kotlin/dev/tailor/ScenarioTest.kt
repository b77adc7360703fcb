package dev.tailor

import java.io.File
import java.nio.file.Files
import kotlin.test.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory

/**
 * The shared scenarios (the JSON files in tests/scenarios, format in its README.md) through the
 * generated Kotlin bindings: one dynamic test per file. Same rules as core/tests/it/scenarios.rs and
 * bindings/swift/Tests/TailorTests/ScenarioTests.swift; the transcript written to
 * target/scenario-transcripts/kotlin/ must equal the Rust and Swift ones (scripts/test.sh checks).
 */
class ScenarioTest {
    @TestFactory
    fun scenarios(): List<DynamicTest> {
        val filter = System.getenv("TAILOR_SCENARIO") ?: ""
        val files = File(TestSupport.repo, "tests/scenarios").listFiles { f -> f.name.endsWith(".json") && filter in f.name }!!
            .sortedBy { it.name }
        assertTrue(files.isNotEmpty(), "no scenario files matched '$filter'")
        val out = File(TestSupport.repo, "target/scenario-transcripts/kotlin")
        out.deleteRecursively()
        out.mkdirs()
        return files.map { f ->
            DynamicTest.dynamicTest(f.nameWithoutExtension) {
                val transcript = mutableListOf<String>()
                try {
                    ScenarioRun(f, transcript).run()
                } finally {
                    File(out, f.nameWithoutExtension + ".txt").writeText(transcript.joinToString("\n") + "\n")
                }
            }
        }
    }
}

private class ScenarioFailure(message: String) : Exception(message)

private fun fail(message: String): Nothing = throw ScenarioFailure(message)

/** 2090-01-01T00:00:00Z (see the README of tests/scenarios). */
private const val DEFAULT_NOW = 3_786_912_000L

// ---- JSON access ----

private fun show(v: Any?): String = when (v) {
    null -> "null"
    is String -> "\"$v\""
    else -> v.toString()
}

@Suppress("UNCHECKED_CAST")
private fun obj(v: Any?, what: String): Map<String, Any?> =
    v as? Map<String, Any?> ?: fail("$what: expected an object, got ${show(v)}")

private fun checkKeys(o: Map<String, Any?>, allowed: List<String>, what: String) {
    for (k in o.keys) if (k !in allowed) fail("$what: unknown key `$k` (allowed: $allowed)")
}

private fun str(v: Any?, what: String): String = v as? String ?: fail("$what: expected a string, got ${show(v)}")

private fun strs(v: Any?, what: String): List<String> =
    (v as? List<*> ?: fail("$what: expected an array of strings, got ${show(v)}")).map { str(it, what) }

private fun bool(v: Any?, what: String): Boolean = v as? Boolean ?: fail("$what: expected true or false, got ${show(v)}")

private fun long(v: Any?, what: String): Long = v as? Long ?: fail("$what: expected an integer, got ${show(v)}")

private fun ulong(v: Any?, what: String): Long =
    (v as? Long)?.takeIf { it >= 0 } ?: fail("$what: expected a non-negative integer, got ${show(v)}")

private fun u32(v: Any?, what: String): UInt {
    val n = ulong(v, what)
    if (n > 0xFFFF_FFFFL) fail("$what: $n does not fit in u32")
    return n.toUInt()
}

private fun float(v: Any?, what: String): Double = when (v) {
    is Long -> v.toDouble()
    is Double -> v
    "NaN" -> Double.NaN
    "Infinity" -> Double.POSITIVE_INFINITY
    "-Infinity" -> Double.NEGATIVE_INFINITY
    else -> fail("$what: expected a number or \"NaN\"/\"Infinity\"/\"-Infinity\", got ${show(v)}")
}

private fun list(v: Any?, what: String): List<Any?> = v as? List<Any?> ?: fail("$what: expected an array")

/** "-3d", "+2h", "90m", "-45s", "0": seconds. */
private fun offset(text: String): Long {
    val m = Regex("""([+-]?)(\d+)([smhd]?)""").matchEntire(text)
        ?: fail("time offset \"$text\": use e.g. \"-3d\", \"+2h\", \"-90m\", \"30s\"")
    val (sign, digits, unit) = m.destructured
    val scale = when (unit) { "", "s" -> 1L; "m" -> 60L; "h" -> 3600L; else -> 86_400L }
    return (if (sign == "-") -1 else 1) * digits.toLong() * scale
}

private fun time(o: Map<String, Any?>, abs: String, now: Long, what: String): Long? {
    val a = o[abs]
    val at = o["at"]
    return when {
        a != null && at != null -> fail("$what: give `$abs` or `at`, not both")
        a != null -> long(a, what)
        at != null -> now + offset(str(at, what))
        else -> null
    }
}

// ---- scenario JSON -> generated types ----

private fun attributeKind(s: String) = when (s) {
    "category" -> AttributeKind.CATEGORY
    "brand" -> AttributeKind.BRAND
    "tag" -> AttributeKind.TAG
    "item" -> AttributeKind.ITEM
    else -> fail("unknown attribute kind \"$s\"")
}

private fun attribute(v: Any?): Attribute {
    val o = obj(v, "attribute")
    checkKeys(o, listOf("kind", "value"), "attribute")
    return Attribute(attributeKind(str(o["kind"], "attribute.kind")), str(o["value"], "attribute.value"))
}

private fun item(v: Any?): Item {
    val o = obj(v, "item")
    checkKeys(o, listOf("id", "title", "category", "brand", "price", "tags", "in_stock", "margin", "embedding", "popularity", "related"), "item")
    val id = str(o["id"], "item.id")
    return Item(
        id = id,
        title = o["title"]?.let { str(it, "item.title") } ?: id,
        category = o["category"]?.let { str(it, "item.category") } ?: "",
        brand = o["brand"]?.let { str(it, "item.brand") } ?: "",
        price = float(o["price"] ?: fail("item: missing `price`"), "item.price"),
        tags = o["tags"]?.let { strs(it, "item.tags") } ?: emptyList(),
        inStock = o["in_stock"]?.let { bool(it, "item.in_stock") } ?: true,
        margin = o["margin"]?.let { float(it, "item.margin") },
        embedding = o["embedding"]?.let { e -> list(e, "item.embedding").map { float(it, "item.embedding").toFloat() } },
        popularity = o["popularity"]?.let { float(it, "item.popularity") } ?: 0.0,
        related = o["related"]?.let { r ->
            list(r, "item.related").map {
                val ro = obj(it, "related")
                checkKeys(ro, listOf("item_id", "weight"), "related")
                RelatedItem(str(ro["item_id"], "related.item_id"), float(ro["weight"], "related.weight"))
            }
        } ?: emptyList(),
    )
}

private fun eventKind(s: String) = when (s) {
    "view" -> EventKind.VIEW
    "click" -> EventKind.CLICK
    "add_to_cart" -> EventKind.ADD_TO_CART
    "purchase" -> EventKind.PURCHASE
    "dismiss" -> EventKind.DISMISS
    else -> fail("unknown event kind \"$s\"")
}

/** [responses]: rank steps saved by label (an event's `response` cites one). */
private fun event(v: Any?, now: Long, responses: Map<String, RankResponse>): Event {
    val o = obj(v, "event")
    checkKeys(o, listOf("kind", "item_id", "timestamp", "at", "session_id", "quantity", "surface", "response"), "event")
    val ts = time(o, "timestamp", now, "event")
        ?: fail("event: give `timestamp` or `at` (scenarios never use the wall clock)")
    return Event(
        kind = eventKind(str(o["kind"], "event.kind")),
        itemId = str(o["item_id"], "event.item_id"),
        timestamp = ts,
        sessionId = o["session_id"]?.let { str(it, "event.session_id") },
        quantity = o["quantity"]?.let { u32(it, "event.quantity") },
        surface = o["surface"]?.let { str(it, "event.surface") },
        responseId = o["response"]?.let { savedResponse(responses, it).responseId },
    )
}

private fun savedResponse(responses: Map<String, RankResponse>, label: Any?): RankResponse {
    val l = str(label, "response label")
    return responses[l] ?: fail("no rank step saved as \"$l\"")
}

private fun rules(v: Any?): BusinessRules {
    val o = obj(v, "rules")
    checkKeys(o, listOf("include_out_of_stock", "pinned", "boosts", "exclude_ids", "min_margin"), "rules")
    return BusinessRules(
        includeOutOfStock = o["include_out_of_stock"]?.let { bool(it, "rules.include_out_of_stock") } ?: false,
        pinned = (o["pinned"] as? List<*> ?: emptyList<Any?>()).map {
            val p = obj(it, "pin")
            checkKeys(p, listOf("item_id", "position"), "pin")
            Pin(str(p["item_id"], "pin.item_id"), u32(p["position"], "pin.position"))
        },
        boosts = (o["boosts"] as? List<*> ?: emptyList<Any?>()).map {
            val b = obj(it, "boost")
            checkKeys(b, listOf("attribute", "weight"), "boost")
            Boost(attribute(b["attribute"]), float(b["weight"], "boost.weight"))
        },
        excludeIds = o["exclude_ids"]?.let { strs(it, "rules.exclude_ids") } ?: emptyList(),
        minMargin = o["min_margin"]?.let { float(it, "rules.min_margin") },
    )
}

private fun rankRequest(v: Any?, now: Long): RankRequest {
    val o = obj(v, "request")
    checkKeys(
        o,
        listOf(
            "candidate_ids", "limit", "surface", "session_id", "now", "at", "rules", "diversity", "exploration", "deadline_ms",
            "candidate_set", "kind", "context_item_ids", "include_context", "retrieval_scores",
        ),
        "request",
    )
    return RankRequest(
        candidateIds = o["candidate_ids"]?.let { strs(it, "request.candidate_ids") },
        limit = o["limit"]?.let { u32(it, "request.limit") } ?: 20u,
        surface = o["surface"]?.let { str(it, "request.surface") },
        sessionId = o["session_id"]?.let { str(it, "request.session_id") },
        now = time(o, "now", now, "request") ?: now,
        rules = o["rules"]?.let { rules(it) } ?: BusinessRules(),
        diversity = o["diversity"]?.let {
            val d = obj(it, "diversity")
            checkKeys(d, listOf("max_per_category", "max_per_brand", "window"), "diversity")
            DiversityOptions(
                maxPerCategory = d["max_per_category"]?.let { x -> u32(x, "diversity.max_per_category") },
                maxPerBrand = d["max_per_brand"]?.let { x -> u32(x, "diversity.max_per_brand") },
                window = d["window"]?.let { x -> u32(x, "diversity.window") } ?: 10u,
            )
        },
        exploration = o["exploration"]?.let {
            val e = obj(it, "exploration")
            checkKeys(e, listOf("rate", "seed"), "exploration")
            ExplorationOptions(
                rate = e["rate"]?.let { x -> float(x, "exploration.rate") } ?: 0.0,
                seed = e["seed"]?.let { x -> ulong(x, "exploration.seed").toULong() },
            )
        },
        deadlineMs = o["deadline_ms"]?.let { u32(it, "request.deadline_ms") },
        candidateSet = o["candidate_set"]?.let { str(it, "request.candidate_set") },
        kind = o["kind"]?.let { surfaceKind(str(it, "request.kind")) },
        contextItemIds = o["context_item_ids"]?.let { strs(it, "request.context_item_ids") } ?: emptyList(),
        includeContext = o["include_context"]?.let { bool(it, "request.include_context") } ?: false,
        retrievalScores = o["retrieval_scores"]?.let { list(it, "request.retrieval_scores").map { x -> float(x, "request.retrieval_scores") } },
    )
}

private fun surfaceKind(s: String) = when (s) {
    "for_you" -> SurfaceKind.FOR_YOU
    "similar" -> SurfaceKind.SIMILAR
    "goes_with" -> SurfaceKind.GOES_WITH
    "complete_cart" -> SurfaceKind.COMPLETE_CART
    "buy_again" -> SurfaceKind.BUY_AGAIN
    "trending" -> SurfaceKind.TRENDING
    "search" -> SurfaceKind.SEARCH
    else -> fail("unknown surface kind \"$s\"")
}

private fun bundleRequest(v: Any?, now: Long): BundleRequest {
    val o = obj(v, "bundle request")
    checkKeys(o, listOf("context_item_ids", "size", "max_total_price", "min_margin", "now", "at"), "bundle request")
    return BundleRequest(
        contextItemIds = o["context_item_ids"]?.let { strs(it, "bundle.context_item_ids") } ?: emptyList(),
        size = o["size"]?.let { u32(it, "bundle.size") } ?: 3u,
        maxTotalPrice = o["max_total_price"]?.let { float(it, "bundle.max_total_price") },
        minMargin = o["min_margin"]?.let { float(it, "bundle.min_margin") },
        now = time(o, "now", now, "bundle request") ?: now,
    )
}

private fun config(v: Any?, directory: String): TailorConfig {
    var c = TailorConfig(directory = directory)
    if (v == null) return c
    val o = obj(v, "config")
    checkKeys(o, listOf("half_life_days", "session_gap_minutes", "max_event_age_days", "max_events", "exploration_rate", "durable_sync", "rank_deadline_ms", "guard_min_ranks"), "config")
    o["half_life_days"]?.let { c = c.copy(halfLifeDays = float(it, "config.half_life_days")) }
    o["session_gap_minutes"]?.let { c = c.copy(sessionGapMinutes = u32(it, "config.session_gap_minutes")) }
    o["max_event_age_days"]?.let { c = c.copy(maxEventAgeDays = u32(it, "config.max_event_age_days")) }
    o["max_events"]?.let { c = c.copy(maxEvents = u32(it, "config.max_events")) }
    o["exploration_rate"]?.let { c = c.copy(explorationRate = float(it, "config.exploration_rate")) }
    o["durable_sync"]?.let { c = c.copy(durableSync = bool(it, "config.durable_sync")) }
    o["rank_deadline_ms"]?.let { c = c.copy(rankDeadlineMs = u32(it, "config.rank_deadline_ms")) }
    o["guard_min_ranks"]?.let { c = c.copy(guardMinRanks = u32(it, "config.guard_min_ranks")) }
    return c
}

// ---- generated types -> canonical JSON and text ----

private fun kindName(k: AttributeKind) = when (k) {
    AttributeKind.CATEGORY -> "category"
    AttributeKind.BRAND -> "brand"
    AttributeKind.TAG -> "tag"
    AttributeKind.ITEM -> "item"
}

private fun attrJson(a: Attribute) = mapOf("kind" to kindName(a.kind), "value" to a.value)

private fun reasonJson(r: Reason): Map<String, Any?> = when (r) {
    is Reason.SimilarTo -> mapOf("type" to "similar_to", "item_id" to r.itemId, "title" to r.title)
    is Reason.BoughtBefore -> mapOf("type" to "bought_before", "times" to r.times)
    Reason.LeftInCart -> mapOf("type" to "left_in_cart")
    Reason.ViewedRecently -> mapOf("type" to "viewed_recently")
    is Reason.Likes -> mapOf("type" to "likes", "attribute" to attrJson(r.attribute))
    is Reason.SessionIntent -> mapOf("type" to "session_intent", "attribute" to attrJson(r.attribute))
    is Reason.ChosenPreference -> mapOf("type" to "chosen_preference", "attribute" to attrJson(r.attribute))
    Reason.PopularNow -> mapOf("type" to "popular_now")
    Reason.Pinned -> mapOf("type" to "pinned")
    is Reason.Boosted -> mapOf("type" to "boosted", "attribute" to attrJson(r.attribute))
    Reason.Exploration -> mapOf("type" to "exploration")
    is Reason.GoesWith -> mapOf("type" to "goes_with", "item_id" to r.itemId, "title" to r.title)
    is Reason.LooksLike -> mapOf("type" to "looks_like", "item_id" to r.itemId, "title" to r.title)
    is Reason.TrendingInCategory -> mapOf("type" to "trending_in_category", "category" to r.category)
}

private fun reasonText(r: Reason): String {
    fun a(x: Attribute) = "${kindName(x.kind)}=${x.value}"
    return when (r) {
        is Reason.SimilarTo -> "similar_to:${r.itemId}"
        is Reason.BoughtBefore -> "bought_before:${r.times}"
        Reason.LeftInCart -> "left_in_cart"
        Reason.ViewedRecently -> "viewed_recently"
        is Reason.Likes -> "likes:${a(r.attribute)}"
        is Reason.SessionIntent -> "session_intent:${a(r.attribute)}"
        is Reason.ChosenPreference -> "chosen_preference:${a(r.attribute)}"
        Reason.PopularNow -> "popular_now"
        Reason.Pinned -> "pinned"
        is Reason.Boosted -> "boosted:${a(r.attribute)}"
        Reason.Exploration -> "exploration"
        is Reason.GoesWith -> "goes_with:${r.itemId}"
        is Reason.LooksLike -> "looks_like:${r.itemId}"
        is Reason.TrendingInCategory -> "trending_in_category:${r.category}"
    }
}

private fun fallbackName(f: Fallback?) = when (f) {
    null -> "none"
    Fallback.ColdStart -> "cold_start"
    Fallback.OptedOut -> "opted_out"
    is Fallback.ModelFailed -> "model_failed"
    is Fallback.DeadlineExceeded -> "deadline_exceeded"
}

private fun problemName(p: ModelProblem) = when (p) {
    ModelProblem.INVALID_MANIFEST -> "invalid_manifest"
    ModelProblem.HASH_MISMATCH -> "hash_mismatch"
    ModelProblem.UNKNOWN_FEATURE -> "unknown_feature"
    ModelProblem.NOT_ONNX -> "not_onnx"
    ModelProblem.UNSUPPORTED_OPERATOR -> "unsupported_operator"
    ModelProblem.SHAPE_MISMATCH -> "shape_mismatch"
    ModelProblem.NON_FINITE_OUTPUT -> "non_finite_output"
    ModelProblem.BAD_SIGNATURE -> "bad_signature"
    ModelProblem.TOO_LARGE -> "too_large"
    ModelProblem.OVER_BUDGET -> "over_budget"
    ModelProblem.RUNTIME_ERROR -> "runtime_error"
    ModelProblem.QUARANTINED -> "quarantined"
}

private fun errorText(e: TailorException) = when (e) {
    is TailorException.InvalidInput -> "invalid_input"
    is TailorException.NotFound -> "not_found"
    is TailorException.ModelRejected -> "model_rejected/${problemName(e.problem)}"
    is TailorException.Storage -> "storage"
    is TailorException.Closed -> "closed"
    is TailorException.Interrupted -> "interrupted"
}

private fun rankText(r: RankResponse): String {
    val items = r.items.joinToString(" ") { i -> "${i.itemId}(${i.reasons.joinToString(",") { reasonText(it) }})" }
    return "personalized=${r.personalized} fallback=${fallbackName(r.fallback)} model=${r.modelName} " +
        "unknown=[${r.unknownIds.joinToString(",")}] items=[$items]"
}

// ---- expectations ----

/** Numbers compare by value; objects match when every key of `spec` matches. */
private fun matches(spec: Any?, actual: Any?): Boolean = when {
    spec is Map<*, *> && actual is Map<*, *> -> spec.all { (k, v) -> actual.containsKey(k) && matches(v, actual[k]) }
    spec is Number && actual is Number -> spec.toDouble() == actual.toDouble()
    else -> spec == actual
}

private fun reasonSpec(v: Any?): Any? = if (v is String) mapOf("type" to v) else v

private fun <T> expectEq(what: String, expected: T, actual: T) {
    if (expected != actual) fail("$what: expected $expected, got $actual")
}

private fun checkRank(e: Map<String, Any?>, r: RankResponse, saved: Map<String, List<String>>) {
    checkKeys(
        e,
        listOf("ids", "prefix", "contains", "absent", "count", "before", "personalized", "fallback", "model", "unknown_ids", "reasons", "top_reason", "no_reason", "positions", "same_as"),
        "rank expect",
    )
    val ids = r.items.map { it.itemId }
    fun pos(id: String) = ids.indexOf(id).takeIf { it >= 0 }
    e["ids"]?.let { expectEq("ids", strs(it, "ids"), ids) }
    e["prefix"]?.let { val p = strs(it, "prefix"); expectEq("prefix", p, ids.take(p.size)) }
    e["contains"]?.let { for (id in strs(it, "contains")) if (pos(id) == null) fail("contains: $id is not among $ids") }
    e["absent"]?.let { for (id in strs(it, "absent")) if (pos(id) != null) fail("absent: $id is among $ids") }
    e["count"]?.let { expectEq("count", ulong(it, "count").toInt(), ids.size) }
    e["before"]?.let {
        for (pair in list(it, "before")) {
            val p = strs(pair, "before")
            if (p.size != 2) fail("before: each entry is [higher, lower]")
            val (a, b) = p
            val x = pos(a)
            val y = pos(b)
            if (x == null || y == null || x >= y) fail("before: expected $a above $b in $ids")
        }
    }
    e["personalized"]?.let { expectEq("personalized", bool(it, "personalized"), r.personalized) }
    if (e.containsKey("fallback")) {
        val want = e["fallback"]?.let { str(it, "fallback") } ?: "none"
        expectEq("fallback", want, fallbackName(r.fallback))
    }
    e["model"]?.let { expectEq("model", str(it, "model"), r.modelName) }
    e["unknown_ids"]?.let { expectEq("unknown_ids", strs(it, "unknown_ids"), r.unknownIds) }
    fun reasonsOf(id: String): List<Map<String, Any?>> {
        val i = pos(id) ?: fail("reasons: $id is not among $ids")
        return r.items[i].reasons.map(::reasonJson)
    }
    e["reasons"]?.let {
        for ((id, specs) in obj(it, "reasons")) {
            val actual = reasonsOf(id)
            for (s in list(specs, "reasons")) {
                val spec = reasonSpec(s)
                if (actual.none { a -> matches(spec, a) }) fail("reasons of $id: no reason matches $spec in $actual")
            }
        }
    }
    e["top_reason"]?.let {
        for ((id, s) in obj(it, "top_reason")) {
            val actual = reasonsOf(id)
            val spec = reasonSpec(s)
            if (actual.isEmpty() || !matches(spec, actual[0])) fail("top reason of $id: expected $spec, got $actual")
        }
    }
    e["no_reason"]?.let {
        for (s in list(it, "no_reason")) {
            val spec = reasonSpec(s)
            for (item in r.items) {
                if (item.reasons.any { a -> matches(spec, reasonJson(a)) }) fail("no_reason: ${item.itemId} has a reason matching $spec")
            }
        }
    }
    e["positions"]?.let {
        for ((kind, want) in obj(it, "positions")) {
            val spec = mapOf("type" to kind)
            val got = r.items.indices.filter { p -> r.items[p].reasons.any { a -> matches(spec, reasonJson(a)) } }.map { p -> p.toLong() }
            expectEq("positions of $kind", list(want, "positions").map { p -> ulong(p, "positions") }, got)
        }
    }
    e["same_as"]?.let {
        val label = str(it, "same_as")
        val before = saved[label] ?: fail("same_as: no rank step saved as \"$label\"")
        expectEq("same ids as \"$label\"", before, ids)
    }
}

private fun checkFields(e: Map<String, Any?>, actual: Map<String, Any?>, what: String) {
    checkKeys(e, actual.keys.toList(), what)
    for ((k, v) in actual) {
        if (e.containsKey(k) && !matches(e[k], v)) fail("$what.$k: expected ${show(e[k])}, got ${show(v)}")
    }
}

// ---- running ----

private class ScenarioRun(private val file: File, private val transcript: MutableList<String>) {
    private val root = TestSupport.repo
    private var now = DEFAULT_NOW
    private lateinit var cfg: TailorConfig
    private lateinit var tailor: Tailor
    private val saved = mutableMapOf<String, List<String>>()
    private val responses = mutableMapOf<String, RankResponse>()

    private class Outcome(val text: String, val fields: Map<String, Any?>)

    fun run() {
        val doc = obj(MiniJson.parse(file.readText()), "scenario")
        checkKeys(doc, listOf("description", "now", "config", "steps"), "scenario")
        str(doc["description"], "description")
        now = doc["now"]?.let { long(it, "now") } ?: DEFAULT_NOW
        val dir = Files.createTempDirectory("tailor-scenario")
        try {
            cfg = config(doc["config"], dir.resolve("store").toString())
            val steps = list(doc["steps"], "scenario.steps")
            tailor = Tailor.open(cfg)
            try {
                for ((n, step) in steps.withIndex()) {
                    try {
                        transcript += step(n, obj(step, "step"))
                    } catch (f: ScenarioFailure) {
                        throw AssertionError("${file.name} step $n: ${f.message}\n  transcript so far:\n    ${transcript.joinToString("\n    ")}")
                    }
                }
            } finally {
                runCatching { tailor.closeStores() } // fails only if a `reopen` step failed
                tailor.close()
            }
        } finally {
            dir.toFile().deleteRecursively()
        }
    }

    private fun step(n: Int, o: Map<String, Any?>): String {
        val op = str(o["op"], "op")
        val wantError = o["error"]?.let { str(it, "error") }
        val result: Outcome = try {
            call(op, o)
        } catch (e: TailorException) {
            val got = errorText(e)
            if (wantError == null) fail("unexpected error: ${e.message}")
            // `model_rejected` matches any problem; `model_rejected/not_onnx` only that one.
            if (got != wantError && got.substringBefore('/') != wantError) fail("expected error $wantError, got $got: ${e.message}")
            return "$n $op: error $got"
        }
        if (wantError != null) fail("expected error $wantError, but the call succeeded: ${result.text}")
        if (op != "rank") o["expect"]?.let { checkFields(obj(it, "expect"), result.fields, "$op expect") }
        return "$n $op: " + if (result.text.isEmpty()) "ok" else "ok ${result.text}"
    }

    private fun keys(o: Map<String, Any?>, op: String, vararg extra: String) =
        checkKeys(o, listOf("op", "note", "error", "expect") + extra, "step $op")

    private fun path(o: Map<String, Any?>, op: String, key: String) =
        File(root, str(o[key] ?: fail("$op: missing `$key`"), key)).path

    private fun count(n: UInt) = Outcome("count=$n", mapOf("count" to n.toLong()))

    private fun model(m: ModelInfo) = Outcome(
        "model=${m.name} version=${m.version}",
        mapOf("name" to m.name, "version" to m.version, "builtin" to m.builtin),
    )

    private val none = Outcome("", emptyMap())

    private fun call(op: String, o: Map<String, Any?>): Outcome = when (op) {
        "upsert" -> {
            keys(o, op, "items")
            count(tailor.upsertItems(list(o["items"], "upsert.items").map(::item)))
        }
        "import_catalog_csv" -> {
            keys(o, op, "path")
            count(tailor.importCatalogCsv(path(o, op, "path")))
        }
        "remove" -> {
            keys(o, op, "ids")
            count(tailor.removeItems(strs(o["ids"], "remove.ids")))
        }
        "track" -> {
            keys(o, op, "events")
            val s = tailor.trackBatch(list(o["events"], "track.events").map { event(it, now, responses) })
            Outcome(
                "stored=${s.stored} pending_items=${s.pendingItems} dropped_no_consent=${s.droppedNoConsent}",
                mapOf("stored" to s.stored.toLong(), "pending_items" to s.pendingItems.toLong(), "dropped_no_consent" to s.droppedNoConsent.toLong()),
            )
        }
        "consent" -> {
            keys(o, op, "granted")
            tailor.setConsent(bool(o["granted"], "consent.granted"))
            none
        }
        "preferences" -> {
            keys(o, op, "attributes")
            tailor.setPreferences(list(o["attributes"], "preferences.attributes").map(::attribute))
            none
        }
        "load_model" -> {
            keys(o, op, "path")
            model(tailor.loadModel(path(o, op, "path"), null))
        }
        "rollback_model" -> {
            keys(o, op)
            model(tailor.rollbackModel())
        }
        "erase" -> {
            keys(o, op)
            tailor.erase()
            none
        }
        "close" -> {
            keys(o, op)
            tailor.closeStores()
            none
        }
        "reopen" -> {
            keys(o, op)
            tailor.closeStores()
            tailor.close()
            tailor = Tailor.open(cfg)
            none
        }
        "status" -> {
            keys(o, op)
            val s = tailor.status()
            Outcome(
                "catalog_items=${s.catalogItems} profile_events=${s.profileEvents} pending_events=${s.pendingEvents} " +
                    "consent=${s.consent} model=${s.model.name}",
                mapOf(
                    "catalog_items" to s.catalogItems.toLong(), "profile_events" to s.profileEvents.toLong(),
                    "pending_events" to s.pendingEvents.toLong(), "consent" to s.consent, "model" to s.model.name,
                ),
            )
        }
        "rank" -> {
            keys(o, op, "request", "save")
            val r = tailor.rank(rankRequest(o["request"] ?: emptyMap<String, Any?>(), now))
            o["expect"]?.let { checkRank(obj(it, "rank expect"), r, saved) }
            o["save"]?.let {
                saved[str(it, "save")] = r.items.map { i -> i.itemId }
                responses[str(it, "save")] = r
            }
            Outcome(rankText(r), emptyMap())
        }
        "bundle" -> {
            keys(o, op, "request")
            val b = tailor.bundle(bundleRequest(o["request"] ?: fail("bundle: missing `request`"), now))
            val items = b.items.joinToString(" ") { i -> "${i.itemId}(${i.reasons.joinToString(",", transform = ::reasonText)})" }
            val cents = Math.round(b.totalPrice * 100.0)
            Outcome(
                "personalized=${b.personalized} items=[$items] total_cents=$cents",
                mapOf("ids" to b.items.joinToString(",") { it.itemId }, "total_cents" to cents, "personalized" to b.personalized),
            )
        }
        "not_interested" -> {
            keys(o, op, "attribute")
            tailor.markNotInterested(attribute(o["attribute"] ?: fail("not_interested: missing `attribute`")))
            none
        }
        "undo_not_interested" -> {
            keys(o, op, "attribute")
            val removed = tailor.undoNotInterested(attribute(o["attribute"] ?: fail("undo_not_interested: missing `attribute`")))
            Outcome("removed=$removed", mapOf("removed" to removed))
        }
        "define_candidate_set" -> {
            keys(o, op, "name", "ids")
            val name = str(o["name"] ?: fail("define_candidate_set: missing `name`"), "name")
            count(tailor.defineCandidateSet(name, strs(o["ids"] ?: fail("define_candidate_set: missing `ids`"), "define_candidate_set.ids")))
        }
        "remove_candidate_set" -> {
            keys(o, op, "name")
            val removed = tailor.removeCandidateSet(str(o["name"] ?: fail("remove_candidate_set: missing `name`"), "name"))
            Outcome("removed=$removed", mapOf("removed" to removed))
        }
        "forget_item" -> {
            keys(o, op, "item_id")
            count(tailor.forgetItem(str(o["item_id"] ?: fail("forget_item: missing `item_id`"), "item_id")))
        }
        "impressions" -> {
            keys(o, op, "from", "shown", "at")
            val r = savedResponse(responses, o["from"] ?: fail("impressions: missing `from`"))
            val shown = long(o["shown"] ?: fail("impressions: missing `shown`"), "shown").toInt()
            val ts = time(o, "timestamp", now, "impressions") ?: now
            tailor.recordImpressions(
                Impressions(
                    itemIds = r.items.take(shown).map { it.itemId }, surface = r.surface,
                    experiment = r.experiment, timestamp = ts, responseId = r.responseId,
                ),
            )
            none
        }
        "placements" -> {
            keys(o, op)
            placements(tailor.metrics())
        }
        else -> fail("unknown op \"$op\"")
    }

    /** Placements by the label their response was saved under (ids are random), in label order. */
    private fun placements(m: LocalMetrics): Outcome {
        val rows = m.placements.map { p ->
            (responses.entries.firstOrNull { it.value.responseId == p.responseId }?.key ?: "?") to p
        }.sortedBy { it.first }
        val text = rows.joinToString("; ") { (l, p) ->
            "$l surface=${p.surface} variant=${p.variant} impressions=${p.impressions} clicks=${p.clicks} " +
                "add_to_carts=${p.addToCarts} purchases=${p.purchases}"
        }
        val fields = rows.associate { (l, p) ->
            l to mapOf(
                "surface" to p.surface, "variant" to p.variant, "impressions" to p.impressions.toLong(),
                "clicks" to p.clicks.toLong(), "add_to_carts" to p.addToCarts.toLong(), "purchases" to p.purchases.toLong(),
            )
        }
        return Outcome(text.ifEmpty { "none" }, fields)
    }
}
