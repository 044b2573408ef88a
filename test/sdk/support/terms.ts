import type { RegistryTerms } from "@zk-api-credits/protocol";

/** Terms of the account-file tests: a deposit of 1,000,000 reserves the whole window (W = 8) at 1,500 a ticket. */
export const WORKER_TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };
export const WORKER_DEPOSIT = 1_000_000n;
