import { useEffect, useRef, useState } from 'react'
import { createRealtimeClient } from '../../../sdk/realtime.ts'
import type { RealtimeEvent, RealtimeState } from '../../../sdk/realtime.ts'
import type { Api } from './api.ts'

/** realtimeUrl is the socket address next to the page (ws: or wss: like the page's scheme). */
export function realtimeUrl (location: { protocol: string, host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/realtime`
}

/**
 * useLiveChannel follows one realtime channel with the SDK's client, trading the in-memory access
 * token for a one-time ticket (browsers cannot set headers on a WebSocket). `onGap` and every
 * (re)subscription call `onEvent(null)` so the page refetches what it may have missed.
 */
export function useLiveChannel (api: Api, channel: string | null, onEvent: (event: RealtimeEvent | null) => void): RealtimeState | 'off' {
  const [state, setState] = useState<RealtimeState | 'off'>('off')
  const handler = useRef(onEvent)
  handler.current = onEvent
  useEffect(() => {
    if (channel === null) return
    const client = createRealtimeClient({
      url: realtimeUrl(globalThis.location),
      getTicket: async () => {
        const { data, error } = await api.client.POST('/api/v1/realtime/ticket')
        if (data === undefined) throw new Error(`ticket refused: ${JSON.stringify(error)}`)
        return data.ticket
      },
      onGap: () => handler.current(null),
      onStateChange: (s) => setState(s)
    })
    const sub = client.subscribe(channel, (e) => handler.current(e))
    sub.ready.then(() => handler.current(null), () => setState('closed'))
    return () => { sub.unsubscribe(); client.close() }
  }, [api, channel])
  return state
}
