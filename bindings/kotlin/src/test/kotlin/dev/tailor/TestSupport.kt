package dev.tailor

import java.io.File

/** Paths and constants shared by the Kotlin tests. */
object TestSupport {
    /** The repository root: `-Dtailor.repo=...` (set by bindings/kotlin/test.sh), else found upwards. */
    val repo: File by lazy {
        System.getProperty("tailor.repo")?.let { return@lazy File(it).canonicalFile }
        var dir: File? = File("").absoluteFile
        while (dir != null && !File(dir, "tests/scenarios").isDirectory) dir = dir.parentFile
        dir ?: error("cannot find the repository root; pass -Dtailor.repo=PATH")
    }

    /** 2090-01-01T00:00:00Z; see tests/scenarios/README.md for why test times lie in the future. */
    const val NOW: Long = 3_786_912_000L
    const val DAY: Long = 86_400L

    fun path(relative: String): String = File(repo, relative).path

    val catalogCsv: String get() = path("tests/data/catalog.csv")

    /**
     * The catalog of the core's integration tests (core/tests/common/mod.rs `catalog()`): twelve
     * items, shoes-0..3, books-0..3, toys-0..3, brands alternating acme/zeta, popularity falling
     * and price rising with the position.
     */
    fun learningCatalog(): List<Item> = listOf("shoes", "books", "toys").flatMapIndexed { c, category ->
        (0 until 4).map { i ->
            val n = c * 4 + i
            Item(
                id = "$category-$i",
                title = "$category $category-$i",
                category = category,
                brand = if (i % 2 == 0) "acme" else "zeta",
                price = 10.0 + n,
                tags = listOf(category),
                popularity = 100.0 - n,
            )
        }
    }
}

/** A client in `tmp/name` whose catalog is [TestSupport.learningCatalog]. */
suspend fun openWithLearningCatalog(tmp: java.nio.file.Path, name: String): TailorClient {
    val t = TailorClient.open(tmp.resolve(name))
    check(t.upsertItems(TestSupport.learningCatalog()) == 12) { "the learning catalog has 12 items" }
    return t
}

/** Unix seconds (the test constants) as the Instant the Kotlin layer takes. */
fun instant(seconds: Long): java.time.Instant = java.time.Instant.ofEpochSecond(seconds)

/** The same page: only the per-call response id and timing differ between two calls. */
fun comparable(r: RankResponse): RankResponse = r.copy(responseId = "", tookMicros = 0)
