/**
 * Hash routing for the app shell: `#/overview`, `#/models`, ... The location is injectable so the logic runs in
 * Node tests; in the browser it follows `window.location` and `hashchange`.
 */

export type Route = { id: string; title: string }

/** The app's views, in the order of the navigation. Each but the Overview is loaded on its first visit (App.svelte). */
export const APP_ROUTES: readonly Route[] = [
  { id: 'overview', title: 'Overview' },
  { id: 'models', title: 'Models' },
  { id: 'network', title: 'Network' },
  { id: 'node', title: 'Node' },
  { id: 'chat', title: 'Chat' },
  { id: 'code', title: 'Code' },
  { id: 'spending', title: 'Spending' },
  { id: 'prompts', title: 'Prompts' },
  { id: 'evaluate', title: 'Evaluate' },
]

export type RouterLocation = {
  getHash(): string
  setHash(hash: string): void
  onChange(listener: () => void): () => void
}

export const browserLocation = (): RouterLocation => ({
  getHash: () => window.location.hash,
  setHash: (hash) => {
    window.location.hash = hash
  },
  onChange: (listener) => {
    window.addEventListener('hashchange', listener)
    return () => window.removeEventListener('hashchange', listener)
  },
})

export class Router {
  readonly routes: readonly Route[]
  #location: RouterLocation
  #current = $state('')
  #stop: () => void

  constructor(routes: readonly Route[], location: RouterLocation = browserLocation()) {
    if (routes.length === 0) throw new Error('A router needs at least one route.')
    this.routes = routes
    this.#location = location
    this.#current = this.#resolve()
    this.#stop = location.onChange(() => {
      this.#current = this.#resolve()
    })
  }

  get current(): Route {
    return this.routes.find((route) => route.id === this.#current) ?? (this.routes[0] as Route)
  }

  go(id: string): void {
    this.#location.setHash(`#/${id}`)
  }

  destroy(): void {
    this.#stop()
  }

  #resolve(): string {
    const id = this.#location.getHash().replace(/^#\/?/, '').split(/[/?]/)[0] ?? ''
    return this.routes.some((route) => route.id === id) ? id : (this.routes[0] as Route).id
  }
}
