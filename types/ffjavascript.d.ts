// The part of ffjavascript (iden3's finite-field library, used by snarkjs) this project uses.
declare module "ffjavascript" {
    /** A curve engine (bn128) with WebAssembly field and group arithmetic. */
    export interface CurveEngine {
        readonly name: string;
        terminate(): Promise<void>;
        readonly [member: string]: unknown;
    }

    // ------------------------------------------------------------------ bn128 engine
    //
    // The slice of the bn128 engine the provider's batch verifier uses: the raw exports of
    // the wasmcurves module (every argument is a byte offset into the module's memory; field
    // elements are 32-byte little-endian Montgomery form, Fp2 = (c0, c1), G1 affine = x‖y,
    // G1 Jacobian = X‖Y‖Z, G2 likewise over Fp2) plus a few high-level helpers.

    /** Raw functions of the bn128 WebAssembly module (wasmcurves). Pointers are byte offsets. */
    export interface Bn128WasmExports {
        // Fp
        f1m_toMontgomery(a: number, r: number): void;
        f1m_fromMontgomery(a: number, r: number): void;
        f1m_one(r: number): void;
        f1m_zero(r: number): void;
        // Fp2
        f2m_mul(a: number, b: number, r: number): void;
        /** r = a · s with a ∈ Fp2, s ∈ Fp. */
        f2m_mul1(a: number, s: number, r: number): void;
        f2m_conjugate(a: number, r: number): void;
        f2m_one(r: number): void;
        f2m_zero(r: number): void;
        f2m_isSquare(a: number): number;
        f2m_sqrt(a: number, r: number): void;
        f2m_add(a: number, b: number, r: number): void;
        // Fp12
        ftm_one(r: number): void;
        ftm_mul(a: number, b: number, r: number): void;
        ftm_square(a: number, r: number): void;
        ftm_eq(a: number, b: number): number;
        // G1 (Jacobian 96 bytes, affine 64 bytes)
        g1m_inCurveAffine(p: number): number;
        g1m_isZero(p: number): number;
        g1m_zero(r: number): void;
        g1m_add(a: number, b: number, r: number): void;
        g1m_addMixed(a: number, b: number, r: number): void;
        g1m_double(a: number, r: number): void;
        g1m_eq(a: number, b: number): number;
        g1m_neg(a: number, r: number): void;
        g1m_toAffine(a: number, r: number): void;
        g1m_timesScalar(p: number, scalar: number, scalarBytes: number, r: number): void;
        g1m_timesScalarAffine(p: number, scalar: number, scalarBytes: number, r: number): void;
        /** r = Σ scalar_k · base_k over n affine bases and n scalars of scalarBytes each (Pippenger). */
        g1m_multiexpAffine(bases: number, scalars: number, scalarBytes: number, n: number, r: number): void;
        // G2 (Jacobian 192 bytes, affine 128 bytes)
        g2m_inCurveAffine(p: number): number;
        g2m_isZero(p: number): number;
        g2m_add(a: number, b: number, r: number): void;
        g2m_double(a: number, r: number): void;
        g2m_eq(a: number, b: number): number;
        g2m_toAffine(a: number, r: number): void;
        g2m_timesScalar(p: number, scalar: number, scalarBytes: number, r: number): void;
        g2m_timesScalarAffine(p: number, scalar: number, scalarBytes: number, r: number): void;
        // pairing
        /** Line coefficients of the optimal ate Miller loop for a G2 point (Jacobian in, preQSize bytes out). */
        bn128_prepareG2(q: number, preQ: number): void;
        bn128_millerLoop(preP: number, preQ: number, r: number): void;
        bn128_finalExponentiation(a: number, r: number): void;
        /** f ← f · (ell0 + ellVW·w + ellVV·v·w)-style sparse line multiplication. */
        bn128__mulBy024(ell0: number, ellVW: number, ellVV: number, f: number): void;
    }

    /** The engine's WebAssembly instance and its bump allocator. */
    export interface ThreadManager {
        readonly instance: { readonly exports: Bn128WasmExports };
        readonly memory: { readonly buffer: ArrayBuffer };
        readonly u8: Uint8Array;
        readonly u32: Uint32Array;
        readonly singleThread: boolean;
        /** Reserves `length` bytes (4-aligned) of module memory; never freed outside a sync op. */
        alloc(length: number): number;
    }

    /**
     * A field of the engine; elements are Montgomery byte buffers. `C` is how an element is
     * written as plain numbers: bigint for Fp, [c0, c1] for Fp2.
     */
    export interface WasmField<C> {
        readonly n8: number;
        readonly one: Uint8Array;
        readonly zero: Uint8Array;
        fromObject(value: C): Uint8Array;
        toObject(element: Uint8Array): C;
        add(a: Uint8Array, b: Uint8Array): Uint8Array;
        sub(a: Uint8Array, b: Uint8Array): Uint8Array;
        mul(a: Uint8Array, b: Uint8Array): Uint8Array;
        square(a: Uint8Array): Uint8Array;
        neg(a: Uint8Array): Uint8Array;
        eq(a: Uint8Array, b: Uint8Array): boolean;
        isSquare(a: Uint8Array): boolean;
        sqrt(a: Uint8Array): Uint8Array;
    }

    /**
     * A group of the engine with points as byte buffers (affine 2·n8, Jacobian 3·n8 bytes);
     * `C` is a coordinate written as plain numbers (see WasmField).
     */
    export interface WasmGroup<C> {
        readonly F: WasmField<C>;
        /** The generator (Jacobian). */
        readonly g: Uint8Array;
        readonly zero: Uint8Array;
        /** The curve's b (y² = x³ + b). */
        readonly b: Uint8Array;
        /** [x, y] (affine) or [x, y, z] (Jacobian). */
        fromObject(point: readonly C[]): Uint8Array;
        /** [x, y, z], z = 1 for affine input. */
        toObject(point: Uint8Array): C[];
        toAffine(point: Uint8Array): Uint8Array;
        toJacobian(point: Uint8Array): Uint8Array;
        timesScalar(point: Uint8Array, scalar: bigint | number | Uint8Array): Uint8Array;
        add(a: Uint8Array, b: Uint8Array): Uint8Array;
        sub(a: Uint8Array, b: Uint8Array): Uint8Array;
        neg(point: Uint8Array): Uint8Array;
        double(point: Uint8Array): Uint8Array;
        eq(a: Uint8Array, b: Uint8Array): boolean;
        isZero(point: Uint8Array): boolean;
        /** On the curve (no subgroup check). */
        isValid(point: Uint8Array): boolean;
        multiExpAffine(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
    }

    /** The bn128 (alt_bn128, BN254) engine. */
    export interface Bn128Engine extends CurveEngine {
        readonly tm: ThreadManager;
        /** Base-field modulus p. */
        readonly q: bigint;
        /** Group order r (the scalar field). */
        readonly r: bigint;
        readonly prePSize: number;
        readonly preQSize: number;
        readonly F1: WasmField<bigint>;
        readonly F2: WasmField<readonly bigint[]>;
        readonly G1: WasmGroup<bigint>;
        readonly G2: WasmGroup<readonly bigint[]>;
        /** e(a1, b1) · e(a2, b2) · … == 1, Miller loops on the worker threads. */
        pairingEq(...pointPairs: Uint8Array[]): Promise<boolean>;
    }

    /** The bn128 engine; `singleThread` builds a private instance without worker threads. */
    export function getCurveFromName(name: "bn128" | "BN128", singleThread?: boolean): Promise<Bn128Engine>;
    export function getCurveFromName(name: string, singleThread?: boolean): Promise<CurveEngine>;
}
