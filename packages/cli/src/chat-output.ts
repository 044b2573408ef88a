import { CliError } from "./failures";

/**
 * Prints an OpenAI chat completion as it arrives: a stream's `delta.content` pieces as the
 * events come (the gateway's charge comment is already taken out by the SDK), or a whole
 * answer's `message.content`. Refusals and upstream errors become a CliError naming the code.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** The text of an error answer: the gateway's `{ error: { code, message } }` or an upstream's `{ error: { message, type } }`. */
export async function refusalOf(response: Response): Promise<CliError> {
    const text = await response.text().catch(() => "");
    let code = response.headers.get("zkapi-error") ?? undefined;
    let message = text.trim().slice(0, 500);
    try {
        const json = JSON.parse(text) as unknown;
        const error = isObject(json) && isObject(json.error) ? json.error : undefined;
        if (error !== undefined) {
            code = typeof error.code === "string" ? error.code : typeof error.type === "string" ? error.type : code;
            if (typeof error.message === "string") message = error.message;
        }
    } catch {
        // not JSON: the text itself
    }
    return new CliError(`the gateway answered ${response.status}${code === undefined ? "" : ` ${code}`}${message ? `: ${message}` : ""}`);
}

/** The content of one chunk of a chat completion stream (`choices[0].delta.content`). */
function deltaOf(data: string): string {
    if (data === "[DONE]") return "";
    let json: unknown;
    try {
        json = JSON.parse(data);
    } catch {
        return "";
    }
    if (!isObject(json)) return "";
    if (isObject(json.error)) throw new CliError(`the stream ended with an error: ${String(json.error.message ?? JSON.stringify(json.error))}`);
    const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
    const delta = isObject(choice) && isObject(choice.delta) ? choice.delta : undefined;
    return typeof delta?.content === "string" ? delta.content : "";
}

/** Writes a streamed answer's text to `out` as it arrives; returns the whole text. */
export async function printStream(response: Response, out: NodeJS.WritableStream): Promise<string> {
    if (response.body === null) return "";
    const decoder = new TextDecoder();
    let pending = "";
    let text = "";
    const consume = (block: string): void => {
        const data = block
            .split(/\r?\n/)
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).replace(/^ /, ""))
            .join("\n");
        if (data.length === 0) return;
        const piece = deltaOf(data);
        if (piece.length > 0) {
            out.write(piece);
            text += piece;
        }
    };
    const reader = response.body.getReader();
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        const blocks = pending.split(/\r?\n\r?\n/);
        pending = blocks.pop()!;
        blocks.forEach(consume);
    }
    pending += decoder.decode();
    if (pending.trim().length > 0) consume(pending);
    out.write("\n");
    return text;
}

/** Writes a whole answer's text (`choices[0].message.content`) to `out`. */
export async function printAnswer(response: Response, out: NodeJS.WritableStream): Promise<string> {
    const json = (await response.json()) as unknown;
    const choice = isObject(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
    const message = isObject(choice) && isObject(choice.message) ? choice.message : undefined;
    if (typeof message?.content !== "string") throw new CliError(`the answer has no message: ${JSON.stringify(json).slice(0, 300)}`);
    out.write(`${message.content}\n`);
    return message.content;
}
