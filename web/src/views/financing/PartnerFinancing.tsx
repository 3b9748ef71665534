// A supplier partner's financing (docs/financing.md): its requests and their decisions
// (GET /financing-requests), its advances, outstanding and repaid (GET /financing/advances), and
// its ledger's balances (GET /financing/ledger). The API answers a partner its own only.
import { useQuery } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import { useState } from 'react'

import { advancesQuery, ledgerQuery, requestsQuery } from '../../api/financing'
import type { AdvancePublic, RequestPublic } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Loaded } from '../../components/States'
import { formatDate, formatDateTime } from '../../lib/format'
import { advanceTotals, balanceRows } from '../../lib/financing'
import { formatAmount } from '../../lib/invoices'
import { Decision, RequestStatusBadge } from './Decision'

const requestColumns = (open: (id: number) => void): Column<RequestPublic>[] => [
  { id: 'id', header: 'Request', value: (r) => r.id, numeric: true,
    cell: (r) => <button type="button" className="link" onClick={() => open(r.id)}>{`Request ${r.id}`}</button> },
  { id: 'status', header: 'Status', value: (r) => r.status, cell: (r) => <RequestStatusBadge status={r.status} /> },
  { id: 'programme', header: 'Programme', value: (r) => r.programme_id, numeric: true },
  { id: 'invoices', header: 'Invoices', value: (r) => r.items.map((i) => i.invoice_id).join(', ') },
  { id: 'advance', header: 'Advance', value: (r) => Number(r.advance), numeric: true, cell: (r) => formatAmount(r.advance, r.currency) },
  { id: 'net', header: 'Net', value: (r) => Number(r.net), numeric: true, cell: (r) => formatAmount(r.net, r.currency) },
  { id: 'created', header: 'Requested', value: (r) => r.created_at, cell: (r) => formatDateTime(r.created_at) },
  { id: 'failed', header: 'Failed rules', value: (r) => r.checks.filter((c) => !c.passed).length, numeric: true },
]

const advanceColumns: Column<AdvancePublic>[] = [
  { id: 'invoice', header: 'Invoice', value: (a) => a.invoice_id, numeric: true,
    cell: (a) => <Link to="/invoices/$invoiceId" params={{ invoiceId: String(a.invoice_id) }}>{a.invoice_id}</Link> },
  { id: 'buyer', header: 'Buyer', value: (a) => a.buyer_id },
  { id: 'programme', header: 'Programme', value: (a) => a.programme_id, numeric: true },
  { id: 'status', header: 'Status', value: (a) => a.status },
  { id: 'advanced', header: 'Advanced on', value: (a) => a.advance_date ?? '', cell: (a) => formatDate(a.advance_date) },
  { id: 'due', header: 'Due', value: (a) => a.due_date, cell: (a) => formatDate(a.due_date) },
  { id: 'advance', header: 'Advance', value: (a) => Number(a.advance), numeric: true, cell: (a) => formatAmount(a.advance, a.currency) },
  { id: 'outstanding', header: 'Outstanding', value: (a) => Number(a.outstanding), numeric: true, cell: (a) => formatAmount(a.outstanding, a.currency) },
]

export function PartnerFinancing() {
  const requests = useQuery(requestsQuery(null, 200, 0))
  const advances = useQuery(advancesQuery(200, 0))
  const ledger = useQuery(ledgerQuery())
  const [shown, setShown] = useState<number | null>(null)
  return (
    <>
      <PageHeader title="Financing" subtitle="Your requests for advances on confirmed invoices, your advances and your ledger." />
      <Section title="Requests" id="requests">
        <Loaded query={requests} label="Reading your requests">
          {(page) => {
            const open = page.items.find((r) => r.id === shown)
            return (
              <>
                <DataTable caption={`${page.total} request${page.total === 1 ? '' : 's'}, newest first`} columns={requestColumns(setShown)} rows={page.items}
                  rowKey={(r) => String(r.id)} testId="my-requests" empty="No request yet: ask for an advance from a confirmed invoice's page." />
                {open && <Decision request={open} testId="request-detail" />}
              </>
            )
          }}
        </Loaded>
      </Section>
      <Section title="Advances" id="advances">
        <Loaded query={advances} label="Reading your advances">
          {(page) => (
            <>
              <dl className="facts" data-testid="advance-totals">
                {advanceTotals(page.items).map((t) => (
                  <div key={t.currency}><dt>{t.currency}: {t.count} advance{t.count === 1 ? '' : 's'}</dt>
                    <dd>{formatAmount(t.outstanding, t.currency)} outstanding, {formatAmount(t.repaid, t.currency)} repaid of {formatAmount(t.advanced, t.currency)}</dd></div>
                ))}
              </dl>
              <DataTable caption={`${page.total} advance${page.total === 1 ? '' : 's'}`} columns={advanceColumns} rows={page.items}
                rowKey={(a) => `${a.invoice_id}|${a.programme_id}`} testId="my-advances" empty="No advance." />
            </>
          )}
        </Loaded>
      </Section>
      <Section title="Ledger balances" id="ledger">
        <Loaded query={ledger} label="Reading your ledger">
          {(l) => (
            <>
              <p className="hint">Each entry moves money between accounts, so every currency's balances sum to zero; your outstanding advances are the financier's negative balance.</p>
              <DataTable caption="Balance of each account (received − given)" columns={[
                { id: 'currency', header: 'Currency', value: (r) => r.currency },
                { id: 'account', header: 'Account', value: (r) => r.account },
                { id: 'balance', header: 'Balance', value: (r) => Number(r.balance), numeric: true, cell: (r) => formatAmount(r.balance, r.currency) },
              ]} rows={balanceRows(l.balances)} rowKey={(r) => `${r.currency}|${r.account}`} testId="my-balances" empty="No entry yet." />
            </>
          )}
        </Loaded>
      </Section>
    </>
  )
}
