import { expect } from "chai";
import { ChargeEventFilter, streamFramingOf } from "@zk-api-credits/sdk";

const CHARGE = "eyJ2ZXJzaW9uIjoyfQ";

const OPENAI_STREAM = [
    'data: {"id":"c1","choices":[{"delta":{"content":"Hel"}}]}\n\n',
    'data: {"id":"c1","choices":[{"delta":{"content":"lo é✓"}}]}\n\n',
    'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n',
    "data: [DONE]\n\n"
].join("");

const ANTHROPIC_STREAM = [
    'event: message_start\ndata: {"type":"message_start"}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"Hi"}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n'
].join("");

/** Runs `text` through a filter in chunks of `size` bytes; what the client sees, and the charge. */
function relay(text: string, size: number, framing: "sse" | "ndjson"): { seen: string; charge: string | undefined; chunks: number } {
    const bytes = new TextEncoder().encode(text);
    const filter = new ChargeEventFilter(framing);
    const decoder = new TextDecoder();
    let seen = "";
    let chunks = 0;
    for (let at = 0; at < bytes.length; at += size) {
        const out = filter.push(bytes.subarray(at, at + size));
        if (out.length > 0) chunks++;
        seen += decoder.decode(out, { stream: true });
    }
    seen += decoder.decode(filter.end());
    return { seen, charge: filter.charge, chunks };
}

describe("SDK stream relay", function () {
    it("Should know streamed answers by content type", function () {
        expect(streamFramingOf("text/event-stream; charset=utf-8")).to.equal("sse");
        expect(streamFramingOf("application/x-ndjson")).to.equal("ndjson");
        expect(streamFramingOf("application/json")).to.equal(undefined);
        expect(streamFramingOf(null)).to.equal(undefined);
    });

    for (const [name, upstream] of [
        ["OpenAI", OPENAI_STREAM],
        ["Anthropic", ANTHROPIC_STREAM]
    ] as const) {
        for (const [form, trailer] of [
            ["comment `: zkapi-charge`", `: zkapi-charge ${CHARGE}\n\n`],
            ["event `zkapi-charge`", `event: zkapi-charge\ndata: ${CHARGE}\n\n`]
        ] as const) {
            it(`Should relay a ${name} stream unchanged and take the final charge (${form}) out, however it is cut`, function () {
                const gateway = `${upstream}${trailer}`;
                for (const size of [1, 2, 3, 7, 64, gateway.length]) {
                    const { seen, charge } = relay(gateway, size, "sse");
                    expect(seen, `chunks of ${size}`).to.equal(upstream);
                    expect(charge).to.equal(CHARGE);
                }
            });
        }
    }

    it("Should keep an upstream event that the charge comment was glued to, and take only the comment line out", function () {
        const { seen, charge } = relay(`data: {"last":true}\n: zkapi-charge ${CHARGE}\n\n`, 4, "sse");
        expect(seen).to.equal('data: {"last":true}\n\n');
        expect(charge).to.equal(CHARGE);
    });

    it("Should forward each event as soon as its last byte arrives (no buffering to the end)", function () {
        const { chunks } = relay(`${OPENAI_STREAM}event: zkapi-charge\ndata: ${CHARGE}\n\n`, 16, "sse");
        expect(chunks).to.be.greaterThanOrEqual(4);
        const filter = new ChargeEventFilter("sse");
        const first = new TextDecoder().decode(filter.push(new TextEncoder().encode('data: {"a":1}\n\ndata: {"b"')));
        expect(first).to.equal('data: {"a":1}\n\n');
    });

    it("Should accept CRLF framing", function () {
        const upstream = 'data: {"x":1}\r\n\r\n';
        const { seen, charge } = relay(`${upstream}event: zkapi-charge\r\ndata: ${CHARGE}\r\n\r\n`, 5, "sse");
        expect(seen).to.equal(upstream);
        expect(charge).to.equal(CHARGE);
    });

    it("Should report no charge for a stream that broke before its charge event (the client then looks it up)", function () {
        const { seen, charge } = relay('data: {"partial":true}\n\ndata: {"cut', 4, "sse");
        expect(seen).to.equal('data: {"partial":true}\n\ndata: {"cut');
        expect(charge).to.equal(undefined);
    });

    it("Should not take out an upstream event that merely mentions zkapi-charge", function () {
        const upstream = 'data: {"text":"event: zkapi-charge"}\n\n';
        const { seen, charge } = relay(upstream, 3, "sse");
        expect(seen).to.equal(upstream);
        expect(charge).to.equal(undefined);
    });

    it("Should take the charge line out of an NDJSON (Ollama) stream", function () {
        const upstream = '{"message":{"content":"Hi"},"done":false}\n{"done":true,"eval_count":2}\n';
        const { seen, charge } = relay(`${upstream}{"zkapi-charge":"${CHARGE}"}\n`, 3, "ndjson");
        expect(seen).to.equal(upstream);
        expect(charge).to.equal(CHARGE);
    });
});
