/** A request as the policy sees it. */
export interface PolicyRequest {
    readonly method: string;
    readonly path: string;
    readonly body: Buffer;
}

/** The policy's verdict: a violation is refused, penalised (burned) and logged on-chain. */
export type PolicyVerdict = { readonly violation: false } | { readonly violation: true; readonly evidence: string };

export type PolicyCheck = (request: PolicyRequest) => PolicyVerdict | Promise<PolicyVerdict>;

/** No request violates anything. */
export const allowEverything: PolicyCheck = () => ({ violation: false });

/** A request whose body matches any pattern violates the terms (example policy). */
export function blockPatterns(patterns: readonly RegExp[]): PolicyCheck {
    return (request) => {
        const text = request.body.toString("utf8");
        const match = patterns.find((pattern) => pattern.test(text));
        return match === undefined ? { violation: false } : { violation: true, evidence: `body matches ${match.source}` };
    };
}
