/** Longest resource name we accept: longer names are hostile or broken, never a real host. */
export const maxResourceNameLength = 512

/**
 * Characters no client or resource name may hold: C0 controls and DEL (they corrupt log lines and
 * file names) and the bidi overrides and isolates U+202A-202E, U+2066-2069 (they reorder the text
 * around them, so a name could show in the dashboard as another one).
 */
export const forbiddenNameCharacters = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/

export type NameProblem = "empty" | "too_long" | "lone_surrogate" | "forbidden_character"

/**
 * What is wrong with a client or resource name, or undefined when it is usable: not empty, at
 * most `maxLength` characters, valid Unicode (no lone surrogate such as JSON's "\ud800", which
 * would turn into U+FFFD on disk and merge with other names), no forbidden character.
 */
export const nameProblem = (name: string, maxLength = maxResourceNameLength): NameProblem | undefined =>
  name.length === 0
    ? "empty"
    : name.length > maxLength
    ? "too_long"
    : !name.isWellFormed()
    ? "lone_surrogate"
    : forbiddenNameCharacters.test(name)
    ? "forbidden_character"
    : undefined

export const describeNameProblem = (problem: NameProblem, maxLength = maxResourceNameLength): string => {
  switch (problem) {
    case "empty":
      return "must not be empty"
    case "too_long":
      return `is longer than ${maxLength} characters`
    case "lone_surrogate":
      return "is not valid Unicode (a lone surrogate)"
    case "forbidden_character":
      return "contains a control or bidi-override character (U+0000-001F, U+007F, U+202A-202E, U+2066-2069)"
  }
}

/** A name as it may be shown in a message: forbidden characters and lone surrogates as \uXXXX. */
export const printableName = (name: string): string =>
  name.replace(
    /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`
  )
