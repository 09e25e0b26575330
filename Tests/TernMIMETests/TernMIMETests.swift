import Testing
@testable import TernMIME
