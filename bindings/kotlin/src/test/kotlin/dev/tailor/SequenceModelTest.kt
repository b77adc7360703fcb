package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.io.File
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** Issue 15: a model folder with a sequence model (manifest format 2) ranks by what was bought last. */
class SequenceModelTest {
    @TempDir
    lateinit var tmp: Path

    private val fixture = TestSupport.path("tests/fixtures/sequence-model")

    private fun config() = TailorConfig(directory = tmp.resolve("store").toString(), maxEventAgeDays = 36_500u)

    @Test
    fun theNextItemOfTheShoppersWalkComesFirst(): Unit = runBlocking {
        TailorClient.open(config()).use { t ->
            t.importCatalogCsv("$fixture/catalog.csv")
            assertEquals("fixture-sequence", t.loadModel(fixture).name)
            // The fixture was trained on shoppers who buy p01, p02, ... in order.
            t.track(Event.purchase("p07", at = instant(NOW - 2 * DAY)))
            t.track(Event.purchase("p08", at = instant(NOW - DAY)))
            val page = t.rank { limit = 3; now = instant(NOW) }
            assertTrue(page.personalized, "${page.fallback}")
            assertEquals("p09", page.ids.first())
        }
    }

    @Test
    fun aSequenceModelComesFromItsFolderAndABrokenOneIsRefused(): Unit = runBlocking {
        TailorClient.open(config()).use { t ->
            val bytes = File("$fixture/model.onnx").readBytes()
            val manifest = File("$fixture/manifest.json").readText()
            val fromBytes = assertFailsWith<TailorException.ModelRejected> { t.loadModel(bytes, manifest) }
            assertEquals(ModelProblem.INVALID_MANIFEST, fromBytes.problem)
            assertTrue("load_model" in fromBytes.message, fromBytes.message)

            val broken = tmp.resolve("broken").toFile()
            File(fixture).copyRecursively(broken)
            File(broken, "vocab.txt").appendText("p99\n")
            val refused = assertFailsWith<TailorException.ModelRejected> { t.loadModel(broken.path) }
            assertEquals(ModelProblem.HASH_MISMATCH, refused.problem)
            assertTrue(t.model.builtin, "the built-in model keeps serving")
        }
    }
}
