/** Bar is one labelled value of a chart. */
export interface Bar { label: string, value: number, tone?: string }

/**
 * BarChart draws horizontal bars in SVG with presentation attributes and CSS classes only (no
 * style attribute, nothing a `style-src 'self'` policy refuses), and the same numbers as a
 * table for screen readers. Hand-written: every chart library we checked sets inline styles or
 * weighs more than the whole console.
 */
export function BarChart ({ title, bars, unit = '' }: { title: string, bars: Bar[], unit?: string }) {
  const max = Math.max(1, ...bars.map((b) => b.value))
  const rowH = 24
  const labelW = 130
  const width = 420
  return (
    <figure className='chart'>
      <figcaption>{title}</figcaption>
      <svg role='img' aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.value}${unit}`).join(', ') || 'no data'}`} viewBox={`0 0 ${width} ${Math.max(1, bars.length) * rowH}`} width='100%' height={Math.max(1, bars.length) * rowH}>
        {bars.map((b, i) => {
          const w = Math.round(((width - labelW - 60) * b.value) / max)
          return (
            <g key={b.label} transform={`translate(0 ${i * rowH})`}>
              <text x={labelW - 6} y={16} textAnchor='end' className='chart-label'>{b.label}</text>
              <rect x={labelW} y={4} width={Math.max(w, b.value > 0 ? 2 : 0)} height={rowH - 8} className={`bar ${b.tone ?? ''}`} />
              <text x={labelW + w + 6} y={16} className='chart-value'>{b.value}{unit}</text>
            </g>
          )
        })}
      </svg>
      {bars.length === 0 && <p className='muted'>No data yet.</p>}
    </figure>
  )
}
