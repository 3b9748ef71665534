// Query definitions of invoices between partners (api/routes/invoices.py): keys and fetchers,
// each a generated SDK call. A partner reads the invoices it sells or buys; finance and admin
// read all and verify the hash chain.
import { queryOptions } from '@tanstack/react-query'

import { getInvoice, listInvoices, verifyInvoices } from '../client/sdk.gen'
import type { InvoiceFilter } from '../lib/invoices'
import { invoiceListParams } from '../lib/invoices'
import { data } from './client'

export const invoiceKeys = {
  all: ['invoices'] as const,
  list: (filter: InvoiceFilter, partner: string | null, limit: number, offset: number) => ['invoices', 'list', filter, partner, limit, offset] as const,
  one: (id: number) => ['invoices', id] as const,
  verify: ['invoices', 'verify'] as const,
}

/** A page of the invoices the caller sees, filtered by the API (status, parties, due before). */
export const invoiceListQuery = (filter: InvoiceFilter, partner: string | null, limit: number, offset: number) => queryOptions({
  queryKey: invoiceKeys.list(filter, partner, limit, offset),
  queryFn: () => data(listInvoices({ query: { ...invoiceListParams(filter, partner), limit, offset } })),
})

/** One invoice with its lines and events (another partner's: 404, as a missing id). */
export const invoiceQuery = (id: number) => queryOptions({
  queryKey: invoiceKeys.one(id),
  queryFn: () => data(getInvoice({ path: { invoice_id: id } })),
})

/** The hash chain recomputed and replayed by the API (admin, finance); read when asked for. */
export const verifyQuery = queryOptions({
  queryKey: invoiceKeys.verify,
  queryFn: () => data(verifyInvoices()),
  staleTime: 0,
  gcTime: 0,
})

/** The CSV template of an invoice upload (GET /invoices/upload). */
export const TEMPLATE_URL = '/invoices/upload'
