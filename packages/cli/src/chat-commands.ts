import type { Command } from "commander";
import { TICKET_WINDOW } from "@zk-api-credits/protocol";
import { startOpenAIProxy } from "@zk-api-credits/sdk";
import type { ChargeEvent, ZkApiClient } from "@zk-api-credits/sdk";
import { moreRequests } from "./balance-view";
import { printAnswer, printStream, refusalOf } from "./chat-output";
import { noticeOf, passphraseOf, profileOf } from "./command-context";
import type { Lifecycle } from "./command-context";
import { CliError, describeFailure } from "./failures";
import type { Session } from "./profile";
import { reportProgress } from "./progress";
import { formatTokens } from "./token-amounts";

/** The model the gateway's local echo upstream answers as. */
const FALLBACK_MODEL = "echo";

function ticketCount(text: string, option: string, minimum: number): number {
    const count = Number(text);
    if (!Number.isInteger(count) || count < minimum || count > TICKET_WINDOW) throw new CliError(`${option} takes ${minimum} to ${TICKET_WINDOW}`);
    return count;
}

/** The gateway's first listed model (GET /v1/models, free), or the echo model. */
async function defaultModel(client: ZkApiClient): Promise<string> {
    try {
        const response = await client.fetchFree("/v1/models");
        if (!response.ok) return FALLBACK_MODEL;
        const json = (await response.json()) as { data?: { id?: unknown }[] };
        const id = json.data?.[0]?.id;
        return typeof id === "string" ? id : FALLBACK_MODEL;
    } catch {
        return FALLBACK_MODEL;
    }
}

async function readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8").trim();
}

/** "charged 0.0001 ZKAPI-TEST for ticket 3 · available 8.85 ZKAPI-TEST · about 88,499 more requests like this one". */
async function chargeLine(session: Session, client: ZkApiClient, charge: ChargeEvent | undefined): Promise<string> {
    const balance = await client.balance();
    const available = `available ${formatTokens(balance.available, session.token)}`;
    if (charge === undefined) return available;
    const penalty = charge.penalty > 0n ? ` and a penalty of ${formatTokens(charge.penalty, session.token)} (policy violation)` : "";
    const more = balance.canPay ? ` · ${await moreRequests(client, { cost: charge.cost, label: "like this one" })}` : "";
    return `charged ${formatTokens(charge.cost, session.token)}${penalty} for ticket ${charge.index} · ${available}${more}`;
}

/** zkapi chat|proxy */
export function chatCommands(program: Command, lifecycle: Lifecycle): void {
    program
        .command("chat")
        .description("send one paid, anonymous chat completion and print the answer as it streams (uses tickets proved ahead)")
        .argument("[message...]", "the message (default: read from stdin)")
        .option("--model <name>", "model to ask (default: the gateway's first listed model)")
        .option("--system <text>", "a system message before yours")
        .option("--max-tokens <n>", "limit of the answer's tokens (default: the gateway caps it to what maxCost pays)")
        .option("--no-stream", "wait for the whole answer instead of streaming it")
        .option("--prepare <n>", "tickets to leave proved ahead for the next requests (0: none)", "1")
        .action(async (words: string[], options: { model?: string; system?: string; maxTokens?: string; stream: boolean; prepare: string }, command: Command) => {
            const notice = noticeOf(command);
            const prepare = ticketCount(options.prepare, "--prepare", 0);
            const message = words.length > 0 ? words.join(" ") : process.stdin.isTTY ? "" : await readStdin();
            if (message.length === 0) throw new CliError("give the message as an argument (or on stdin)");
            if (options.maxTokens !== undefined && !/^[1-9]\d*$/.test(options.maxTokens)) throw new CliError("--max-tokens takes a positive number");
            const session = await profileOf(command).openSession();
            try {
                const client = await session.openClient({ passphrase: passphraseOf(command), restore: true, prepareAhead: prepare });
                reportProgress(client, notice);
                let charge: ChargeEvent | undefined;
                client.on("charged", (event) => {
                    if (event.how === "request") charge ??= event;
                });
                await client.start();
                // The request takes the lowest free index: have it proved ahead (at once if an earlier command did).
                if (prepare > 0) await client.prepareTickets(1);
                const model = options.model ?? (await defaultModel(client));
                const messages = [...(options.system === undefined ? [] : [{ role: "system", content: options.system }]), { role: "user", content: message }];
                const response = await client.fetch("/v1/chat/completions", {
                    method: "POST",
                    headers: { "content-type": "application/json", accept: options.stream ? "text/event-stream" : "application/json" },
                    body: JSON.stringify({
                        model,
                        messages,
                        ...(options.maxTokens === undefined ? {} : { max_tokens: Number(options.maxTokens) }),
                        ...(options.stream ? { stream: true, stream_options: { include_usage: true } } : {})
                    })
                });
                if (!response.ok) {
                    const refusal = await refusalOf(response);
                    await client.settled();
                    throw refusal;
                }
                if (options.stream && (response.headers.get("content-type") ?? "").includes("text/event-stream")) await printStream(response, process.stdout);
                else await printAnswer(response, process.stdout);
                await client.settled();
                notice(await chargeLine(session, client, charge));
                if (prepare > 0 && (await client.balance()).canPay) {
                    await client.prepareTickets(prepare).catch(async (error: unknown) => notice(`tickets were not proved ahead: ${await describeFailure(error)}`));
                }
            } finally {
                await session.close();
            }
        });

    program
        .command("proxy")
        .description("serve a local OpenAI-, Anthropic- and Ollama-compatible endpoint that pays each call anonymously (concurrent, streaming)")
        .option("--port <port>", "local port", "8080")
        .option("--host <host>", "interface to listen on (keep it on loopback: whoever reaches it spends your deposit)", "127.0.0.1")
        .option("--prepare <n>", `tickets kept proved ahead (0 to ${TICKET_WINDOW})`, String(TICKET_WINDOW))
        .action(async (options: { port: string; host: string; prepare: string }, command: Command) => {
            const notice = noticeOf(command);
            const prepare = ticketCount(options.prepare, "--prepare", 0);
            const port = Number(options.port);
            if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError("--port takes a port number");
            const session = await profileOf(command).openSession();
            const client = await session.openClient({ passphrase: passphraseOf(command), restore: true, prepareAhead: prepare });
            reportProgress(client, notice);
            client.on("charged", (event) => {
                if (event.how === "request" || event.how === "recovered" || event.how === "adopted") {
                    void chargeLine(session, client, event).then(notice, () => undefined);
                }
            });
            try {
                await client.loadGatewayRoutes();
            } catch (error) {
                notice(`warning: the gateway's routes are unknown (${await describeFailure(error)}): the default paid routes are used`);
            }
            await client.start();
            const proxy = await startOpenAIProxy({ client, port, host: options.host }).catch(async (error: unknown) => {
                await session.close();
                throw new CliError(`cannot listen on ${options.host}:${port}: ${error instanceof Error ? error.message : String(error)}`);
            });
            lifecycle.keepAlive = true;
            console.log(`zkapi proxy listening on ${proxy.url}`);
            console.log(`  OpenAI clients:    base URL ${proxy.url}/v1 (any API key)`);
            console.log(`  Anthropic clients: base URL ${proxy.url}`);
            console.log(`  Ollama clients:    ${proxy.url}`);
            console.log("each paid call spends an anonymous ticket of this profile's deposit; Ctrl-C stops");
            const stop = (): void => {
                void proxy
                    .close()
                    .then(() => session.close())
                    .finally(() => process.exit(0));
            };
            process.once("SIGINT", stop);
            process.once("SIGTERM", stop);
        });
}
