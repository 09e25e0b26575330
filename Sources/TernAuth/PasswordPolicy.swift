// The password policy, enforced on every password set (ternctl, forced change): at least 8 characters, one digit
// and one lower-case letter by default; the numbers come from config.

public struct PasswordPolicy: Sendable, Equatable {
    public var minimumLength: Int
    public var minimumDigits: Int
    public var minimumLowercase: Int
    /// An upper bound keeps hashing cost bounded; no real password is longer.
    public static let maximumLength = 1024

    public init(minimumLength: Int = 8, minimumDigits: Int = 1, minimumLowercase: Int = 1) {
        self.minimumLength = minimumLength
        self.minimumDigits = minimumDigits
        self.minimumLowercase = minimumLowercase
    }

    public enum Violation: Error, Equatable, CustomStringConvertible {
        case tooShort(minimum: Int)
        case tooLong
        case tooFewDigits(minimum: Int)
        case tooFewLowercase(minimum: Int)
        case controlCharacter

        public var description: String {
            switch self {
            case .tooShort(let minimum): return "the password must have at least \(minimum) characters"
            case .tooLong: return "the password must have at most \(PasswordPolicy.maximumLength) characters"
            case .tooFewDigits(let minimum):
                return minimum == 1 ? "the password must contain a digit" : "the password must contain at least \(minimum) digits"
            case .tooFewLowercase(let minimum):
                return minimum == 1 ? "the password must contain a lower-case letter"
                    : "the password must contain at least \(minimum) lower-case letters"
            case .controlCharacter: return "the password must not contain control characters (such as a line break)"
            }
        }
    }

    /// The first rule `password` breaks, or nil.
    public func violation(of password: String) -> Violation? {
        if password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return .controlCharacter
        }
        if password.count < minimumLength { return .tooShort(minimum: minimumLength) }
        if password.count > Self.maximumLength { return .tooLong }
        if password.filter(\.isNumber).count < minimumDigits { return .tooFewDigits(minimum: minimumDigits) }
        if password.filter(\.isLowercase).count < minimumLowercase { return .tooFewLowercase(minimum: minimumLowercase) }
        return nil
    }
}
