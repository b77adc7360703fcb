// The rank page received as one packed buffer (`Tailor.rankPacked`, layout in
// core/src/rank/packed.rs) and read here in one pass over its bytes into the same generated
// `RankResponse` that `Tailor.rank` lifts field by field through uniffi's generic reader. The
// Swift layer needs it (its generated reader is slow); on the JVM both readers take ~2 µs for a
// page of 20 and JNA's fixed cost per call dominates, so TailorClient.rank keeps the generated
// call. This reader keeps the format checked from Kotlin too (RankPageTest).
package dev.tailor

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * `rank(request)`, the same [RankResponse], received through the packed page. On the JVM it costs
 * what `rank(request)` costs (both read a page of 20 in ~2 µs); Swift's `rankPage` is the one that
 * saves time. Blocks like `rank(request)`.
 */
fun Tailor.rankPage(request: RankRequest): RankResponse = RankPage.read(rankPacked(request))

/** Reads the little-endian layout of core/src/rank/packed.rs. */
object RankPage {
    /** The format version this reader knows (`packed::VERSION`). */
    const val VERSION: Int = 1

    /**
     * Reads a page [Tailor.rankPacked] returned. Another format version or a damaged buffer throws
     * [TailorException.InvalidInput].
     */
    fun read(packed: ByteArray): RankResponse {
        val buf = ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN)
        return try {
            Reader(packed, buf).response().also {
                if (buf.hasRemaining()) throw damaged("trailing bytes")
            }
        } catch (e: java.nio.BufferUnderflowException) {
            throw damaged("cut short")
        } catch (e: IndexOutOfBoundsException) {
            throw damaged("cut short")
        }
    }

    private fun damaged(what: String) = TailorException.InvalidInput("packed rank page: $what")

    private class Reader(val bytes: ByteArray, val buf: ByteBuffer) {
        fun u8(): Int = buf.get().toInt() and 0xff

        /** A length or count: u32 on the wire, far below 2^31 in a rank page. */
        fun count(): Int = buf.int.also { if (it < 0 || it > buf.remaining()) throw damaged("cut short") }

        fun string(): String {
            val n = count()
            val at = buf.position()
            buf.position(at + n)
            return String(bytes, at, n, Charsets.UTF_8)
        }

        fun optionalString(): String? = if (u8() == 0) null else string()

        fun attribute(): Attribute {
            val kind = when (val k = u8()) {
                1 -> AttributeKind.CATEGORY
                2 -> AttributeKind.BRAND
                3 -> AttributeKind.TAG
                4 -> AttributeKind.ITEM
                else -> throw damaged("attribute kind $k")
            }
            return Attribute(kind, string())
        }

        fun reason(): Reason = when (val tag = u8()) {
            1 -> Reason.SimilarTo(string(), string())
            2 -> Reason.BoughtBefore(buf.long)
            3 -> Reason.LeftInCart
            4 -> Reason.ViewedRecently
            5 -> Reason.Likes(attribute())
            6 -> Reason.SessionIntent(attribute())
            7 -> Reason.ChosenPreference(attribute())
            8 -> Reason.PopularNow
            9 -> Reason.Pinned
            10 -> Reason.Boosted(attribute())
            11 -> Reason.Exploration
            12 -> Reason.GoesWith(string(), string())
            13 -> Reason.LooksLike(string(), string())
            14 -> Reason.TrendingInCategory(string())
            else -> throw damaged("reason tag $tag")
        }

        fun fallback(): Fallback? = when (val tag = u8()) {
            0 -> null
            1 -> Fallback.ColdStart
            2 -> Fallback.OptedOut
            3 -> Fallback.ModelFailed(string())
            4 -> Fallback.DeadlineExceeded(buf.int.toUInt(), buf.int.toUInt())
            else -> throw damaged("fallback tag $tag")
        }

        fun response(): RankResponse {
            val version = u8()
            if (version != VERSION) throw damaged("version $version, this SDK reads $VERSION")
            val items = List(count()) {
                val itemId = string()
                val score = buf.double
                RankedItem(itemId, score, List(u8()) { reason() })
            }
            val unknownIds = List(count()) { string() }
            return RankResponse(
                items = items, unknownIds = unknownIds, personalized = u8() != 0, fallback = fallback(),
                modelName = string(), modelVersion = string(), tookMicros = buf.long,
                variant = optionalString(), experiment = optionalString(), surface = optionalString(),
                responseId = string(),
            )
        }
    }
}
