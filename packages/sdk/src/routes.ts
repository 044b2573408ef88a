import type { RouteSpec } from "./gateway-client";

/**
 * The paid routes of the gateway (docs/http-api.md, "Paid request"). Only these take a ticket:
 * anything else (GET /v1/models, GET /api/tags, the gateway's own routes, an unknown path) is
 * sent without one, so an unpaid or unknown route can never consume an index. The gateway's
 * own list (GET /zkapi/v2/registry `paidRoutes`) replaces this one when it publishes it.
 */
export const DEFAULT_PAID_ROUTES: readonly RouteSpec[] = [
    { method: "POST", path: "/v1/chat/completions" },
    { method: "POST", path: "/v1/completions" },
    { method: "POST", path: "/v1/responses" },
    { method: "POST", path: "/v1/embeddings" },
    { method: "POST", path: "/v1/messages" },
    { method: "POST", path: "/api/chat" }
];

function matches(route: RouteSpec, method: string, pathname: string): boolean {
    if (route.method.toUpperCase() !== method.toUpperCase()) return false;
    return route.path.endsWith("/*") ? pathname.startsWith(route.path.slice(0, -1)) : pathname === route.path;
}

/** True if `method pathname` is one of `routes` (pathname without query). */
export function isPaidRoute(routes: readonly RouteSpec[], method: string, pathname: string): boolean {
    return routes.some((route) => matches(route, method, pathname));
}
