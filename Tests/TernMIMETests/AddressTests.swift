// RFC 5322 address lists as ENVELOPE needs them, using the RFC's Appendix A examples where they apply.

import Testing
import TernMIME

@Suite struct AddressTests {
    func parse(_ text: String) -> [Address] { Address.parseList(Array(text.utf8)) }

    @Test func rfc5322A12DifferentTypesOfMailboxes() {
        // RFC 5322 §A.1.2.
        #expect(parse("\"Joe Q. Public\" <john.q.public@example.com>")
            == [Address(name: "Joe Q. Public", mailbox: "john.q.public", host: "example.com")])
        #expect(parse("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>") == [
            Address(name: "Mary Smith", mailbox: "mary", host: "x.test"),
            Address(mailbox: "jdoe", host: "example.org"),
            Address(name: "Who?", mailbox: "one", host: "y.test"),
        ])
        #expect(parse("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>") == [
            Address(mailbox: "boss", host: "nil.test"),
            Address(name: "Giant; \"Big\" Box", mailbox: "sysservices", host: "example.net"),
        ])
    }

    @Test func rfc5322A13GroupAddresses() {
        // RFC 5322 §A.1.3: groups become start and end markers (RFC 9051 §7.5.2).
        #expect(parse("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;") == [
            Address(mailbox: "A Group"),
            Address(name: "Ed Jones", mailbox: "c", host: "a.test"),
            Address(mailbox: "joe", host: "where.test"),
            Address(name: "John", mailbox: "jdoe", host: "one.test"),
            Address(),
        ])
        let empty = parse("Undisclosed recipients:;")
        #expect(empty == [Address(mailbox: "Undisclosed recipients"), Address()])
        #expect(empty[0].isGroupStart && empty[1].isGroupEnd)
    }

    @Test func obsoleteRouteAndComments() {
        // RFC 5322 §4.4 obs-route; a comment names a bare addr-spec (Dovecot).
        #expect(parse("<@a.test,@b.test:x@y.test>") == [Address(route: "@a.test,@b.test", mailbox: "x", host: "y.test")])
        #expect(parse("pete(his account)@silly.test(his host)")
            == [Address(name: "his host", mailbox: "pete", host: "silly.test")])
    }

    @Test func missingPiecesAreFilled() {
        #expect(parse("nodomain") == [Address(mailbox: "nodomain", host: "MISSING_DOMAIN")])
        #expect(parse("Just A Name") == [Address(name: "Just A Name", mailbox: "MISSING_MAILBOX", host: "MISSING_DOMAIN")])
        #expect(parse("Name <>") == [Address(name: "Name", mailbox: "MISSING_MAILBOX", host: "MISSING_DOMAIN")])
    }

    @Test func garbageNeverTraps() {
        for text in ["<", ">", "@", ":;", "\"unclosed", "(unclosed", "a@", "@b", ",,,", "<<a@b>>", "x:y:z;;", "[", "a\\"] {
            _ = parse(text)
        }
        #expect(parse("").isEmpty)
        #expect(parse(" , ").isEmpty)
    }

    @Test func displayNameDecodesEncodedWords() {
        let address = parse("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>")[0]
        #expect(address.name == "=?ISO-8859-1?Q?Andr=E9?= Pirard")
        #expect(address.displayName == "André Pirard")
        #expect(address.addressSpec == "PIRARD@vm1.ulg.ac.be")
    }
}
