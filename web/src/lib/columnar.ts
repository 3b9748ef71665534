// A result table sent column by column (GET /plans/{id}/tables/{name}/columns): one array per
// column, far smaller than one object per row. The views work on rows, made here once.

export type Row = Record<string, unknown>

/** Rows `{column: value}` from column arrays (data[j][i] is column j of row i). Arrays of unequal
 *  length are an error: the API always sends one value per row and column. */
export function rowsFromColumns(columns: readonly string[], data: readonly (readonly unknown[])[]): Row[] {
  if (data.length !== columns.length) throw new Error(`${columns.length} columns but ${data.length} arrays`)
  const n = data[0]?.length ?? 0
  for (const [j, a] of data.entries()) {
    if (a.length !== n) throw new Error(`column ${columns[j]} has ${a.length} values, not ${n}`)
  }
  const rows: Row[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const row: Row = {}
    for (let j = 0; j < columns.length; j++) row[columns[j]!] = data[j]![i]
    rows[i] = row
  }
  return rows
}
