#!/usr/bin/env bash
# The JVM artifact an app depends on: a Maven-layout repository in build/maven with
# dev.tailor:tailor-jvm:<version> — one jar holding the Kotlin API (TailorClient and friends), the
# generated bindings and the host's native library at JNA's resource path (linux-x86-64/libtailor.so,
# which JNA extracts and loads itself: no -Djna.library.path), and a pom declaring JNA,
# kotlinx-coroutines and the Kotlin standard library.
#
# Usage: bindings/kotlin/package-jvm.sh [PROFILE]   (dev by default; release for a real artifact)
# An app (Gradle): repositories { maven(url = "<repo>/bindings/kotlin/build/maven") }
#                  dependencies { implementation("dev.tailor:tailor-jvm:<version>") }
# Expects the bindings generated and compiled as bindings/kotlin/test.sh does (it calls this).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
profile="${1:-dev}"
tools="${TAILOR_TOOLS:-$HOME/.cache/tailor-tools}"
# shellcheck source=/dev/null
. "$tools/kotlin.env"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
lib="$repo/target/debug/libtailor.so"
[[ $profile == dev ]] || lib="$("$repo/scripts/build-lib.sh" "$profile")"
bindings_jar="$(ls "$here"/build/jvm/tailor-bindings-*.jar)"

# JNA's platform prefix for the host (Platform.RESOURCE_PREFIX): linux-x86-64, linux-aarch64.
case "$(uname -m)" in
  x86_64) prefix=linux-x86-64 ;;
  aarch64) prefix=linux-aarch64 ;;
  *) echo "package-jvm.sh: no JNA prefix known for $(uname -m)" >&2; exit 1 ;;
esac

work="$here/build/jvm/package"
rm -rf "$work"
mkdir -p "$work/classes/$prefix"
echo "== Kotlin: packaging dev.tailor:tailor-jvm:$version (library: ${lib#"$repo"/})"
"$KOTLINC" -Werror -cp "$bindings_jar:$JNA_JAR:$COROUTINES_JAR" "$here/src/main/kotlin" -d "$work/classes"
(cd "$work/classes" && unzip -qo "$bindings_jar" -x 'META-INF/*')
cp "$lib" "$work/classes/$prefix/libtailor.so"

out="$here/build/maven/dev/tailor/tailor-jvm/$version"
rm -rf "$here/build/maven"
mkdir -p "$out"
jar --create --file "$out/tailor-jvm-$version.jar" -C "$work/classes" .
kotlin_version="$("$KOTLINC" -version 2>&1 | sed -n 's/.*kotlinc-jvm \([0-9.]*\).*/\1/p')"
coroutines_version="$(basename "$COROUTINES_JAR" .jar | sed -n 's/.*-\([0-9][0-9.]*\)$/\1/p')"
cat > "$out/tailor-jvm-$version.pom" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tailor</groupId>
  <artifactId>tailor-jvm</artifactId>
  <version>$version</version>
  <name>Tailor (JVM, $prefix)</name>
  <description>On-device personalization: the Kotlin API, uniffi bindings and libtailor for $prefix.</description>
  <dependencies>
    <dependency><groupId>net.java.dev.jna</groupId><artifactId>jna</artifactId><version>5.13.0</version></dependency>
    <dependency><groupId>org.jetbrains.kotlinx</groupId><artifactId>kotlinx-coroutines-core-jvm</artifactId><version>${coroutines_version:-1.8.1}</version></dependency>
    <dependency><groupId>org.jetbrains.kotlin</groupId><artifactId>kotlin-stdlib</artifactId><version>${kotlin_version:-2.0.0}</version></dependency>
  </dependencies>
</project>
POM
(cd "$out" && for f in *.jar *.pom; do sha1sum "$f" | cut -d' ' -f1 > "$f.sha1"; done)
cat > "$here/build/maven/dev/tailor/tailor-jvm/maven-metadata-local.xml" <<META
<?xml version="1.0" encoding="UTF-8"?>
<metadata><groupId>dev.tailor</groupId><artifactId>tailor-jvm</artifactId>
  <versioning><release>$version</release><versions><version>$version</version></versions></versioning></metadata>
META
echo "$out/tailor-jvm-$version.jar"
