/** csvCell quotes a value for CSV (RFC 4180) and defuses spreadsheet formulas (=, +, -, @ first). */
export function csvCell (value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** toCsv writes rows under a header line of the given columns. */
export function toCsv<T extends object> (columns: ReadonlyArray<keyof T & string>, rows: readonly T[]): string {
  const lines = [columns.join(',')]
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','))
  return lines.join('\r\n') + '\r\n'
}

/** download hands a text to the browser as a file (a blob: URL, no server round trip). */
export function download (name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
