// ternd: the Tern mail server daemon. See README.md and etc/tern.toml.
import Glibc
import TernDaemon

let usage = """
    usage: ternd [--config FILE]

    Runs the Tern mail server. Without --config it runs on embedded defaults: data in ./tern-data, loopback
    addresses, unprivileged ports (IMAP 1143/1993, POP3 1110/1995, submission 1587/1465, SMTP 1025), a
    self-signed certificate.
      --config FILE   read settings from FILE (TOML; every key is documented in etc/tern.toml)
      --check         validate the config and exit (status 0 if valid)
      --help          show this help

    """

var configPath: String?
var checkOnly = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--config", "-c":
        guard let path = arguments.popFirst() else {
            DaemonMain.printError("ternd: --config needs a file name\n")
            exit(64)
        }
        configPath = path
    case "--check":
        checkOnly = true
    case "--help", "-h":
        print(usage, terminator: "")
        exit(0)
    default:
        DaemonMain.printError("ternd: unknown argument '\(argument)'\n\(usage)")
        exit(64)
    }
}
if checkOnly {
    do {
        _ = try DaemonMain.loadConfig(configPath)
        print("\(configPath ?? "embedded defaults"): ok")
        exit(0)
    } catch {
        DaemonMain.printError("ternd: \(error)\n")
        exit(78)
    }
}
exit(DaemonMain.run(configPath: configPath))
