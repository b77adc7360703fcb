#!/usr/bin/env bash
# Kotlin SDK on the JVM, against the real library (target/debug/libtailor.so, loaded by JNA):
# builds the cdylib and uniffi-bindgen, generates the bindings into build/generated/uniffi,
# compiles them once into a jar (cached by content), compiles the hand-written layer with the
# JUnit 5 tests, checks the README snippets against their tests, runs every test, then packages the
# JVM artifact (package-jvm.sh) and builds and runs the sample app against it.
#
# Usage: bindings/kotlin/test.sh [test|bench [ITERATIONS]]
#   test   (default) unit, scenario and concurrency tests; fails if any fails or none are found
#   bench  the FFI cost benchmark (FfiBench.kt): rank(1,000 candidates) through the bindings
#   TAILOR_LIB_PROFILE=release|mobile  load that build of the library (scripts/build-lib.sh) instead
#          of the debug one; the bindings are still generated from the debug build
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mode="${1:-test}"
tools="${TAILOR_TOOLS:-$HOME/.cache/tailor-tools}"

"$repo/scripts/setup-toolchains.sh" kotlin
# shellcheck source=/dev/null
. "$tools/kotlin.env"

lib_dir="$repo/target/debug"
lib_profile="${TAILOR_LIB_PROFILE:-dev}"
gen="$here/build/generated/uniffi"
jvm="$here/build/jvm"
kotlin_lib="$KOTLIN_HOME/lib"
runtime_cp="$JNA_JAR:$COROUTINES_JAR:$kotlin_lib/kotlin-stdlib.jar"

echo "== Kotlin: cargo build -p tailor-ffi -p uniffi-bindgen (debug)"
(cd "$repo" && cargo build --quiet -p tailor-ffi -p uniffi-bindgen)
if [[ $lib_profile != dev ]]; then
  echo "== Kotlin: libtailor.so with profile $lib_profile"
  lib_dir="$(dirname "$("$repo/scripts/build-lib.sh" "$lib_profile")")"
fi

echo "== Kotlin: generating bindings into ${gen#"$repo"/}"
"$repo/bindings/generate.sh" kotlin "$gen"
generated="$gen/dev/tailor/tailor.kt"

# kotlinc needs ~15 s for the generated file, so its jar is reused while the file is unchanged.
mkdir -p "$jvm"
key="$( (cat "$generated"; "$KOTLINC" -version 2>&1) | sha256sum | cut -c1-16)"
bindings_jar="$jvm/tailor-bindings-$key.jar"
if [[ -f $bindings_jar ]]; then
  echo "== Kotlin: bindings unchanged, reusing ${bindings_jar#"$repo"/}"
else
  echo "== Kotlin: compiling the generated bindings"
  rm -f "$jvm"/tailor-bindings-*.jar
  "$KOTLINC" -nowarn -cp "$JNA_JAR" "$generated" -d "$bindings_jar.tmp.jar"
  mv "$bindings_jar.tmp.jar" "$bindings_jar"
fi

echo "== Kotlin: compiling src/main (TailorClient) and src/test"
classes="$jvm/test-classes"
rm -rf "$classes"
test_cp="$bindings_jar:$runtime_cp:$JUNIT_JAR:$kotlin_lib/kotlin-test.jar:$kotlin_lib/kotlin-test-junit5.jar"
"$KOTLINC" -Werror -cp "$test_cp" "$here/src/main/kotlin" "$here/src/test/kotlin" -d "$classes"

java_props=(-Djna.library.path="$lib_dir" -Dtailor.repo="$repo")
case "$mode" in
  test)
    for readme in "$repo/README.md" "$repo/bindings/README.md"; do
      "$repo/bindings/check-snippet.sh" "$readme" kotlin-quickstart \
        "$here/src/test/kotlin/dev/tailor/QuickStartTest.kt"
    done
    "$repo/bindings/check-snippet.sh" "$repo/bindings/README.md" kotlin-learning \
      "$here/src/test/kotlin/dev/tailor/LearningReadmeTest.kt"
    # The API references are generated from the hand-written layers; fail when they are stale.
    python3 "$repo/bindings/docs/reference.py" --check
    echo "== Kotlin: JUnit 5"
    java "${java_props[@]}" -jar "$JUNIT_JAR" --disable-banner --disable-ansi-colors --details=tree \
      --class-path "$classes:$test_cp" --scan-classpath "$classes" --fail-if-no-tests
    # The artifact an app depends on, and a sample app built against it alone.
    "$here/package-jvm.sh"
    "$repo/bindings/samples/kotlin-jvm/run.sh"
    ;;
  bench)
    echo "== Kotlin: FFI benchmark"
    java "${java_props[@]}" -cp "$classes:$test_cp" dev.tailor.FfiBench "${2:-200}"
    ;;
  *)
    echo "usage: $0 [test|bench [ITERATIONS]]" >&2
    exit 2
    ;;
esac
