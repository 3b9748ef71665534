// A consensus trace's "source=value, source=value" text (forecasting.consensus: the inputs and
// the weights of a series-period) as pairs, to show as readable figures instead of raw text.

/** "shops=396, statistical=424.2404589" → [['shops', 396], ['statistical', 424.2404589]];
 *  null when the text is not such a list (then it is shown as it is). */
export function parsePairs(text: unknown): [string, number][] | null {
  if (typeof text !== 'string' || !text.trim()) return null
  const pairs: [string, number][] = []
  for (const part of text.split(',')) {
    const m = /^\s*([^=,]+?)\s*=\s*(\S+)\s*$/.exec(part)
    if (!m) return null
    const v = Number(m[2])
    if (!Number.isFinite(v)) return null
    pairs.push([m[1]!, v])
  }
  return pairs
}
