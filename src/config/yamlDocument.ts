import YAML from "yaml"

/**
 * Most values an alias (`*name`) may stand for in one file, counting every value it repeats. A
 * real configuration repeats a few settings; an "alias bomb" (aliases of aliases) asks for billions.
 */
export const maxAliasedValues = 100_000

export interface YamlParseOptions {
  /**
   * Where the configuration expects text (tokens, names, service, ...): an unquoted scalar there
   * that YAML 1.1 reads as a number or boolean keeps the text as written (`0123` stays "0123").
   * A path is a list of keys; "*" matches any key or list index.
   */
  readonly textAt?: ReadonlyArray<ReadonlyArray<string>>
}

export interface YamlParseResult {
  readonly value: unknown
  /** Problems that make the file unusable, each naming its line. */
  readonly errors: ReadonlyArray<string>
  /** Things PyYAML accepts silently that the operator should hear about (duplicate keys). */
  readonly warnings: ReadonlyArray<string>
  /**
   * For a scalar kept as text under `textAt` that PyYAML reads as an integer: that integer in
   * decimal (`0123` -> "83", `1_000` -> "1000"), which is what the deployed sender puts on the wire.
   */
  readonly integerAt: (path: ReadonlyArray<string>) => string | undefined
}

// PyYAML's SafeLoader resolvers (YAML 1.1), which the deployed receiver and sender use. The `yaml`
// package's 1.1 schema differs in places that matter here: it reads `y`/`n` as booleans, `0482913`
// and `1e5` as numbers and `0:30` as sexagesimal; PyYAML reads all four as strings.
const pyTrue = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/
const pyFalse = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/
const pyInt = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/
const pyFloat =
  /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/

const sexagesimal = (digits: string, parse: (part: string) => number): number =>
  digits.split(":").reduce((total, part) => total * 60 + parse(part), 0)

/** The integer PyYAML constructs from a scalar its int resolver matched; undefined if it cannot. */
export const pyyamlInteger = (text: string): bigint | undefined => {
  let digits = text.replaceAll("_", "")
  const negative = digits.startsWith("-")
  if (digits.startsWith("-") || digits.startsWith("+")) digits = digits.slice(1)
  try {
    let value: bigint
    if (digits === "0") value = 0n
    else if (digits.startsWith("0b")) value = BigInt(digits)
    else if (digits.startsWith("0x")) value = BigInt(digits)
    else if (digits.startsWith("0")) value = BigInt(`0o${digits.slice(1)}`)
    else if (digits.includes(":")) value = digits.split(":").reduce((total, part) => total * 60n + BigInt(part), 0n)
    else value = BigInt(digits)
    return negative ? -value : value
  } catch {
    return undefined
  }
}

const pyyamlFloat = (text: string): number => {
  let digits = text.replaceAll("_", "").toLowerCase()
  const sign = digits.startsWith("-") ? -1 : 1
  if (digits.startsWith("-") || digits.startsWith("+")) digits = digits.slice(1)
  if (digits === ".inf") return sign * Infinity
  if (digits === ".nan") return NaN
  return sign * (digits.includes(":") ? sexagesimal(digits, Number) : Number(digits))
}

const scalarTag = (tag: string, test: RegExp, resolve: (text: string) => unknown, identify: (value: unknown) => boolean) => ({
  tag: `tag:yaml.org,2002:${tag}`,
  default: true as const,
  test,
  resolve: (text: string, onError: (message: string) => void) => {
    const value = resolve(text)
    if (value === undefined) onError(`cannot read ${text} as ${tag}`)
    return value
  },
  identify
})

const pyyamlScalars = [
  scalarTag("bool", pyTrue, () => true, (value) => value === true),
  scalarTag("bool", pyFalse, () => false, (value) => value === false),
  scalarTag("int", pyInt, (text) => {
    const value = pyyamlInteger(text)
    return value === undefined ? undefined : Number(value)
  }, (value) => typeof value === "number" && Number.isInteger(value)),
  scalarTag("float", pyFloat, pyyamlFloat, (value) => typeof value === "number")
]

const replacedTags = new Set(["tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"])

/**
 * The 1.1 schema with PyYAML's bool, int and float rules in place of the `yaml` package's (its
 * sexagesimal intTime / floatTime go too: PyYAML's int and float rules above include them).
 */
const pyyamlTags = (tags: Array<YAML.Tags[number]>): Array<YAML.Tags[number]> => [
  ...tags.filter((tag) => typeof tag === "string" || !replacedTags.has(tag.tag)),
  ...pyyamlScalars
]

const pathKey = (path: ReadonlyArray<string>) => JSON.stringify(path)

const matches = (patterns: ReadonlyArray<ReadonlyArray<string>>, path: ReadonlyArray<string>) =>
  patterns.some((pattern) => pattern.length === path.length && pattern.every((segment, i) => segment === "*" || segment === path[i]))

const describePath = (path: ReadonlyArray<string>) => path.length === 0 ? "(top level)" : path.join(".")

/**
 * Parses YAML text the way PyYAML's safe loader reads it (YAML 1.1: `yes`/`no`/`on`/`off` are
 * booleans, a duplicate key keeps its last value), into plain data:
 * - map keys keep the text written (a client named `007` or `1.10` stays that string);
 * - scalars under `textAt` keep the text written where YAML would read a number or boolean;
 * - a duplicate key is a warning naming both lines (PyYAML keeps the last one silently; so do we);
 * - aliases may stand for at most `maxAliasedValues` values in all (alias bombs are refused).
 */
export const parseYaml = (text: string, options: YamlParseOptions = {}): YamlParseResult => {
  const lineCounter = new YAML.LineCounter()
  const integers = new Map<string, string>()
  const integerAt = (path: ReadonlyArray<string>) => integers.get(pathKey(path))
  const failed = (errors: ReadonlyArray<string>): YamlParseResult => ({ value: undefined, errors, warnings: [], integerAt })
  let doc: YAML.Document.Parsed
  try {
    doc = YAML.parseDocument(text, {
      version: "1.1",
      customTags: pyyamlTags,
      uniqueKeys: false,
      prettyErrors: true,
      lineCounter
    })
  } catch (error) {
    return failed([`cannot read the YAML: ${(error as Error).message}`])
  }
  if (doc.errors.length > 0) {
    // With prettyErrors the first line of each message ends in "at line L, column C:".
    return failed(doc.errors.map((error) => (error.message.split("\n")[0] ?? error.code).replace(/:$/, "")))
  }
  const lineOf = (node: { range?: readonly [number, number, number] | null | undefined } | null | undefined) =>
    node?.range === undefined || node.range === null ? undefined : lineCounter.linePos(node.range[0]).line

  // Values each node stands for once aliases are expanded; computed once per node.
  const sizes = new Map<unknown, number>()
  const resolving = new Set<unknown>()
  const sizeOf = (node: unknown): number => {
    if (node === null || node === undefined) return 1
    const known = sizes.get(node)
    if (known !== undefined) return known
    if (resolving.has(node)) throw new RangeError(`line ${lineOf(YAML.isNode(node) ? node : undefined)}`)
    resolving.add(node)
    let size = 1
    if (YAML.isAlias(node)) size = sizeOf(node.resolve(doc))
    else if (YAML.isMap(node)) for (const pair of node.items) size += sizeOf(pair.key) + sizeOf(pair.value)
    else if (YAML.isSeq(node)) for (const item of node.items) size += sizeOf(item)
    resolving.delete(node)
    sizes.set(node, size)
    return size
  }
  let aliased = 0
  try {
    YAML.visit(doc, {
      Alias(_, alias) {
        aliased += sizeOf(alias)
        if (aliased > maxAliasedValues) return YAML.visit.BREAK
      }
    })
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    return failed([`an alias (*name) refers to a value that contains it (${error.message}): refused`])
  }
  if (aliased > maxAliasedValues) {
    return failed([
      `aliases (*name) stand for more than ${maxAliasedValues} values in all: refused as a possible alias bomb`
    ])
  }

  const warnings: Array<string> = []
  const textAt = options.textAt ?? []
  const walk = (node: unknown, path: ReadonlyArray<string>): void => {
    if (YAML.isMap(node)) {
      const seen = new Map<string, number | undefined>()
      for (const pair of node.items) {
        const key = pair.key
        if (YAML.isScalar(key) && typeof key.value !== "string" && key.source !== undefined) key.value = key.source
        const name = YAML.isScalar(key) ? String(key.value) : JSON.stringify(YAML.isNode(key) ? key.toJSON() : key)
        const line = lineOf(YAML.isNode(key) ? key : undefined)
        if (seen.has(name) && name !== "<<") {
          warnings.push(
            `${describePath([...path, name])}: duplicate key at line ${line}, also at line ${seen.get(name)}; ` +
              "the last one is used (as PyYAML does)"
          )
        }
        seen.set(name, line)
        walk(pair.value, [...path, name])
      }
    } else if (YAML.isSeq(node)) {
      node.items.forEach((item, index) => walk(item, [...path, String(index)]))
    } else if (YAML.isScalar(node)) {
      const value = node.value
      if (
        node.type === "PLAIN" && (typeof value === "number" || typeof value === "boolean") &&
        node.source !== undefined && matches(textAt, path)
      ) {
        if (typeof value === "number" && pyInt.test(node.source)) {
          const integer = pyyamlInteger(node.source)
          if (integer !== undefined) integers.set(pathKey(path), integer.toString())
        }
        node.value = node.source
      }
    }
  }
  walk(doc.contents, [])
  return { value: doc.toJS({ maxAliasCount: -1 }), errors: [], warnings, integerAt }
}
