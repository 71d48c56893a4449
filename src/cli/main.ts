// `heartbeat-mesh`: every command. Each command loads its own code (receiver, sender) lazily.
import * as Command from "effect/cli/Command"
import { checkConfigCommand } from "./checkConfigCommand.ts"
import { LogFormatSetting, LogLevelSetting } from "./flagHelp.ts"
import { notifyTestCommand } from "./notifyTestCommand.ts"
import { keygenCommand } from "./keygenCommand.ts"
import { passwdCommand } from "./passwdCommand.ts"
import { receiverCommand } from "./receiverCommand.ts"
import { runCli } from "./runCli.ts"
import { senderCommand } from "./senderCommand.ts"
import { statusCommand } from "./statusCommand.ts"

const commands = Command.make("heartbeat-mesh").pipe(
  Command.withDescription("Heartbeat monitoring: a receiver daemon and a cron sender"),
  Command.withSubcommands([receiverCommand, senderCommand, checkConfigCommand, statusCommand, notifyTestCommand, keygenCommand, passwdCommand])
)

runCli(Command.withGlobalFlags(commands, [LogLevelSetting, LogFormatSetting]))
