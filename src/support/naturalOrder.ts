const isDigit = (code: number) => code >= 48 && code <= 57
/** ASCII upper case folded to lower case; every other code unit as it is. */
const folded = (code: number) => (code >= 65 && code <= 90 ? code + 32 : code)

/**
 * Natural order of two names: runs of digits compare as numbers (`web2` before `web10`), ASCII
 * letters without regard to case, everything else by UTF-16 code unit. Names equal in that order
 * (`Web1`/`web1`, `web01`/`web1`) are told apart by their first differing code unit (fewer
 * leading zeros first), so the order is total: 0 only for identical strings. No allocation and no
 * locale: the resource index compares with it about twenty times per insertion.
 */
export const naturalCompare = (a: string, b: string): number => {
  const lengthA = a.length
  const lengthB = b.length
  let i = 0
  let j = 0
  let tie = 0
  while (i < lengthA && j < lengthB) {
    const codeA = a.charCodeAt(i)
    const codeB = b.charCodeAt(j)
    if (isDigit(codeA) && isDigit(codeB)) {
      let startA = i
      while (startA < lengthA && a.charCodeAt(startA) === 48) startA++
      let startB = j
      while (startB < lengthB && b.charCodeAt(startB) === 48) startB++
      let endA = startA
      while (endA < lengthA && isDigit(a.charCodeAt(endA))) endA++
      let endB = startB
      while (endB < lengthB && isDigit(b.charCodeAt(endB))) endB++
      const digitsA = endA - startA
      const digitsB = endB - startB
      if (digitsA !== digitsB) return digitsA - digitsB
      for (let k = 0; k < digitsA; k++) {
        const difference = a.charCodeAt(startA + k) - b.charCodeAt(startB + k)
        if (difference !== 0) return difference
      }
      if (tie === 0) tie = (endA - i) - (endB - j)
      i = endA
      j = endB
      continue
    }
    const foldedA = folded(codeA)
    const foldedB = folded(codeB)
    if (foldedA !== foldedB) return foldedA - foldedB
    if (tie === 0) tie = codeA - codeB
    i++
    j++
  }
  return (lengthA - i) - (lengthB - j) || tie
}
