// The part of ffjavascript (iden3's finite-field library, used by snarkjs) this project uses.
declare module "ffjavascript" {
    /** A curve engine (bn128) with WebAssembly field and group arithmetic. */
    export interface CurveEngine {
        readonly name: string;
        terminate(): Promise<void>;
        readonly [member: string]: unknown;
    }
    export function getCurveFromName(name: string, singleThread?: boolean): Promise<CurveEngine>;
}
