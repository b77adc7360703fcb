// TailorError as Swift code expects it: `LocalizedError` whose `errorDescription` is the plain
// message (uniffi's own conformance returns a debug dump of the enum; uniffi.toml turns it off).
// The case names are lowerCamelCase (bindings/generate.sh renames uniffi's UpperCamelCase ones).
import Foundation

extension TailorError: LocalizedError {
    /// What went wrong and what to do about it, e.g. "price must be a finite number ...".
    public var message: String {
        switch self {
        case let .invalidInput(message), let .notFound(message), let .storage(message), let .closed(message),
             let .interrupted(message):
            return message
        case let .modelRejected(_, message):
            return message
        }
    }

    public var errorDescription: String? { message }
}
