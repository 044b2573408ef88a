/** Names of the built circuit instances. */
export type CircuitName = "spend-32" | "fold-2" | "withdraw-2-8" | "slash";

/** Where a circuit's proving artifacts are. */
export interface CircuitArtifactPaths {
    readonly wasm: string;
    readonly zkey: string;
    readonly verificationKey: string;
}

/** The folder holding the artifacts and manifest.json. */
export declare const ARTIFACTS_DIR: string;
export declare const CIRCUITS: readonly CircuitName[];

/** Paths of one circuit's committed artifacts. */
export declare function circuitArtifacts(name: CircuitName): CircuitArtifactPaths;
