// Where each folder of the old server goes in Tern. Pure: the old server's LIST (names decoded to Unicode), its
// personal namespace prefix, and the special-use folders the account has here, in; one plan per folder out.
//
// Rules, in order:
// 1. INBOX (any case) is INBOX. The personal namespace prefix (Courier/Cyrus "INBOX.") is dropped from the others.
// 2. Names are split at the old delimiter and joined with Tern's "/". A "/" inside a component (possible where the
//    old delimiter is ".") becomes "_", and the plan says so.
// 3. Special-use folders map onto ours: by RFC 6154 attribute first, else by a common name at the top level
//    ("Sent Items", "Deleted Items", "Junk E-mail" …). One old folder per use; a second candidate keeps its name.
//    Children follow their parent ("Deleted Items/2019" → "Trash/2019").
// 4. Virtual folders (`\All`, `\Flagged`: Gmail's "All Mail" and "Starred") are skipped: their messages are copied
//    from the folders that hold them. `\Noselect` folders become plain folders here (they hold the hierarchy).
// 5. Two old folders ending up with one name: the later one gets " (2)", " (3)" …

public struct OldFolder: Sendable, Equatable {
    /// The full name, decoded (modified UTF-7 or UTF-8) to Unicode.
    public var name: String
    public var delimiter: Character?
    /// As the server sent them (`\HasNoChildren`, `\Sent`, `\Noselect`).
    public var attributes: [String]
    public var subscribed: Bool

    public init(name: String, delimiter: Character?, attributes: [String], subscribed: Bool) {
        self.name = name
        self.delimiter = delimiter
        self.attributes = attributes
        self.subscribed = subscribed
    }

    func has(_ attribute: String) -> Bool { attributes.contains { $0.lowercased() == attribute.lowercased() } }
    var selectable: Bool { !has("\\Noselect") && !has("\\NonExistent") }
}

public struct FolderPlan: Sendable, Equatable {
    public var old: OldFolder
    /// The mailbox here; nil if the folder is skipped.
    public var target: String?
    /// The RFC 6154 use the target has (or gets if it must be created).
    public var specialUse: String?
    /// Why the folder is skipped or renamed, for the summary.
    public var note: String?
}

public enum FolderMapping {
    /// The uses Tern's standard folders have, and the names other servers give them.
    static let commonNames: [(use: String, names: [String])] = [
        ("\\Sent", ["Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent-Mail", "Gesendet", "Gesendete Objekte", "Gesendete Elemente", "Envoyés", "Éléments envoyés", "Enviados", "Inviati"]),
        ("\\Drafts", ["Drafts", "Draft", "Entwürfe", "Brouillons", "Borradores", "Bozze"]),
        ("\\Trash", ["Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin", "Papierkorb", "Gelöschte Elemente", "Gelöschte Objekte", "Corbeille", "Éléments supprimés", "Papelera", "Cestino"]),
        ("\\Junk", ["Junk", "Spam", "Junk E-mail", "Junk Email", "Junk Mail", "Bulk Mail", "Junk-E-Mail", "Courrier indésirable"]),
        ("\\Archive", ["Archive", "Archives", "Archiv"]),
    ]

    static let virtualUses = ["\\All", "\\Flagged"]

    /// - Parameters:
    ///   - personalPrefix: the NAMESPACE personal prefix, decoded ("" or "INBOX.").
    ///   - specialFolders: the account's folders here by use (`"\\Sent": "Sent"`); uses missing here get the
    ///     standard name (`AccountStore.standardMailboxes`) and are created with the use.
    public static func plan(_ folders: [OldFolder], personalPrefix: String,
                            specialFolders: [String: String], standardNames: [String: String]) -> [FolderPlan] {
        // 1-2: components of each name.
        var components: [[String]] = []
        var notes: [String?] = []
        for folder in folders {
            var note: String?
            if folder.name.uppercased() == "INBOX" {
                components.append(["INBOX"])
                notes.append(nil)
                continue
            }
            var name = folder.name
            if !personalPrefix.isEmpty, name.count > personalPrefix.count,
               name.lowercased().hasPrefix(personalPrefix.lowercased()) {
                name = String(name.dropFirst(personalPrefix.count))
            }
            var parts = folder.delimiter.map { d in name.split(separator: d, omittingEmptySubsequences: false).map(String.init) } ?? [name]
            if parts.contains(where: { $0.contains("/") || $0.isEmpty }) {
                parts = parts.map { $0.isEmpty ? "_" : $0.replacingSlashes }
                note = "renamed: \"/\" cannot be part of a folder name here"
            }
            components.append(parts)
            notes.append(note)
        }

        // 3: which old folder takes each special use.
        var useOf: [Int: String] = [:]
        for (use, names) in commonNames {
            let byAttribute = folders.indices.first { folders[$0].has(use) && useOf[$0] == nil && components[$0] != ["INBOX"] }
            let byName = byAttribute ?? names.lazy.compactMap { candidate in
                folders.indices.first { i in
                    components[i].count == 1 && components[i][0].lowercased() == candidate.lowercased() && useOf[i] == nil
                        && !virtualUses.contains(where: { folders[i].has($0) }) && components[i] != ["INBOX"]
                        && !commonNames.contains { $0.use != use && folders[i].has($0.use) }
                }
            }.first
            if let index = byName { useOf[index] = use }
        }

        // Prefix replacements: the special folder's components → the name here.
        var replacements: [([String], String, String)] = [] // (old components, new name, use)
        for (index, use) in useOf {
            let here = specialFolders[use] ?? standardNames[use] ?? components[index].joined(separator: "/")
            replacements.append((components[index], here, use))
        }
        replacements.sort { $0.0.count > $1.0.count }

        // 4-5. Targets first, then collisions: the special folders (and INBOX) keep their names; others give way.
        var targets: [String?] = []
        var uses: [String?] = []
        for (index, folder) in folders.enumerated() {
            if virtualUses.contains(where: { folder.has($0) }) {
                targets.append(nil)
                uses.append(nil)
                continue
            }
            var parts = components[index]
            var specialUse: String?
            if let (old, here, use) = replacements.first(where: { parts.starts(with: $0.0) }) {
                if parts.count == old.count { specialUse = use }
                parts = here.split(separator: "/").map(String.init) + parts.dropFirst(old.count)
            }
            targets.append(parts.joined(separator: "/"))
            uses.append(specialUse)
        }
        var taken: Set<String> = []
        let first = folders.indices.filter { uses[$0] != nil || targets[$0] == "INBOX" }
        let rest = folders.indices.filter { !(uses[$0] != nil || targets[$0] == "INBOX") }
        for index in first + rest {
            guard var target = targets[index] else { continue }
            if taken.contains(target) {
                var n = 2
                while taken.contains("\(target) (\(n))") { n += 1 }
                target = "\(target) (\(n))"
                notes[index] = "renamed: another folder already has its name here"
            }
            taken.insert(target)
            targets[index] = target
        }
        var plans: [FolderPlan] = []
        for (index, folder) in folders.enumerated() {
            if let virtual = virtualUses.first(where: { folder.has($0) }) {
                plans.append(FolderPlan(old: folder, target: nil, specialUse: nil,
                                        note: "skipped: a virtual \(virtual) folder (its messages are copied from their own folders)"))
            } else {
                plans.append(FolderPlan(old: folder, target: targets[index], specialUse: uses[index], note: notes[index]))
            }
        }
        return plans
    }
}

extension String {
    var replacingSlashes: String { String(map { $0 == "/" ? "_" : $0 }) }
}
