// The Tailor Kotlin SDK as an Android library (AAR):
// - build/generated/uniffi: the uniffi-generated bindings (package dev.tailor), made by build-android.sh
// - src/main/kotlin: the hand-written layer (TailorClient, event/attribute constructors, RankRequest DSL)
// - build/rust/jniLibs: libtailor.so for arm64-v8a, armeabi-v7a and x86_64, made by build-android.sh
//   (cargo-ndk, 16 KB page aligned)
// Build with ./build-android.sh; it runs cargo-ndk and uniffi-bindgen, then `assembleRelease`.
// The unit tests (src/test, JUnit 5) run on the development machine's JVM against the host build of
// the library (../../target/debug); bindings/kotlin/test.sh runs the same tests without Gradle.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
    `maven-publish`
}

group = "dev.tailor"
version = providers.gradleProperty("tailorVersion").getOrElse("0.1.0")

val repoRoot: File = rootDir.resolve("../..").canonicalFile

android {
    namespace = "dev.tailor"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    sourceSets {
        getByName("main") {
            java.srcDir("build/generated/uniffi")
            jniLibs.srcDir("build/rust/jniLibs")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    testOptions {
        unitTests.all {
            it.useJUnitPlatform()
            it.systemProperty("jna.library.path", repoRoot.resolve("target/debug").path)
            it.systemProperty("tailor.repo", repoRoot.path)
        }
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // The generated bindings call the library through JNA; the AAR flavour carries libjnidispatch.so
    // for every Android ABI.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")

    // JVM unit tests: the plain JNA jar has the desktop libjnidispatch.
    testImplementation("net.java.dev.jna:jna:5.14.0")
    testImplementation(kotlin("test-junit5"))
    testImplementation("org.junit.jupiter:junit-jupiter:5.10.2")
    testRuntimeOnly("org.junit.platform:junit-platform-launcher")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "dev.tailor"
            artifactId = "tailor"
            afterEvaluate {
                from(components["release"])
            }
        }
    }
}
