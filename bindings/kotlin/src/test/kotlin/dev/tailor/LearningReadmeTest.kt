package dev.tailor

import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The Kotlin "learning, experiments and metrics" example of bindings/README.md. The lines between
 * BEGIN/END are the README snippet, verbatim (bindings/kotlin/test.sh fails when the two differ).
 */
class LearningReadmeTest {
    @Test
    fun readmeLearningExample(@TempDir tmp: Path): Unit = runBlocking {
        val tailor = TailorClient.open(tmp.resolve("tailor").toString())
        tailor.importCatalogCsv(TestSupport.path("cli/data/catalog.csv.gz"))
        tailor.loadModel(TestSupport.path("models/linear-ranker"))
        tailor.loadModel(TestSupport.path("models/mlp-ranker")) // active; linear-ranker kept for rollback
        tailor.track(Event.purchase("85123A"))
        // BEGIN README
        // On every launch, once the models the variants name are loaded:
        val variant = tailor.defineExperiment("ranker") {
            variant("control", weight = 50.0, model = "linear-ranker")
            variant("mlp", weight = 50.0, model = "mlp-ranker")
        }
        val page = tailor.rank { limit = 10; surface = "home"; experiment = "ranker" }
        // ... show the page, then report what was on screen:
        tailor.recordImpressions(Impressions.of(page, surface = "home", experiment = "ranker"))
        tailor.track(Event.click(page.ids[3], surface = "home"))

        val metrics = tailor.metrics()
        val funnel = metrics.funnel(experiment = "ranker", surface = "home")
        println("$variant ${funnel?.impressions} ${funnel?.clicks} ${metrics.engine.rankLatency.p95Micros}")
        tailor.resetMetrics() // once your analytics has them

        tailor.explainProfile().sentences.forEach(::println) // "why am I seeing this"
        // END README
        assertTrue(variant in listOf("control", "mlp"), variant)
        assertEquals(variant, page.variant)
        assertEquals(if (variant == "mlp") "mlp-ranker" else "linear-ranker", page.modelName)
        assertEquals(10L, funnel?.impressions)
        assertEquals(1L, funnel?.clicks)
        assertEquals(variant, funnel?.variant)
        assertTrue(tailor.metrics().funnels.isEmpty())
        assertTrue(tailor.explainProfile().sentences.isNotEmpty())
        tailor.close()
    }
}
