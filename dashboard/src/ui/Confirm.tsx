import { useEffect, useId, useRef, useState } from 'react'
import { ProblemAlert } from './Problem.tsx'

interface Props {
  /** label is the button that starts the action, e.g. "Disable". */
  label: string
  /** question is what the confirmation asks, e.g. "Disable ada@example.com? Their sessions end." */
  question: string
  onConfirm: () => Promise<unknown>
  danger?: boolean
}

/**
 * ConfirmAction is a destructive action behind a confirmation: the question appears as an
 * alertdialog with focus on "Confirm"; Escape or "Cancel" closes it; a refusal shows the API's
 * problem+json detail in place.
 */
export function ConfirmAction ({ label, question, onConfirm, danger = true }: Props) {
  const [open, setOpen] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const confirmRef = useRef<HTMLButtonElement>(null)
  const openerRef = useRef<HTMLButtonElement>(null)
  const id = useId()
  useEffect(() => { if (open) confirmRef.current?.focus() }, [open])
  const close = () => { setOpen(false); setError(null); openerRef.current?.focus() }
  const run = async () => {
    setBusy(true)
    setError(null)
    try {
      await onConfirm()
      setOpen(false)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <span className='confirm'>
      <button ref={openerRef} type='button' className={danger ? 'danger' : ''} onClick={() => setOpen(true)} aria-expanded={open}>{label}</button>
      {open && (
        <div role='alertdialog' aria-labelledby={id} className='confirm-box' onKeyDown={(e) => { if (e.key === 'Escape') close() }}>
          <p id={id}>{question}</p>
          <ProblemAlert error={error} />
          <button ref={confirmRef} type='button' className={danger ? 'danger' : ''} disabled={busy} onClick={() => { run() }}>Confirm {label.toLowerCase()}</button>
          <button type='button' onClick={close}>Cancel</button>
        </div>
      )}
    </span>
  )
}
