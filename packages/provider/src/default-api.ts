import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { EchoUpstream, PriceTable, upstreamApi } from "./api";
import type { GatewayApi } from "./gateway";

/** The demo's prices when no price file is given: 10 tokens per million input tokens, 20 per million output tokens. */
export const DEFAULT_PRICES = { input: "10", output: "20" } as const;

/**
 * The deterministic local model behind every paid route (OpenAI, Anthropic, Ollama), priced
 * uniformly: the demo and the tests need no network. `decimals` is the token's (18 for the
 * TestToken).
 */
export function defaultApi(deployment: RegistryDeployment, decimals = 18): GatewayApi {
    const { maxCost, policyPenalty } = deployment.parameters;
    return upstreamApi({
        upstream: new EchoUpstream(),
        prices: PriceTable.uniform({ decimals, maxCost, policyPenalty }, DEFAULT_PRICES.input, DEFAULT_PRICES.output)
    });
}
