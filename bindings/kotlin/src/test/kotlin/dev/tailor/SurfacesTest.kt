package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** Product page, cart, search and bundles through the Kotlin layer; mirrors core/tests/it/surfaces.rs. */
class SurfacesTest {
    @TempDir
    lateinit var tmp: Path

    private fun related(vararg pairs: Pair<String, Double>) = pairs.map { RelatedItem(it.first, it.second) }

    private suspend fun shop(name: String): TailorClient {
        val t = openWithLearningCatalog(tmp, name)
        t.upsertItems(
            Item(id = "tent", title = "Dome Tent", category = "camping", brand = "acme", price = 120.0, popularity = 5.0,
                related = related("pegs" to 1.0, "mat" to 0.6, "books-3" to 0.1)),
            Item(id = "tent2", title = "Tunnel Tent", category = "camping", brand = "zeta", price = 150.0, popularity = 4.0),
            Item(id = "pegs", title = "Tent Pegs", category = "hardware", price = 8.0, popularity = 3.0, margin = 0.4,
                related = related("tent" to 1.0)),
            Item(id = "mat", title = "Sleeping Mat", category = "camping", price = 25.0, popularity = 2.0, margin = 0.1,
                related = related("tent" to 1.0)),
        )
        return t
    }

    @Test
    fun productPageAndCart(): Unit = runBlocking {
        shop("page").use { t ->
            val page = t.goesWith("tent", limit = 4, now = instant(NOW))
            assertEquals(listOf("pegs", "mat"), page.ids.take(2))
            assertFalse("tent" in page.ids, "the viewed item is left out")
            assertEquals(Reason.GoesWith("tent", "Dome Tent"), page.items[0].reasons[0])
            assertEquals("tent2", t.similar("tent", limit = 3, now = instant(NOW)).ids[0])
            assertEquals("tent", t.completeCart(listOf("pegs", "mat"), limit = 3, now = instant(NOW)).ids[0])
            val trending = t.rank { kind = SurfaceKind.TRENDING; limit = 2; now = instant(NOW) }
            assertEquals(Reason.TrendingInCategory("shoes"), trending.items[0].reasons[0])
        }
    }

    @Test
    fun searchKeepsTheAppsOrderForANewShopper(): Unit = runBlocking {
        shop("search").use { t ->
            val results = listOf("toys-3", "books-3", "shoes-3", "books-2")
            val page = t.rerankSearch(results, listOf(0.9, 0.5, 0.4, 0.1), now = instant(NOW))
            assertFalse(page.personalized)
            assertEquals(results, page.ids)
            for (k in 0..2) t.track(Event.purchase("books-$k", at = instant(NOW - DAY)))
            val mine = t.rerankSearch(results, listOf(0.9, 0.85, 0.4, 0.1), now = instant(NOW))
            assertTrue(mine.personalized)
            assertTrue(mine.ids.indexOf("books-3") < mine.ids.indexOf("toys-3"), "${mine.ids}")
        }
    }

    @Test
    fun bundlesAndTheirConstraints(): Unit = runBlocking {
        shop("bundle").use { t ->
            val b = t.bundle("tent", size = 3, now = instant(NOW))
            assertEquals(listOf("pegs", "mat", "books-3"), b.ids)
            assertEquals(8.0 + 25.0 + 17.0, b.totalPrice, 1e-9)
            assertEquals(b, t.bundle("tent", size = 3, now = instant(NOW)), "the same state, the same bundle")
            assertEquals(listOf("pegs", "mat"), t.bundle("tent", maxTotalPrice = 35.0, now = instant(NOW)).ids)
            val e = assertFailsWith<TailorException.InvalidInput> { t.bundle("tent", minMargin = 0.5, now = instant(NOW)) }
            assertTrue("lower min_margin" in e.message.orEmpty(), e.message)
            assertFailsWith<TailorException.InvalidInput> { t.bundle("tent", size = 6) }
            assertFailsWith<TailorException.NotFound> { t.bundle("nope") }
        }
    }

    @Test
    fun badSurfaceRequestsAreTypedErrors(): Unit = runBlocking {
        shop("errors").use { t ->
            assertFailsWith<TailorException.InvalidInput> { t.rank { kind = SurfaceKind.COMPLETE_CART } }
            assertFailsWith<TailorException.NotFound> { t.goesWith("nope") }
            assertFailsWith<TailorException.InvalidInput> { t.rerankSearch(listOf("toys-1", "toys-2"), listOf(1.0, Double.NaN)) }
        }
    }
}
