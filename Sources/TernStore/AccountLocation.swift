// Where an account's store lives: `<data_dir>/accounts/<address>`, with every byte outside [a-z0-9.@_+-]
// percent-encoded, so no address (dot-atoms may contain '/') can name a path outside that folder.

public enum AccountLocation {
    public static func root(dataDirectory: String, account: String) -> String {
        var folder = ""
        for byte in account.lowercased().utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "@"), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                folder.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: ".") where !folder.isEmpty:
                folder.append(".")
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                folder += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return dataDirectory + "/accounts/" + folder
    }
}
