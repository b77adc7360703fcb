package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The built-in model offers a repeat only where the shop says items are bought again (the
 * catalog's `repeatRate`); mirrors core/tests/it/any_shop.rs.
 */
class RepeatGateTest {
    @TempDir
    lateinit var tmp: Path

    /** The page for a shopper who bought three books, none twice; books-0 goes with toys-3. */
    private suspend fun pageForABuyer(name: String, repeatRate: Double?): List<String> {
        val items = TestSupport.learningCatalog().map { item ->
            val partner = when (item.id) {
                "books-0" -> "toys-3"
                "toys-3" -> "books-0"
                else -> null
            }
            item.copy(repeatRate = repeatRate, related = listOfNotNull(partner?.let { RelatedItem(it, 0.5) }))
        }
        return TailorClient.open(tmp.resolve(name)).use { t ->
            t.upsertItems(items)
            for ((id, days) in listOf("books-2" to 20L, "books-1" to 10L, "books-0" to 2L)) {
                t.track(Event.purchase(id, at = instant(NOW - days * DAY)))
            }
            t.rank { limit = 12; now = instant(NOW) }.ids
        }
    }

    @Test
    fun aRepeatIsOfferedOnlyWhereItemsAreBoughtAgain(): Unit = runBlocking {
        val bought = listOf("books-0", "books-1", "books-2")
        val unknown = pageForABuyer("unknown", null)
        assertTrue(unknown[0] in bought, "without repeat rates the model's own page: $unknown")
        assertEquals(unknown, pageForABuyer("staples", 0.5), "staples keep it")
        val oneOffs = pageForABuyer("one-offs", 0.0)
        assertEquals(listOf("books-3", "toys-3"), oneOffs.take(2), "$oneOffs")
        assertEquals(bought, oneOffs.drop(9).sorted(), "the shopper's purchases go last: $oneOffs")
    }
}
