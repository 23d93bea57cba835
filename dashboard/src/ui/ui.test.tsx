import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { MemoryRouter, Route, Routes, useLocation } from 'react-router'
import { ConfirmAction } from './Confirm.tsx'
import { BarChart } from './BarChart.tsx'
import { Pager, useFilters } from './Pager.tsx'
import { ProblemError } from '../session/api.ts'

afterEach(cleanup)

describe('ConfirmAction', () => {
  it('asks before acting, focuses the confirmation, and runs the action once confirmed', async () => {
    let runs = 0
    render(<ConfirmAction label='Disable' question='Disable ada?' onConfirm={async () => { runs++ }} />)
    fireEvent.click(screen.getByRole('button', { name: 'Disable' }))
    expect(runs).toBe(0)
    expect(screen.getByRole('alertdialog', { name: 'Disable ada?' })).toBeTruthy()
    await waitFor(() => expect(document.activeElement?.textContent).toBe('Confirm disable'))
    fireEvent.click(screen.getByRole('button', { name: 'Confirm disable' }))
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull())
    expect(runs).toBe(1)
  })

  it('shows the API\'s problem+json title and detail when the action is refused, and Escape closes it', async () => {
    const refusal = new ProblemError({ status: 409, title: 'Last admin', detail: 'The last active admin cannot lose the admin role.' })
    render(<ConfirmAction label='Save roles' question='Save?' onConfirm={async () => { throw refusal }} />)
    fireEvent.click(screen.getByRole('button', { name: 'Save roles' }))
    fireEvent.click(screen.getByRole('button', { name: 'Confirm save roles' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toContain('Last admin (409)')
    expect(alert.textContent).toContain('The last active admin cannot lose the admin role.')
    fireEvent.keyDown(screen.getByRole('alertdialog'), { key: 'Escape' })
    expect(screen.queryByRole('alertdialog')).toBeNull()
    expect(document.activeElement?.textContent).toBe('Save roles')
  })

  it('cancels without acting', () => {
    let runs = 0
    render(<ConfirmAction label='Retry' question='Retry?' onConfirm={async () => { runs++ }} />)
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }))
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByRole('alertdialog')).toBeNull()
    expect(runs).toBe(0)
  })
})

describe('BarChart', () => {
  it('draws with attributes and classes only (no style attribute for a style-src \'self\' policy) and names its numbers', () => {
    const { container } = render(<BarChart title='Runs' bars={[{ label: 'succeeded', value: 8, tone: 'good' }, { label: 'failed', value: 2, tone: 'bad' }]} />)
    expect(container.querySelectorAll('[style]')).toHaveLength(0)
    expect(screen.getByRole('img', { name: 'Runs: succeeded 8, failed 2' })).toBeTruthy()
    const widths = [...container.querySelectorAll('rect')].map((r) => Number(r.getAttribute('width')))
    expect(widths[0]).toBeGreaterThan(widths[1] ?? Infinity)
    expect(container.querySelector('rect.bar.bad')).not.toBeNull()
  })

  it('says there is no data rather than drawing nothing', () => {
    render(<BarChart title='Runs' bars={[]} />)
    expect(screen.getByText('No data yet.')).toBeTruthy()
  })
})

function Where () {
  const location = useLocation()
  return <output aria-label='url'>{location.pathname}{location.search}</output>
}

function FilteredList ({ next }: { next: string | null }) {
  const [f, set] = useFilters(['q'] as const)
  return (
    <>
      <label>Search<input value={f.q} onChange={(e) => set('q', e.target.value)} /></label>
      <Pager nextCursor={next} />
      <Where />
    </>
  )
}

describe('Pager and URL filters', () => {
  it('keeps the cursor and the filters in the URL, and a new filter goes back to the first page', () => {
    render(<MemoryRouter initialEntries={['/users?q=ada']}><Routes><Route path='/users' element={<FilteredList next='c2' />} /></Routes></MemoryRouter>)
    const url = () => screen.getByRole('status', { name: 'url' }).textContent
    expect(screen.getByRole('button', { name: 'First page' }).hasAttribute('disabled')).toBe(true)
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }))
    expect(url()).toBe('/users?q=ada&cursor=c2')
    fireEvent.change(screen.getByLabelText('Search'), { target: { value: 'bob' } })
    expect(url()).toBe('/users?q=bob')
  })

  it('disables Next on the last page', () => {
    render(<MemoryRouter initialEntries={['/users']}><Routes><Route path='/users' element={<FilteredList next={null} />} /></Routes></MemoryRouter>)
    expect(screen.getByRole('button', { name: 'Next page' }).hasAttribute('disabled')).toBe(true)
  })
})
