import { anthropicMessages } from "./dialects/anthropic";
import { ollamaChat, ollamaTags } from "./dialects/ollama";
import { openAIChat, openAICompletions, openAIEmbeddings, openAIModels, openAIResponses } from "./dialects/openai";
import type { ApiRoute, FreeApiRoute, PaidApiRoute, RouteId } from "./route";

/**
 * Every route of the API surface, declared once: the gateway registers exactly these (paid
 * ones behind a ticket, free ones without), and anything else answers 404 without touching
 * a ticket.
 *
 * | route | dialect | paid | streams |
 * | --- | --- | --- | --- |
 * | `POST /v1/chat/completions` | openai | yes | SSE, usage chunk |
 * | `POST /v1/completions` | openai | yes | SSE, usage chunk |
 * | `POST /v1/responses` | openai | yes | SSE, `response.completed` usage |
 * | `POST /v1/embeddings` | openai | yes | no |
 * | `GET /v1/models` | openai | free | no |
 * | `POST /v1/messages` | anthropic | yes | SSE, `message_start`/`message_delta` usage |
 * | `POST /api/chat` | ollama | yes | NDJSON, `done: true` counts |
 * | `GET /api/tags` | ollama | free | no |
 */
export const PAID_ROUTES: readonly PaidApiRoute[] = [openAIChat, openAICompletions, openAIResponses, openAIEmbeddings, anthropicMessages, ollamaChat];
export const FREE_ROUTES: readonly FreeApiRoute[] = [openAIModels, ollamaTags];
export const API_ROUTES: readonly ApiRoute[] = [...PAID_ROUTES, ...FREE_ROUTES];

const byKey = new Map(API_ROUTES.map((route) => [`${route.method} ${route.path}`, route]));
const byId = new Map(API_ROUTES.map((route) => [route.id, route]));

/**
 * The route a request calls: exact method and path, the query ignored. Undefined: not part
 * of the API (404, no ticket touched).
 */
export function findRoute(method: string, url: string): ApiRoute | undefined {
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    return byKey.get(`${method.toUpperCase()} ${path}`);
}

/** A route by its id. */
export function routeById(id: RouteId): ApiRoute {
    const route = byId.get(id);
    if (route === undefined) throw new Error(`no route ${id}`);
    return route;
}

/** The paid route by its id (for an `ApiRequest.routeId`). */
export function paidRoute(id: RouteId): PaidApiRoute {
    const route = routeById(id);
    if (!route.paid) throw new Error(`${id} is not a paid route`);
    return route;
}
