/*
 * package.json scripts are shell commands. They are split into the commands they run, never run:
 * enough to see that `"dev": "cross-env PORT=3001 next dev -p 3001"` starts `next dev` with port 3001.
 */

/** ScriptCommand is one command a script runs: its program, arguments, and the variables set before it. */
export interface ScriptCommand {
  script: string
  binary: string
  args: string[]
  env: Record<string, string>
}

/** DEV_SUBCOMMANDS maps a program to the sub-commands that start its dev server ('' for the bare program). */
export const DEV_SUBCOMMANDS: Record<string, string[]> = {
  vite: ['', 'dev', 'serve'],
  next: ['dev'],
  nuxt: ['dev'],
  nuxi: ['dev'],
  ng: ['serve', 's'],
  astro: ['dev'],
  expo: ['start'],
  'react-scripts': ['start'],
  craco: ['start'],
  remix: ['dev', 'vite:dev'],
  'react-router': ['dev'],
  vinxi: ['dev'],
  ionic: ['serve'],
  flutter: ['run'],
  'vue-cli-service': ['serve'],
  'react-native': ['start'],
  'webpack-dev-server': [''],
  webpack: ['serve']
}

/** Programs that run the command written after them, with or without options of their own. */
const WRAPPERS = new Set(['npx', 'bunx', 'pnpx', 'cross-env', 'env', 'dotenv', 'env-cmd', 'nodemon', 'exec', 'time'])
const RUNNERS_WITH_EXEC = new Set(['pnpm', 'yarn', 'npm', 'bun'])

/** scriptCommands splits every script into the commands it runs. */
export function scriptCommands (scripts: Record<string, string>): ScriptCommand[] {
  const out: ScriptCommand[] = []
  for (const [script, line] of Object.entries(scripts)) {
    for (const segment of splitCommands(line)) collect(script, tokenize(segment), out, 0)
  }
  return out
}

/** devCommands keeps the commands that start a dev server, e.g. `vite`, `next dev`, `ng serve`. */
export function devCommands (commands: ScriptCommand[]): ScriptCommand[] {
  return commands.filter((c) => {
    const allowed = DEV_SUBCOMMANDS[c.binary]
    if (allowed === undefined) return false
    const sub = c.args.find((a) => !a.startsWith('-')) ?? ''
    return allowed.includes(sub) || (allowed.includes('') && c.args[0]?.startsWith('-') === true)
  })
}

/** runsProgram tells whether any script runs the program, however it is invoked. */
export function runsProgram (commands: ScriptCommand[], binary: string): boolean {
  return commands.some((c) => c.binary === binary)
}

/** flagValue reads `--name value`, `--name=value`, `-n value` or `-n=value` from a command's arguments. */
export function flagValue (args: string[], names: string[]): string | null {
  return flag(args, names)?.value ?? null
}

/** flag is like flagValue, and also says which of the names was written. */
export function flag (args: string[], names: string[]): { name: string, value: string } | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    for (const name of names) {
      // `vite --host --port 3002`: a bare flag followed by another option has no value of its own.
      if (arg === name && i + 1 < args.length && !(args[i + 1] ?? '').startsWith('-')) return { name, value: args[i + 1] ?? '' }
      if (arg.startsWith(`${name}=`)) return { name, value: arg.slice(name.length + 1) }
    }
  }
  return null
}

function collect (script: string, tokens: string[], out: ScriptCommand[], nesting: number): void {
  const env: Record<string, string> = {}
  let i = 0
  for (;;) {
    while (i < tokens.length && /^[A-Za-z_]\w*=/.test(tokens[i] ?? '')) {
      const token = tokens[i] ?? ''
      env[token.slice(0, token.indexOf('='))] = token.slice(token.indexOf('=') + 1)
      i++
    }
    const word = basename(tokens[i] ?? '')
    if (WRAPPERS.has(word)) {
      i++
      // Options of the wrapper itself (`npx -y`, `dotenv -e .env --`) come before the command.
      while (i < tokens.length && (tokens[i] ?? '').startsWith('-')) i++
      continue
    }
    if (RUNNERS_WITH_EXEC.has(word) && ['exec', 'dlx', 'x'].includes(tokens[i + 1] ?? '')) {
      i += 2
      continue
    }
    break
  }
  const binary = basename(tokens[i] ?? '')
  if (binary === '') return
  const args = tokens.slice(i + 1)
  out.push({ script, binary, args, env })
  // `concurrently "vite" "node server.js"` runs each quoted argument as a command of its own.
  if (binary === 'concurrently' && nesting === 0) {
    for (const arg of args) {
      if (arg.startsWith('-')) continue
      for (const segment of splitCommands(arg)) collect(script, tokenize(segment), out, nesting + 1)
    }
  }
}

function basename (word: string): string {
  return word.slice(word.lastIndexOf('/') + 1)
}

/** splitCommands cuts a shell line at `&&`, `||`, `;`, `|` and `&`, outside quotes. */
function splitCommands (line: string): string[] {
  const parts: string[] = []
  let current = ''
  let quote: string | null = null
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? ''
    if (quote !== null) {
      if (ch === quote) quote = null
      current += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
      current += ch
    } else if (ch === ';' || ch === '|' || ch === '&') {
      if (line[i + 1] === ch) i++
      parts.push(current)
      current = ''
    } else {
      current += ch
    }
  }
  parts.push(current)
  return parts.map((p) => p.trim()).filter((p) => p !== '')
}

/** tokenize splits one command into words, removing the quotes around quoted words. */
function tokenize (command: string): string[] {
  const words: string[] = []
  for (const match of command.matchAll(/"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g)) {
    words.push(match[1]?.replace(/\\(.)/g, '$1') ?? match[2] ?? match[3] ?? '')
  }
  return words
}
