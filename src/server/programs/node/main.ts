/**
 * `npm run node`: a server node (see `server-node.ts`), or with `console <command>` a line to a running one
 * (`console.ts`). SIGTERM or SIGINT drains the node and exits 0; a second signal exits at once (1).
 */
import '../../lib/node-shims.ts'
import { readFile } from 'node:fs/promises'
import { BaseError } from '../../../core/errors/base.ts'
import { sendConsoleCommand } from './console.ts'
import { NODE_USAGE, parseNodeCommand, type NodeCommand } from './options.ts'
import { startServerNode, stateFiles, type ServerNode } from './server-node.ts'

async function main(): Promise<void> {
  let command: NodeCommand
  try {
    command = parseNodeCommand(process.argv.slice(2))
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
  if (command.kind === 'help') {
    console.log(NODE_USAGE)
    process.exit(0)
  }
  if (command.kind === 'console') {
    const files = stateFiles(command.stateDir)
    try {
      const token = (await readFile(files.opsToken, 'utf8').catch(() => '')).trim()
      const result = await sendConsoleCommand(files.consoleSocket, token, command.command)
      console.log(JSON.stringify(result, null, 2))
      process.exit(0)
    } catch (error) {
      console.error(error instanceof BaseError ? error.message : `The console failed: ${(error as Error).message}`)
      process.exit(1)
    }
  }
  let node: ServerNode | undefined
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1 || !node) {
      console.error(`${signal} again: exiting without finishing the drain.`)
      process.exit(1)
    }
    console.log(`${signal}: draining.`)
    node.drain().catch((error: unknown) => {
      console.error(`The drain failed: ${(error as Error).message}`)
      process.exit(1)
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  try {
    node = await startServerNode(command, (line) => console.log(line))
  } catch (error) {
    console.error(
      `The server node did not start: ${error instanceof BaseError ? error.message : (error as Error).message}`,
    )
    process.exit(1)
  }
  const files = stateFiles(command.stateDir)
  console.log(`Serving ${node.model.id} as ${node.peerId} (operator ${node.operator}).`)
  console.log(`Operations: ${node.opsUrl}/metrics and ${node.opsUrl}/graphql (bearer token in ${files.opsToken}).`)
  console.log(`Console: npm run node -- console status|drain|redeem|withdraw|anchor --state-dir ${command.stateDir}`)
  // A drain from a signal or from the console ends the process once it is done.
  const running = node
  running.drained.then(
    async () => {
      await running.closeConsole()
      process.exit(0)
    },
    () => process.exit(1),
  )
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
