// swift-tools-version:6.0
// The Tailor Swift SDK. `Tailor` = the uniffi-generated bindings (Sources/Tailor/Generated, made by
// test.sh or build-xcframework.sh) + the hand-written async layer (Sources/Tailor/*.swift).
//
// The native library comes from one of two places:
// - TailorFFI.xcframework next to this file (made by build-xcframework.sh on macOS): iOS device and
//   simulator builds link the Rust static library from it.
// - otherwise the system-library target Sources/TailorFFI, whose module map links `libtailor`
//   (a cdylib from `cargo build`): Linux and macOS command-line builds. Pass its directory:
//   swift test -Xlinker -L<dir> -Xlinker -rpath -Xlinker <dir>
import PackageDescription
import Foundation

let xcframework = "TailorFFI.xcframework"
let hasXCFramework = FileManager.default.fileExists(atPath: Context.packageDirectory + "/" + xcframework)

let ffi: Target = hasXCFramework
    ? .binaryTarget(name: "TailorFFI", path: xcframework)
    : .systemLibrary(name: "TailorFFI", path: "Sources/TailorFFI")

let package = Package(
    name: "Tailor",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Tailor", targets: ["Tailor"]),
    ],
    targets: [
        ffi,
        .target(name: "Tailor", dependencies: ["TailorFFI"], path: "Sources/Tailor"),
        .executableTarget(name: "TailorBench", dependencies: ["Tailor"], path: "Sources/TailorBench"),
        .testTarget(name: "TailorTests", dependencies: ["Tailor"], path: "Tests/TailorTests"),
    ]
)
