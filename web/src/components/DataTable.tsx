// One table component for the app (TanStack Table v9, sorting only; TanStack Virtual above a
// row count): a real <table> with a caption, sortable column headers as buttons (keyboard),
// aria-sort, numbers right-aligned, and big tables virtualised inside a scrolling box with a
// sticky header (only the visible rows are in the page; spacer rows keep the scroll height).
import {
  createColumnHelper,
  type RowData,
  createSortedRowModel,
  rowSortingFeature,
  sortFn_alphanumeric,
  sortFn_basic,
  tableFeatures,
  useTable,
} from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react'

const features = tableFeatures({
  rowSortingFeature,
  sortedRowModel: createSortedRowModel(),
  sortFns: { alphanumeric: sortFn_alphanumeric, basic: sortFn_basic },
})

export interface Column<T> {
  id: string
  header: string
  /** The value sorted on (and shown, unless `cell` is given). */
  value: (row: T) => string | number | null | undefined
  cell?: (row: T) => ReactNode
  /** Numbers are right-aligned and sorted numerically. */
  numeric?: boolean
  sortable?: boolean
}

interface DataTableProps<T extends RowData> {
  caption: string
  columns: Column<T>[]
  rows: T[]
  /** Row key (stable across sorting); the index by default. */
  rowKey?: (row: T, index: number) => string
  /** Virtualise when there are more rows than this (default 150). */
  virtualizeAbove?: number
  /** Height of the scrolling box of a virtualised table [px]. */
  height?: number
  empty?: string
  testId?: string
  /** Visually hide the caption (still read by screen readers). */
  hideCaption?: boolean
}

const ROW_HEIGHT = 34

export function DataTable<T extends RowData>({
  caption, columns, rows, rowKey, virtualizeAbove = 150, height = 480, empty = 'No rows', testId, hideCaption,
}: DataTableProps<T>) {
  const helper = useMemo(() => createColumnHelper<typeof features, T>(), [])
  const defs = useMemo(() => helper.columns(columns.map((c) => helper.accessor((row: T) => c.value(row) ?? null, {
    id: c.id,
    header: c.header,
    enableSorting: c.sortable !== false,
    sortFn: c.numeric ? 'basic' : 'alphanumeric',
    sortUndefined: 'last',
  }))), [columns, helper])
  const table = useTable({
    features,
    columns: defs,
    data: rows,
    getRowId: rowKey ? (row: T, index: number) => rowKey(row, index) : undefined,
  })
  const byId = useMemo(() => new Map(columns.map((c) => [c.id, c])), [columns])
  const modelRows = table.getRowModel().rows
  const virtual = modelRows.length > virtualizeAbove
  const scrollRef = useRef<HTMLDivElement>(null)
  const virtualizer = useVirtualizer({
    count: modelRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    enabled: virtual,
  })
  // a table wider than its box scrolls sideways: the box is then a focusable region, so that it
  // can be scrolled from the keyboard (WCAG 2.1.1; axe scrollable-region-focusable)
  const [overflowing, setOverflowing] = useState(false)
  useEffect(() => {
    const el = scrollRef.current
    if (!el) return
    const check = () => setOverflowing(el.scrollWidth > el.clientWidth + 1)
    check()
    const observer = new ResizeObserver(check)
    observer.observe(el)
    if (el.firstElementChild) observer.observe(el.firstElementChild)
    return () => observer.disconnect()
  }, [])
  const focusable = virtual || overflowing
  const items = virtual ? virtualizer.getVirtualItems() : null
  const visible = items ? items.map((i) => modelRows[i.index]!) : modelRows
  // a virtualised row's place in the table as shown (sorted), 1-based, the header row being 1
  const first = items && items.length ? items[0]!.index : 0
  const padTop = items && items.length ? items[0]!.start : 0
  const padBottom = items && items.length ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0

  return (
    <div
      className={virtual ? 'table-wrap table-scroll' : 'table-wrap'}
      ref={scrollRef}
      style={virtual ? { maxHeight: height } : undefined}
      data-testid={testId}
      tabIndex={focusable ? 0 : undefined}
      role={focusable ? 'region' : undefined}
      aria-label={virtual ? `${caption} (scrollable, ${modelRows.length} rows)` : focusable ? `${caption} (scrolls sideways)` : undefined}
    >
      <table className="data-table" aria-rowcount={virtual ? modelRows.length + 1 : undefined}>
        <caption className={hideCaption ? 'visually-hidden' : undefined}>{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const col = byId.get(header.column.id)
                const sorted = header.column.getIsSorted()
                const label = col?.header ?? header.column.id
                return (
                  <th
                    key={header.id}
                    scope="col"
                    className={col?.numeric ? 'num' : undefined}
                    aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                  >
                    {header.column.getCanSort() ? (
                      <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}
                        title={`Sort by ${label}`}>
                        {label}
                        <span className="sort-mark" aria-hidden="true">{sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''}</span>
                      </button>
                    ) : label}
                  </th>
                )
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {padTop > 0 && <tr aria-hidden="true" className="spacer"><td colSpan={columns.length} style={{ height: padTop }} /></tr>}
          {visible.map((row, k) => (
            <tr key={row.id} aria-rowindex={virtual ? first + k + 2 : undefined}>
              {row.getAllCells().map((cell) => {
                const col = byId.get(cell.column.id)!
                const content = col.cell ? col.cell(row.original) : String(col.value(row.original) ?? '—')
                return <td key={cell.id} className={col.numeric ? 'num' : undefined}>{content}</td>
              })}
            </tr>
          ))}
          {padBottom > 0 && <tr aria-hidden="true" className="spacer"><td colSpan={columns.length} style={{ height: padBottom }} /></tr>}
          {modelRows.length === 0 && (
            <tr><td colSpan={columns.length} className="empty">{empty}</td></tr>
          )}
        </tbody>
      </table>
    </div>
  )
}
