// The sender on its own, for the bundle (npm run dist: heartbeat-mesh-sender.mjs, and the
// heartbeat-mesh-sender command of the .deb): `heartbeat-mesh-sender [flags]` takes the flags of
// `heartbeat-mesh sender`, with the same usage errors, variables and logs, and nothing else.
import * as Command from "effect/cli/Command"
import { LogFormatSetting, LogLevelSetting } from "./flagHelp.ts"
import { runCli } from "./runCli.ts"
import { senderCommand } from "./senderCommand.ts"

runCli(Command.withGlobalFlags(senderCommand, [LogLevelSetting, LogFormatSetting]))
