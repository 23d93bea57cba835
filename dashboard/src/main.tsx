import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { createBrowserRouter, RouterProvider } from 'react-router'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { createApi } from './session/api.ts'
import { SessionProvider } from './session/SessionProvider.tsx'
import { routes } from './app/routes.tsx'
import './styles.css'

const api = createApi()
const queries = new QueryClient({ defaultOptions: { queries: { retry: 1, staleTime: 5_000, refetchOnWindowFocus: false } } })
const router = createBrowserRouter(routes, { basename: '/admin' })
const root = document.getElementById('root')
if (root === null) throw new Error('#root is missing')

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <SessionProvider api={api}>
        <RouterProvider router={router} />
      </SessionProvider>
    </QueryClientProvider>
  </StrictMode>
)
