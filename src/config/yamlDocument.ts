import YAML from "yaml"

export interface YamlParseResult {
  readonly value: unknown
  readonly errors: ReadonlyArray<string>
}

/**
 * Parses YAML text into plain data. Map keys that YAML would read as numbers (a client named
 * `007` or `1.10`) keep the text the user wrote, so they stay distinct strings.
 */
export const parseYaml = (text: string): YamlParseResult => {
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      // With prettyErrors the first line of each message ends in "at line L, column C:".
      errors: doc.errors.map((error) => (error.message.split("\n")[0] ?? error.code).replace(/:$/, ""))
    }
  }
  YAML.visit(doc, {
    Pair(_, pair) {
      if (YAML.isScalar(pair.key) && typeof pair.key.value !== "string" && pair.key.source !== undefined) {
        pair.key.value = pair.key.source
      }
    }
  })
  return { value: doc.toJS({ maxAliasCount: 100 }), errors: [] }
}
