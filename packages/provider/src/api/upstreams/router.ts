import type { ApiRoute } from "@zk-api-credits/metering";
import { UpstreamError } from "./types";
import type { Upstream, UpstreamReply, UpstreamsByDialect } from "./types";

/**
 * Sends each route to the upstream configured for its dialect (an OpenAI-compatible server
 * for `/v1/*`, Anthropic's API for `/v1/messages`, Ollama for `/api/*`).
 */
export class UpstreamRouter implements Upstream {
    constructor(private readonly upstreams: UpstreamsByDialect) {}

    serves(route: ApiRoute): boolean {
        return this.upstreams[route.dialect]?.serves(route) ?? false;
    }

    send(route: ApiRoute, body: Buffer, signal?: AbortSignal): Promise<UpstreamReply> {
        const upstream = this.upstreams[route.dialect];
        if (upstream === undefined || !upstream.serves(route)) {
            return Promise.reject(new UpstreamError("unsupported", `no upstream serves ${route.method} ${route.path}`));
        }
        return upstream.send(route, body, signal);
    }
}
