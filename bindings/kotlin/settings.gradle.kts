// Gradle settings for the Tailor Android library (AAR). See build.gradle.kts and build-android.sh.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

// The AAR is build/outputs/aar/tailor-release.aar.
rootProject.name = "tailor"
