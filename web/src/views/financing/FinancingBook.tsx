// Finance's book of advances (GET /financing/book): exposure and limit usage by programme,
// exposure by supplier and by buyer, the advances past their due date, and how many requests
// wait in review (the inbox). A partner's /financing is its own page (PartnerFinancing). Amounts are the API's decimal strings in each row's currency.
import { useQuery } from '@tanstack/react-query'

import { financingBookQuery } from '../../api/finance'
import type { Book, Exposure, OverdueAdvance } from '../../client/types.gen'
import { type Column, DataTable } from '../../components/DataTable'
import { PageHeader, Section } from '../../components/Page'
import { Loaded } from '../../components/States'
import { formatPercent } from '../../lib/format'
import { roleOf } from '../../api/session'
import { useSession } from '../../session'
import { FinancingNav } from './FinancingNav'
import { PartnerFinancing } from './PartnerFinancing'

const money = (amount: string, currency: string) => `${amount} ${currency}`

function exposureColumns(key: string, withLimit: boolean): Column<Exposure>[] {
  return [
    { id: 'key', header: key, value: (r) => r.key },
    { id: 'outstanding', header: 'Outstanding', value: (r) => Number(r.outstanding), numeric: true, cell: (r) => money(r.outstanding, r.currency) },
    { id: 'advances', header: 'Advances', value: (r) => r.advances, numeric: true },
    { id: 'overdue', header: 'Of which overdue', value: (r) => Number(r.overdue), numeric: true, cell: (r) => money(r.overdue, r.currency) },
    ...(withLimit ? [
      { id: 'limit', header: 'Limit', value: (r: Exposure) => (r.limit === null ? null : Number(r.limit)), numeric: true,
        cell: (r: Exposure) => (r.limit === null ? '—' : money(r.limit, r.currency)) },
      { id: 'usage', header: 'Limit used', value: (r: Exposure) => r.usage, numeric: true,
        cell: (r: Exposure) => (r.usage === null ? '—' : formatPercent(r.usage)) },
    ] : []),
  ]
}

const overdueColumns: Column<OverdueAdvance>[] = [
  { id: 'invoice', header: 'Invoice', value: (r) => r.invoice_id, numeric: true },
  { id: 'supplier', header: 'Supplier', value: (r) => r.supplier_id },
  { id: 'buyer', header: 'Buyer', value: (r) => r.buyer_id },
  { id: 'programme', header: 'Programme', value: (r) => r.programme_id, numeric: true },
  { id: 'due', header: 'Due', value: (r) => r.due_date },
  { id: 'days', header: 'Days overdue', value: (r) => r.days_overdue, numeric: true },
  { id: 'outstanding', header: 'Outstanding', value: (r) => Number(r.outstanding), numeric: true, cell: (r) => money(r.outstanding, r.currency) },
]

/** /financing: a partner's own financing; finance's and admins' book. */
export function FinancingBook() {
  const role = roleOf(useSession())
  return role === 'partner' ? <PartnerFinancing /> : <Book />
}

function Book() {
  const query = useQuery(financingBookQuery())
  return (
    <>
      <PageHeader title="Financing book" subtitle="Advances on confirmed invoices: exposure, limit usage and what is overdue." />
      <FinancingNav />
      <Loaded query={query} label="Reading the book">{(book) => <BookBody book={book} />}</Loaded>
    </>
  )
}

function BookBody({ book }: { book: Book }) {
  return (
    <>
      <p className="muted" data-testid="book-summary">
        As of {book.as_of}: {book.in_review} request{book.in_review === 1 ? '' : 's'} waiting in review.
      </p>
      <Section title="By programme" id="book-programmes">
        <DataTable caption="Exposure by programme" columns={exposureColumns('Programme', true)} rows={book.by_programme}
          rowKey={(r) => `${r.key}|${r.currency}`} testId="book-programmes" empty="No advance outstanding" />
      </Section>
      <Section title="By supplier" id="book-suppliers">
        <DataTable caption="Exposure by supplier" columns={exposureColumns('Supplier', false)} rows={book.by_supplier}
          rowKey={(r) => `${r.key}|${r.currency}`} testId="book-suppliers" empty="No advance outstanding" />
      </Section>
      <Section title="By buyer" id="book-buyers">
        <DataTable caption="Exposure by buyer" columns={exposureColumns('Buyer', false)} rows={book.by_buyer}
          rowKey={(r) => `${r.key}|${r.currency}`} testId="book-buyers" empty="No advance outstanding" />
      </Section>
      <Section title="Overdue advances" id="book-overdue">
        <DataTable caption="Advances past their due date, not repaid" columns={overdueColumns} rows={book.overdue}
          rowKey={(r) => String(r.invoice_id)} testId="book-overdue" empty="Nothing overdue" />
      </Section>
    </>
  )
}
