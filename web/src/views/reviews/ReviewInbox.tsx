// The finance inbox (api/routes/reviews.py): the newest finished plan of each scenario waiting
// for a review, those decided (approved or rejected, with the comment), and the reviews a newer
// plan of their scenario voided. Each plan opens on its funding, where it is reviewed.
import { useQuery } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { useMemo } from 'react'

import { inboxQuery } from '../../api/finance'
import { scenarioListQuery } from '../../api/queries'
import type { PlanSummary, ReviewPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Loaded } from '../../components/States'
import { formatDateTime } from '../../lib/format'
import { reviewInbox } from '../../lib/reviews'
import { optionsText } from '../scenarios/ScenarioView'
import { DecisionBadge } from '../funding/ReviewPanel'

export function ReviewInbox() {
  const inbox = useQuery(inboxQuery)
  const scenarios = useQuery(scenarioListQuery(200, 0))
  const names = useMemo(() => new Map((scenarios.data?.items ?? []).map((s) => [s.id, s.name])), [scenarios.data])
  const split = useMemo(() => (inbox.data ? reviewInbox(inbox.data.plans.items, inbox.data.reviews.items) : null), [inbox.data])
  const planById = useMemo(() => new Map((inbox.data?.plans.items ?? []).map((p) => [p.id, p])), [inbox.data])
  const planLink = (id: number) => <Link to="/plans/$planId/funding" params={{ planId: String(id) }} search={{}}>Plan {id}</Link>
  const scenarioOf = (p: PlanSummary | undefined) => (p ? `${names.get(p.scenario_id) ?? `Scenario ${p.scenario_id}`} v${p.version}` : '—')

  const waitingColumns: Column<PlanSummary>[] = [
    { id: 'plan', header: 'Plan', value: (p) => p.id, numeric: true, cell: (p) => planLink(p.id) },
    { id: 'scenario', header: 'Scenario', value: (p) => scenarioOf(p) },
    { id: 'options', header: 'Options', value: (p) => optionsText(p.options) },
    { id: 'finished', header: 'Finished', value: (p) => p.finished_at ?? '', cell: (p) => formatDateTime(p.finished_at) },
  ]
  const decidedColumns: Column<{ plan: PlanSummary; review: ReviewPublic }>[] = [
    { id: 'plan', header: 'Plan', value: (d) => d.plan.id, numeric: true, cell: (d) => planLink(d.plan.id) },
    { id: 'scenario', header: 'Scenario', value: (d) => scenarioOf(d.plan) },
    { id: 'decision', header: 'Decision', value: (d) => d.review.decision, cell: (d) => <DecisionBadge review={d.review} /> },
    { id: 'comment', header: 'Comment', value: (d) => d.review.comment },
    { id: 'by', header: 'By', value: (d) => d.review.reviewer },
    { id: 'when', header: 'When', value: (d) => d.review.created_at, cell: (d) => formatDateTime(d.review.created_at) },
  ]
  const voidedColumns: Column<ReviewPublic>[] = [
    { id: 'plan', header: 'Plan', value: (r) => r.plan_id, numeric: true, cell: (r) => planLink(r.plan_id) },
    { id: 'scenario', header: 'Scenario', value: (r) => scenarioOf(planById.get(r.plan_id)) },
    { id: 'decision', header: 'Decision', value: (r) => r.decision, cell: (r) => <DecisionBadge review={r} /> },
    { id: 'comment', header: 'Comment', value: (r) => r.comment },
    { id: 'voided', header: 'Voided by', value: (r) => r.voided_by_plan_id ?? 0, cell: (r) => (r.voided_by_plan_id ? planLink(r.voided_by_plan_id) : '—') },
    { id: 'when', header: 'Voided', value: (r) => r.voided_at ?? '', cell: (r) => formatDateTime(r.voided_at) },
  ]
  return (
    <>
      <PageHeader title="Reviews" subtitle="Plans whose funding waits for finance's decision: the newest finished plan of each scenario (a newer plan voids earlier reviews)." />
      <Loaded query={inbox} label="Loading the inbox">
        {() => split && (
          <>
            {(inbox.data!.plans.more || inbox.data!.reviews.more) && <p className="notice" role="note">Only the first 5,000 plans and reviews are shown.</p>}
            <Section title={`Waiting for review (${split.waiting.length})`} id="waiting">
              <DataTable caption="Plans waiting for review" hideCaption columns={waitingColumns} rows={split.waiting} rowKey={(p) => String(p.id)}
                empty="Nothing waits for a review." testId="review-waiting" />
            </Section>
            <Section title={`Decided (${split.decided.length})`} id="decided">
              <DataTable caption="Plans decided" hideCaption columns={decidedColumns} rows={split.decided} rowKey={(d) => String(d.plan.id)}
                empty="No live decision." testId="review-decided" />
            </Section>
            <Section title={`Voided by a newer plan (${split.voided.length})`} id="voided">
              <DataTable caption="Voided reviews" hideCaption columns={voidedColumns} rows={split.voided} rowKey={(r) => String(r.id)}
                empty="No review was voided." testId="review-voided" />
            </Section>
          </>
        )}
      </Loaded>
    </>
  )
}
