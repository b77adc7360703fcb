package dev.tailor

import kotlin.system.exitProcess

/**
 * FFI cost: rank(1,000 candidates) through the Kotlin bindings. Same catalog, profile and requests
 * as core/examples/ffi_baseline.rs and bindings/swift/Sources/TailorBench. Run by
 * `bindings/kotlin/test.sh bench` (or scripts/bench-ffi.sh for all three languages).
 */
object FfiBench {
    const val ITEMS = 2000
    const val CANDIDATES = 1000
    const val NOW = 3_786_912_000L

    fun catalog() = (0 until ITEMS).map { i ->
        Item(
            id = "p$i", title = "Product $i", category = "c${i % 20}", brand = "b${i % 50}",
            price = 5.0 + i % 97, tags = listOf("t${i % 30}", "u${i % 11}"), margin = 0.1 + (i % 5) * 0.1,
            popularity = (ITEMS - i).toDouble(), related = listOf(RelatedItem("p${(i + 1) % ITEMS}", 1.0)),
        )
    }

    fun events() = (0 until 300).map { k ->
        val kind = when (k % 10) { 0 -> EventKind.PURCHASE; 1 -> EventKind.ADD_TO_CART; else -> EventKind.VIEW }
        Event(kind, "p${(k * 37) % ITEMS}", timestamp = NOW - (300 - k) * 600L, sessionId = "bench")
    }

    val ids = (0 until CANDIDATES).map { "p${2 * it}" }

    /** [named]: the same ids as the set "bench", so the request carries a name instead of 1,000 strings. */
    fun request(limit: Int, named: Boolean) = RankRequest(
        candidateIds = if (named) null else ids, limit = limit.toUInt(), sessionId = "bench", now = NOW,
        candidateSet = if (named) "bench" else null,
    )

    @JvmStatic
    fun main(args: Array<String>) {
        val iterations = args.getOrNull(0)?.toInt() ?: 200
        val dir = java.nio.file.Files.createTempDirectory("tailor-bench")
        val t = Tailor.open(TailorConfig(directory = dir.toString()))
        t.upsertItems(catalog())
        t.trackBatch(events())
        t.loadModel(TestSupport.path("models/bootstrap-ranker"), null)
        t.defineCandidateSet("bench", ids)
        val client = TailorClient(t)
        // "call": the generated `Tailor.rank`; "client": what `TailorClient.rank` runs on its
        // dispatcher (`rankBlocking`: the packed page in one native call, NativeRank.kt).
        for ((limit, named, path) in listOf(
            Triple(20, false, "call"), Triple(20, false, "client"), Triple(50, false, "call"),
            Triple(1000, false, "call"), Triple(20, true, "call"), Triple(20, true, "client"),
        )) {
            val req = request(limit, named)
            val call: () -> RankResponse =
                if (path == "client") { { client.rankBlocking(req) } } else { { t.rank(req) } }
            val how = if (path == "client") " through TailorClient" else ""
            repeat(2000) { check(call().personalized) } // let the JIT compile the lowering code
            val wall = LongArray(iterations)
            val core = LongArray(iterations)
            val outside = LongArray(iterations)
            for (i in 0 until iterations) {
                val start = System.nanoTime()
                val r = call()
                wall[i] = (System.nanoTime() - start) / 1000
                core[i] = r.tookMicros
                outside[i] = wall[i] - core[i]
                if (r.items.size != limit) exitProcess(1)
            }
            fun median(v: LongArray) = v.sorted()[v.size / 2]
            println(
                "kotlin rank($CANDIDATES candidates${if (named) " in a named set" else ""}$how, " +
                    "limit $limit): median ${median(wall)} us, " +
                    "core took_micros median ${median(core)} us, " +
                    "outside the core (call - took_micros) median ${median(outside)} us, n=$iterations",
            )
        }
        client.close()
        dir.toFile().deleteRecursively()
    }
}
