// The exceptions inbox: its filters (rule, severity, partner, open or resolved) as the API's
// query parameters (GET /exceptions filters, counts and pages in the database; a partner gets only
// those that involve it), and the filter choices from GET /exception-facets.
import type { ExceptionFacets } from '../client/types.gen'
import { formatNumber, formatPercent } from './format'

export interface ExceptionFilter { rule?: string; severity?: string; partner?: string; state?: 'open' | 'resolved' }

export const SEVERITIES = ['high', 'medium', 'low'] as const
type Severity = (typeof SEVERITIES)[number]

export interface ExceptionListParams { rule?: string; severity?: Severity; partner?: string; resolved?: boolean }

/** The query parameters of GET /exceptions for a filter (unset filters are left out; a severity
 *  the API does not know is dropped rather than sent). */
export function exceptionListParams(f: ExceptionFilter): ExceptionListParams {
  const out: ExceptionListParams = {}
  if (f.rule) out.rule = f.rule
  if (f.severity && (SEVERITIES as readonly string[]).includes(f.severity)) out.severity = f.severity as Severity
  if (f.partner) out.partner = f.partner
  if (f.state) out.resolved = f.state === 'resolved'
  return out
}

export interface Choice { value: string; label: string }

/** A filter's choices with their counts ("shops (3)"); the selected value is kept even when no
 *  exception has it any more (so the select still shows what filters the list). */
export function facetChoices(counts: { value: string; count: number }[] | undefined, selected?: string): Choice[] {
  const out = (counts ?? []).map((c) => ({ value: c.value, label: `${c.value} (${c.count})` }))
  if (selected && !out.some((c) => c.value === selected)) out.push({ value: selected, label: `${selected} (0)` })
  return out
}

/** The state filter's choices with their counts. */
export function stateChoices(f: Pick<ExceptionFacets, 'open' | 'resolved'> | undefined): Choice[] {
  return [
    { value: 'open', label: f ? `open (${f.open})` : 'open' },
    { value: 'resolved', label: f ? `resolved (${f.resolved})` : 'resolved' },
  ]
}

/** The sources an exception compares ("shops vs statistical" → ["shops", "statistical"]). */
export function sourcesOf(sources: string): string[] {
  return sources.split(' vs ').map((s) => s.trim()).filter(Boolean)
}

/** The sources a resolution may accept: the exception's own (a forecast source, not a measure
 *  such as fill_rate), and the statistical forecast. */
export function acceptableSources(sources: string): string[] {
  const own = sourcesOf(sources).filter((s) => !['in_stock', 'fill_rate'].includes(s))
  return [...new Set([...own, 'statistical'])]
}

/** What an exception measured against its rule's limit, in the rule's units: error and service
 *  rules measure a share (WAPE, in-stock, fill rate) → percent; tolerance rules the difference in
 *  units, against the rule's absolute limit (units) or, when the rule has only a relative one, that
 *  share (a limit below 1 is read as the relative tolerance). */
export function measureText(kind: string, measure: number | null, limit: number | null): string {
  const share = kind === 'error' || kind === 'service'
  const m = measure === null ? '—' : share ? formatPercent(measure) : kind === 'tolerance' ? `${formatNumber(measure)} units` : formatNumber(measure, 3)
  const l = limit === null ? '—' : share ? formatPercent(limit)
    : kind === 'tolerance' ? (limit > 0 && limit < 1 ? formatPercent(limit, 0) : `${formatNumber(limit)} units`) : formatNumber(limit, 3)
  return `${m} (limit ${l})`
}
