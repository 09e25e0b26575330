import Testing
@testable import TernIMAPCore
