// swift-tools-version:6.0
// A command-line app that uses Tailor the way an app would: the packaged SDK
// (bindings/swift/package.sh -> bindings/swift/build/dist/Tailor) as a dependency, a plain
// `swift build`, no linker flags.
import PackageDescription

let package = Package(
    name: "TailorSample",
    platforms: [.macOS(.v12)],
    dependencies: [.package(path: "../../swift/build/dist/Tailor")],
    targets: [
        .executableTarget(name: "TailorSample", dependencies: [.product(name: "Tailor", package: "Tailor")]),
    ]
)
