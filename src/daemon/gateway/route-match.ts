// Matches a request path against the ROUTES table of the contract. Literal
// segments beat parameters, so `POST /photos/search` is the search and not a
// photo called "search".

import { ROUTES, type GatewayRoute } from '../../protocol/http-api';

export type RouteMatch =
  | { kind: 'route'; route: GatewayRoute; params: Record<string, string> }
  /** The path exists, the method does not: these methods do. */
  | { kind: 'method'; allow: string[]; template: string }
  | { kind: 'none' };

interface Compiled {
  route: GatewayRoute;
  segments: string[];
  literals: number;
}

const COMPILED: Compiled[] = ROUTES.map((route) => {
  const segments = route.path.split('/').slice(1);
  return { route, segments, literals: segments.filter((s) => !s.startsWith(':')).length };
}).sort((a, b) => b.literals - a.literals);

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const part = parts[i]!;
    if (want.startsWith(':')) {
      if (part === '') return null;
      params[want.slice(1)] = part;
    } else if (want !== part) {
      return null;
    }
  }
  return params;
}

/** HEAD is served wherever GET is. Path parameters come back as they were sent (still percent-encoded). */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const parts = pathname.split('/').slice(1);
  const allow = new Set<string>();
  let template: string | null = null;
  for (const compiled of COMPILED) {
    const params = matchSegments(compiled.segments, parts);
    if (params === null) continue;
    template ??= compiled.route.path;
    const routeMethod = compiled.route.method as string;
    allow.add(routeMethod);
    if (routeMethod === 'GET') allow.add('HEAD');
    if (routeMethod === method || (method === 'HEAD' && routeMethod === 'GET')) {
      return { kind: 'route', route: compiled.route, params };
    }
  }
  if (template === null) return { kind: 'none' };
  return { kind: 'method', allow: [...allow], template };
}
