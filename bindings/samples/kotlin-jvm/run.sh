#!/usr/bin/env bash
# Builds and runs the Kotlin sample against the JVM artifact (bindings/kotlin/package-jvm.sh) the way
# an app's build would: the jar from the Maven-layout repository, plus the dependencies its pom
# declares, taken from this machine (Maven Central is not reachable here; a Gradle build resolves
# them itself). No -Djna.library.path: JNA loads libtailor from the jar.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
tools="${TAILOR_TOOLS:-$HOME/.cache/tailor-tools}"
# shellcheck source=/dev/null
. "$tools/kotlin.env"
maven="$repo/bindings/kotlin/build/maven"
pom="$(ls "$maven"/dev/tailor/tailor-jvm/*/tailor-jvm-*.pom)"
jar="${pom%.pom}.jar"

# The pom's artifactIds, mapped to the local copies of those libraries.
deps=()
for artifact in $(sed -n 's|.*<artifactId>\(.*\)</artifactId>.*|\1|p' "$pom" | tail -n +2); do
  case "$artifact" in
    jna) deps+=("$JNA_JAR") ;;
    kotlinx-coroutines-core-jvm) deps+=("$COROUTINES_JAR") ;;
    kotlin-stdlib) deps+=("$KOTLIN_HOME/lib/kotlin-stdlib.jar") ;;
    *) echo "run.sh: no local copy of $artifact" >&2; exit 1 ;;
  esac
done
cp_deps="$(IFS=:; echo "${deps[*]}")"

build="$here/build"
rm -rf "$build"
echo "== Kotlin sample: compile against ${jar#"$repo"/}"
"$KOTLINC" -Werror -cp "$jar:$cp_deps" "$here/src/main/kotlin" -d "$build/classes"
echo "== Kotlin sample: run"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
java -cp "$build/classes:$jar:$cp_deps" MainKt "$work" \
  "$repo/cli/data/catalog.csv.gz" "$repo/cli/data/events.csv.gz" | tee "$build/output.txt"
grep -q "^sample ok$" "$build/output.txt"
