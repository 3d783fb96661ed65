// Which screen is shown: plain Svelte state, no router. Screens call `go` to move; the shell
// renders `nav.route` and moves focus to the new screen's heading.

export type Route =
  | { name: 'connections' }
  | { name: 'connection'; id: string }
  | { name: 'add'; provider?: string }
  | { name: 'cloud'; providers?: string[] }
  | { name: 'settings' };

export type Section = 'connections' | 'add' | 'cloud' | 'settings';

export const nav: { route: Route; serial: number } = $state({ route: { name: 'connections' }, serial: 0 });

export function go(route: Route): void {
  nav.route = route;
  nav.serial += 1;
}

/** The sidebar entry a route belongs to. */
export function sectionOf(route: Route): Section {
  return route.name === 'connection' ? 'connections' : route.name;
}
