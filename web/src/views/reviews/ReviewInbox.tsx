// The finance inbox (api/routes/reviews.py, GET /plans?review=): the newest finished plan of each
// scenario waiting for a review, those decided (approved or rejected, with the comment), and the
// reviews a newer plan of their scenario voided. The API decides which plan is where and pages
// each section; each plan opens on its funding, where it is reviewed.
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'

import { type InboxState, inboxPlansQuery, voidedReviewsQuery } from '../../api/finance'
import type { PlanSummary, ReviewPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Pager } from '../../components/Pager'
import { Loaded } from '../../components/States'
import { formatDateTime, formatNumber } from '../../lib/format'
import { optionsText } from '../scenarios/ScenarioView'
import { DecisionBadge } from '../funding/ReviewPanel'

/** Each section's page (1-based) in the URL. */
export interface ReviewSearch { waiting?: number; decided?: number; voided?: number }

export const INBOX_PAGE = 10

const planLink = (id: number) => <Link to="/plans/$planId/funding" params={{ planId: String(id) }} search={{}}>Plan {id}</Link>
const scenarioOf = (p: PlanSummary) => `${p.scenario_name} v${p.version}`

const waitingColumns: Column<PlanSummary>[] = [
  { id: 'plan', header: 'Plan', value: (p) => p.id, numeric: true, cell: (p) => planLink(p.id) },
  { id: 'scenario', header: 'Scenario', value: (p) => scenarioOf(p) },
  { id: 'options', header: 'Options', value: (p) => optionsText(p.options) },
  { id: 'finished', header: 'Finished', value: (p) => p.finished_at ?? '', cell: (p) => formatDateTime(p.finished_at) },
]
const decidedColumns: Column<PlanSummary>[] = [
  { id: 'plan', header: 'Plan', value: (p) => p.id, numeric: true, cell: (p) => planLink(p.id) },
  { id: 'scenario', header: 'Scenario', value: (p) => scenarioOf(p) },
  { id: 'decision', header: 'Decision', value: (p) => p.review?.decision, cell: (p) => (p.review ? <DecisionBadge review={p.review} /> : '—') },
  { id: 'comment', header: 'Comment', value: (p) => p.review?.comment },
  { id: 'by', header: 'By', value: (p) => p.review?.reviewer },
  { id: 'when', header: 'When', value: (p) => p.review?.created_at, cell: (p) => formatDateTime(p.review?.created_at) },
]
const voidedColumns: Column<ReviewPublic>[] = [
  { id: 'plan', header: 'Plan', value: (r) => r.plan_id, numeric: true, cell: (r) => planLink(r.plan_id) },
  { id: 'decision', header: 'Decision', value: (r) => r.decision, cell: (r) => <DecisionBadge review={r} /> },
  { id: 'comment', header: 'Comment', value: (r) => r.comment },
  { id: 'by', header: 'By', value: (r) => r.reviewer },
  { id: 'voided', header: 'Voided by', value: (r) => r.voided_by_plan_id ?? 0, cell: (r) => (r.voided_by_plan_id ? planLink(r.voided_by_plan_id) : '—') },
  { id: 'when', header: 'Voided', value: (r) => r.voided_at ?? '', cell: (r) => formatDateTime(r.voided_at) },
]

const count = (total: number | undefined) => (total === undefined ? '' : ` (${formatNumber(total)})`)

export function ReviewInbox() {
  const search = useSearch({ from: '/authed/reviews' })
  const navigate = useNavigate({ from: '/reviews' })
  const pageOf = (key: keyof ReviewSearch) => search[key] ?? 1
  const toPage = (key: keyof ReviewSearch) => (p: number) => void navigate({ search: (s) => ({ ...s, [key]: p > 1 ? p : undefined }) })
  const plans = (state: InboxState) => ({
    ...inboxPlansQuery(state, INBOX_PAGE, (pageOf(state) - 1) * INBOX_PAGE), placeholderData: keepPreviousData,
  })
  const waiting = useQuery(plans('waiting'))
  const decided = useQuery(plans('decided'))
  const voided = useQuery({ ...voidedReviewsQuery(INBOX_PAGE, (pageOf('voided') - 1) * INBOX_PAGE), placeholderData: keepPreviousData })
  return (
    <>
      <PageHeader title="Reviews" subtitle="Plans whose funding waits for finance's decision: the newest finished plan of each scenario (a newer plan voids earlier reviews)." />
      <Section title={`Waiting for review${count(waiting.data?.total)}`} id="waiting">
        <Loaded query={waiting} label="Loading the plans waiting for review">
          {(d) => (
            <>
              <DataTable caption="Plans waiting for review" hideCaption columns={waitingColumns} rows={d.items} rowKey={(p) => String(p.id)}
                empty="Nothing waits for a review." testId="review-waiting" />
              <Pager page={pageOf('waiting')} pageSize={INBOX_PAGE} total={d.total} onPage={toPage('waiting')} />
            </>
          )}
        </Loaded>
      </Section>
      <Section title={`Decided${count(decided.data?.total)}`} id="decided">
        <Loaded query={decided} label="Loading the decided plans">
          {(d) => (
            <>
              <DataTable caption="Plans decided" hideCaption columns={decidedColumns} rows={d.items} rowKey={(p) => String(p.id)}
                empty="No live decision." testId="review-decided" />
              <Pager page={pageOf('decided')} pageSize={INBOX_PAGE} total={d.total} onPage={toPage('decided')} />
            </>
          )}
        </Loaded>
      </Section>
      <Section title={`Voided by a newer plan${count(voided.data?.total)}`} id="voided">
        <Loaded query={voided} label="Loading the voided reviews">
          {(d) => (
            <>
              <DataTable caption="Voided reviews" hideCaption columns={voidedColumns} rows={d.items} rowKey={(r) => String(r.id)}
                empty="No review was voided." testId="review-voided" />
              <Pager page={pageOf('voided')} pageSize={INBOX_PAGE} total={d.total} onPage={toPage('voided')} />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}
