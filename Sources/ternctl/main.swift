// ternctl: the Tern admin CLI. `ternctl --help` lists the commands.
import TernControl

TernCtlMain.run()
