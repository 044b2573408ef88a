// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ISpendVerifier, IFoldVerifier, IWithdrawVerifier, ISlashVerifier} from "./IVerifiers.sol";
import {IRegistryCheckpoint} from "./IRegistryCheckpoint.sol";
import {IDepositCustody} from "./IDepositCustody.sol";

/// @title ICreditRegistry
/// @notice Anonymous, pay-per-request API credits for one provider and one ERC-20 token, protocol
/// version 2 (docs/protocol.md). A user deposits once under an identity commitment; each request
/// carries a ticket (a Spend proof of an index in the user's window); the provider signs a charge
/// per ticket and the client folds charges into signed bases. This registry holds the deposits,
/// keeps a keccak checkpoint over the registrations (the Poseidon tree lives off-chain), pays
/// withdrawals after a challenge window in which anyone may show them stale or incomplete, and
/// slashes whoever reuses a ticket.
interface ICreditRegistry is IRegistryCheckpoint, IDepositCustody {
    /// @notice Lifecycle of a deposit. A challenged withdrawal ends as Slashed (the deposit is forfeited).
    enum DepositStatus {
        None,
        Active,
        Withdrawing,
        Withdrawn,
        Slashed,
        Expired
    }

    /// @notice The three ways to show a withdrawal stale or incomplete.
    enum ChallengeKind {
        StaleBase,
        UndeclaredTicket,
        Disclosure
    }

    /// @notice A deposit, packed in one storage slot.
    /// @param amount Deposited token units (< 2^96).
    /// @param registeredAt Block timestamp of the registration (starts the deposit's term).
    /// @param withdrawalRequestedAt Block timestamp of the withdrawal request, 0 if none.
    /// @param leafIndex Position of the deposit's leaf in the registry tree.
    /// @param status Where the deposit is in its lifecycle.
    struct DepositRecord {
        uint96 amount;
        uint40 registeredAt;
        uint40 withdrawalRequestedAt;
        uint32 leafIndex;
        DepositStatus status;
    }

    /// @notice What a withdrawal claims (the public side of a Withdraw proof). Its keccak256 is stored;
    /// the data travels in calldata and in the WithdrawalRequested event.
    /// @param recipient Receives the refund; bound in the proof.
    /// @param spent Total charged up to the effective base e (paid to the treasury).
    /// @param burned Total of policy penalties up to e (sent to the burn address).
    /// @param declaredSlots The W-bit mask of declared slots: bit j set declares ticket e + j as sent
    /// but unsettled; each declared slot costs maxCost.
    /// @param foldNullifier F_{e*}: a Fold proof with this nullifier shows the user held a newer base.
    /// @param slotNullifiersHash Poseidon(Poseidon(n_0..n_3), Poseidon(n_4..n_7)) of the disclosed
    /// nullifiers, as the proof computed it.
    /// @param slotNullifiers n_j = 0 for a declared slot j, else the nullifier N_{e+j} of ticket e + j.
    struct WithdrawalRequest {
        address recipient;
        uint96 spent;
        uint96 burned;
        uint8 declaredSlots;
        uint256 foldNullifier;
        uint256 slotNullifiersHash;
        uint256[8] slotNullifiers;
    }

    /// @notice The public signals of a Spend proof that a challenger supplies; the registry adds its
    /// own context and the challenged slot's nullifier.
    struct SpendSignals {
        uint256 root;
        uint256 ticketX;
        uint256 ticketY;
        uint256 y;
        uint256 x;
    }

    /// @notice A Groth16 proof in the generated verifiers' argument order.
    struct Groth16Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice Deployment parameters of a registry.
    /// @param token The ERC-20 deposits are made in (no fee-on-transfer or rebasing tokens).
    /// @param treasury Receives what users spent, forfeited and slashed deposits and expired deposits.
    /// @param providerKeyX x of the provider's EdDSA (Baby Jubjub) public key.
    /// @param providerKeyY y of the provider's EdDSA (Baby Jubjub) public key.
    /// @param maxCost The most one request may cost; also what a declared slot costs.
    /// @param policyPenalty Burned from a deposit for a request that breaks the terms of service.
    /// @param reserveBps Basis points of each deposit that cannot be spent; pays slashing bounties.
    /// @param challengeWindow Seconds between a withdrawal request and its payout.
    /// @param depositTerm Seconds after registration when a deposit neither withdrawn nor
    /// slashed may be claimed by the provider (the term includes any grace period).
    /// @param epochBlocks Blocks per epoch of the tree roots clients prove against (> 0; not used
    /// on-chain, published for clients and the gateway).
    /// @param spendVerifier Verifier of Spend(32, 8) proofs.
    /// @param foldVerifier Verifier of Fold(2) proofs.
    /// @param withdrawVerifier Verifier of Withdraw(2, 8) proofs.
    /// @param slashVerifier Verifier of Slash proofs.
    /// @param owner The provider's operator: may report policy violations.
    struct RegistryConfig {
        IERC20 token;
        address treasury;
        uint256 providerKeyX;
        uint256 providerKeyY;
        uint96 maxCost;
        uint96 policyPenalty;
        uint16 reserveBps;
        uint32 challengeWindow;
        uint32 depositTerm;
        uint32 epochBlocks;
        ISpendVerifier spendVerifier;
        IFoldVerifier foldVerifier;
        IWithdrawVerifier withdrawVerifier;
        ISlashVerifier slashVerifier;
        address owner;
    }

    /// @notice The token address has no code.
    error InvalidToken(address token);
    /// @notice The treasury is the zero address.
    error InvalidTreasury(address treasury);
    /// @notice The provider key is not canonical, off the curve, or of small order (8·A = O).
    error InvalidProviderKey(uint256 x, uint256 y);
    /// @notice maxCost is zero, or no deposit below 2^96 could pay one request above its reserve.
    error InvalidMaxCost(uint256 maxCost);
    /// @notice reserveBps is 100 % or more.
    error InvalidReserve(uint256 reserveBps);
    /// @notice The challenge window is zero or longer than `maximum`.
    error InvalidChallengeWindow(uint256 challengeWindow, uint256 maximum);
    /// @notice The deposit term does not outlast the challenge window.
    error InvalidDepositTerm(uint256 depositTerm, uint256 challengeWindow);
    /// @notice epochBlocks is zero.
    error InvalidEpochBlocks(uint256 epochBlocks);
    /// @notice A verifier address has no code.
    error InvalidVerifier(address verifier);
    /// @notice The identity commitment is zero or not a canonical field element.
    error InvalidIdentityCommitment(uint256 identityCommitment);
    /// @notice A deposit already exists (or existed) under this identity commitment.
    error IdentityAlreadyRegistered(uint256 identityCommitment);
    /// @notice The deposit is below the minimum or above 2^96 - 1.
    error InvalidDepositAmount(uint256 amount, uint256 minimum, uint256 maximum);
    /// @notice The deposit is not in a status this call accepts.
    error UnexpectedDepositStatus(uint256 identityCommitment, DepositStatus status);
    /// @notice A withdrawal's recipient is the zero address.
    error InvalidRecipient(address recipient);
    /// @notice A withdrawal's fold nullifier is not a canonical field element.
    error NonCanonicalFoldNullifier(uint256 foldNullifier);
    /// @notice A withdrawal's slot nullifiers hash is not a canonical field element.
    error NonCanonicalSlotNullifiersHash(uint256 slotNullifiersHash);
    /// @notice A declared slot carries a nullifier (it must be 0).
    error DeclaredSlotDisclosed(uint256 slot, uint256 nullifier);
    /// @notice An undeclared slot's nullifier is 0 or not a canonical field element.
    error InvalidSlotNullifier(uint256 slot, uint256 nullifier);
    /// @notice The Withdraw proof does not verify against the request and this registry's context.
    error InvalidWithdrawProof(uint256 identityCommitment);
    /// @notice The request differs from the one stored for this deposit's pending withdrawal.
    error WithdrawalRequestMismatch(uint256 identityCommitment);
    /// @notice The challenge window of this withdrawal closed at `closedAt`.
    error ChallengeWindowClosed(uint256 identityCommitment, uint256 closedAt);
    /// @notice The challenge window of this withdrawal is open until `finalizableAt`.
    error ChallengeWindowOpen(uint256 identityCommitment, uint256 finalizableAt);
    /// @notice The challenge's Fold or Spend proof does not verify against the request.
    error InvalidChallengeProof(uint256 identityCommitment, ChallengeKind kind);
    /// @notice A ticket challenge named a slot outside the window [0, TICKET_WINDOW).
    error InvalidSlot(uint256 slot, uint256 ticketWindow);
    /// @notice A ticket challenge named a declared slot: the user pays maxCost for it, it cannot be challenged.
    error SlotDeclared(uint256 identityCommitment, uint256 slot);
    /// @notice The disclosed nullifiers do hash to the proof's slotNullifiersHash: nothing to challenge.
    error DisclosureConsistent(uint256 identityCommitment);
    /// @notice The Slash proof does not verify for this identity and receiver.
    error InvalidSlashProof(uint256 identityCommitment);
    /// @notice The deposit's term ends at `expiresAt`.
    error DepositNotExpired(uint256 identityCommitment, uint256 expiresAt);
    /// @notice A slash names the zero address as receiver.
    error InvalidReceiver(address receiver);
    /// @notice A violation report's nullifier is zero or not canonical.
    error InvalidNullifier(uint256 nullifier);
    /// @notice A violation was already reported for this nullifier.
    error ViolationAlreadyReported(uint256 nullifier);
    /// @notice A violation report carries no evidence hash.
    error InvalidEvidence(bytes32 evidenceHash);

    /// @notice A deposit joined the registry: everything a client needs to rebuild the tree.
    /// @param identityCommitment idc = Poseidon(k); the leaf is Poseidon(idc, amount).
    /// @param leafIndex Position of the leaf (registration order).
    /// @param amount Deposited token units.
    /// @param checkpoint keccak256(previous checkpoint, idc, amount), after this registration.
    event Registered(uint256 indexed identityCommitment, uint256 indexed leafIndex, uint256 amount, bytes32 checkpoint);

    /// @notice A withdrawal was requested; the deposit's leaf leaves the tree at the next epoch, and the
    /// withdrawal can be challenged until `finalizableAt`. Carries the whole request, so a watcher can
    /// challenge (or a gateway close the fold nullifier) without calling the contract.
    /// @param identityCommitment The deposit.
    /// @param recipient Receives the refund.
    /// @param foldNullifier The request's fold nullifier F_{e*}.
    /// @param spent Total charged up to the effective base.
    /// @param burned Total burned up to the effective base.
    /// @param declaredSlots The declared-slots mask.
    /// @param slotNullifiers The disclosed nullifiers (0 for declared slots).
    /// @param slotNullifiersHash The proof's hash of the disclosed nullifiers.
    /// @param finalizableAt First timestamp at which the withdrawal can be finalized.
    event WithdrawalRequested(
        uint256 indexed identityCommitment,
        address indexed recipient,
        uint256 foldNullifier,
        uint256 spent,
        uint256 burned,
        uint256 declaredSlots,
        uint256[8] slotNullifiers,
        uint256 slotNullifiersHash,
        uint256 finalizableAt
    );

    /// @notice A withdrawal was shown stale or incomplete; the deposit is forfeited.
    /// @param identityCommitment The deposit.
    /// @param challenger Who sent the challenge (receives nothing).
    /// @param kind Which challenge succeeded.
    /// @param toTreasury Accrued to the treasury: the deposit minus toBurn.
    /// @param toBurn Accrued to the burn address: min(burned, amount).
    event WithdrawalChallenged(
        uint256 indexed identityCommitment,
        address indexed challenger,
        ChallengeKind kind,
        uint256 toTreasury,
        uint256 toBurn
    );

    /// @notice A withdrawal was settled: refund + toTreasury + toBurn = the deposit.
    /// @param identityCommitment The deposit.
    /// @param recipient The refund's recipient.
    /// @param refund Paid to the recipient (or owed to it, see RefundDeferred).
    /// @param toTreasury Accrued to the treasury: min(spent + popcount(declaredSlots)·maxCost, amount − toBurn).
    /// @param toBurn Accrued to the burn address: min(burned, amount).
    event WithdrawalFinalized(
        uint256 indexed identityCommitment,
        address indexed recipient,
        uint256 refund,
        uint256 toTreasury,
        uint256 toBurn
    );

    /// @notice The token refused to pay a withdrawal's refund; it is owed to the recipient (claimRefund).
    /// @param identityCommitment The deposit.
    /// @param recipient The recipient.
    /// @param amount The refund now owed.
    event RefundDeferred(uint256 indexed identityCommitment, address indexed recipient, uint256 amount);

    /// @notice A deposit was slashed with a proof of knowledge of its secret; its leaf leaves the tree.
    /// @param identityCommitment The deposit.
    /// @param receiver Receives the bounty (and, for a deposit under withdrawal, nothing).
    /// @param bounty Paid to the receiver: the reserve of an active deposit, 0 under withdrawal.
    /// @param toTreasury Accrued to the treasury.
    /// @param toBurn Accrued to the burn address: min(burned, amount) under withdrawal, else 0.
    event Slashed(
        uint256 indexed identityCommitment,
        address indexed receiver,
        uint256 bounty,
        uint256 toTreasury,
        uint256 toBurn
    );

    /// @notice The provider reported a policy violation by the request with this nullifier.
    /// @param nullifier The ticket's nullifier.
    /// @param evidenceHash Hash of the evidence the provider keeps.
    /// @param violationCount Violations reported so far, this one included.
    event ViolationReported(uint256 indexed nullifier, bytes32 indexed evidenceHash, uint256 violationCount);

    /// @notice A deposit reached the end of its term unclaimed and went to the treasury; its leaf leaves the tree.
    /// @param identityCommitment The deposit.
    /// @param amount Accrued to the treasury.
    event DepositExpired(uint256 indexed identityCommitment, uint256 amount);

    /// @notice Deposits `amount` tokens under `identityCommitment` (the caller must have approved them).
    /// @dev Reverts if the commitment is not a canonical, non-zero field element or is already
    /// registered, if the amount cannot pay one request above the reserve or exceeds 2^96 - 1,
    /// if the tree is full (2^32 leaves), or if the token delivers a different amount than requested.
    /// @param identityCommitment idc = Poseidon(k), k the user's secret.
    /// @param amount Token units to deposit.
    function register(uint256 identityCommitment, uint256 amount) external;

    /// @notice Starts the withdrawal of a deposit with a Withdraw proof of its newest base, up to
    /// FOLD_SIZE charges beyond it, and its window of declared and disclosed slots.
    /// @dev Anyone may submit it: the proof binds the recipient. Reverts unless the deposit is
    /// active, the recipient is not zero, the fold nullifier and the hash are canonical, each
    /// declared slot's nullifier is 0 and each other slot's is canonical and non-zero, and the proof
    /// verifies with signals (idc, context, spent + burned·2^96 + declaredSlots·2^192,
    /// foldNullifier, slotNullifiersHash, recipient). Totals are not checked against the deposit:
    /// finalization caps them.
    /// @param identityCommitment The deposit to withdraw.
    /// @param request The claimed totals, declared slots, disclosed nullifiers and recipient.
    /// @param proof The Withdraw proof.
    function requestWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        Groth16Proof calldata proof
    ) external;

    /// @notice Challenge 1: a Fold proof whose fold nullifier is the request's shows that the owner
    /// folded the base it claims as newest, so it held a newer one. Forfeits the deposit.
    /// @dev Only inside the challenge window. Signals (context, request.foldNullifier, newBase).
    /// Anyone may call it; the challenger gets nothing, so copying the transaction gains nothing.
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    /// @param newBase The Fold proof's new base (x, y).
    /// @param proof The Fold proof.
    function challengeStaleBase(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        uint256[2] calldata newBase,
        Groth16Proof calldata proof
    ) external;

    /// @notice Challenge 2: a Spend proof whose nullifier is a disclosed (undeclared) slot's shows a
    /// ticket the user used but neither folded nor declared. Forfeits the deposit.
    /// @dev Only inside the challenge window, for a slot below TICKET_WINDOW that is not declared.
    /// Signals (root, context, ticketX, ticketY, request.slotNullifiers[slot], y, x); any root.
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    /// @param slot The slot j whose ticket e + j was used.
    /// @param spend The Spend proof's other public signals.
    /// @param proof The Spend proof.
    function challengeUndeclaredTicket(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        uint8 slot,
        SpendSignals calldata spend,
        Groth16Proof calldata proof
    ) external;

    /// @notice Challenge 3: the request's disclosed nullifiers do not hash (Poseidon, on-chain) to the
    /// proof's slotNullifiersHash, so they cannot be checked against used tickets. Forfeits the deposit.
    /// @dev Only inside the challenge window. Reverts with DisclosureConsistent if they do hash to it.
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    function challengeDisclosure(uint256 identityCommitment, WithdrawalRequest calldata request) external;

    /// @notice Settles a withdrawal once its challenge window has passed; anyone may call it.
    /// @dev toBurn = min(burned, amount); toTreasury = min(spent + popcount(declaredSlots)·maxCost,
    /// amount − toBurn); the recipient gets the rest (never reverts on totals). Treasury and burn
    /// accrue (see {sweep}); if the token refuses the recipient, the refund is owed (see {claimRefund}).
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    function finalizeWithdrawal(uint256 identityCommitment, WithdrawalRequest calldata request) external;

    /// @notice Slashes an active deposit whose secret is known (revealed by a reused ticket).
    /// @dev The proof binds `receiver`, this chain and this registry, so a copied transaction pays
    /// the original receiver. The reserve ⌊amount·reserveBps/10⁴⌋ goes to the receiver, the rest
    /// accrues to the treasury.
    /// @param identityCommitment The deposit to slash.
    /// @param receiver Receives the bounty.
    /// @param proof A Slash proof with signals (idc, keccak256(abi.encode(chainId, registry, receiver)) >> 8).
    function slash(uint256 identityCommitment, address receiver, Groth16Proof calldata proof) external;

    /// @notice Slashes a deposit under withdrawal whose secret is known. No bounty: a user caught
    /// withdrawing a stale state must not front-run the challenge with a self-slash and keep the
    /// reserve. min(burned, amount) accrues to the burn address, the rest to the treasury.
    /// @dev The Slash proof is bound to `receiver` as in {slash} (the receiver gets nothing).
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    /// @param receiver The receiver the Slash proof is bound to.
    /// @param proof The Slash proof.
    function slashWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        address receiver,
        Groth16Proof calldata proof
    ) external;

    /// @notice Logs a policy violation by the request with `nullifier`; the penalty itself is
    /// burned through the user's charges. Only the owner (the provider's operator).
    /// @param nullifier The offending request's ticket nullifier.
    /// @param evidenceHash Hash of the evidence the provider keeps.
    function reportViolation(uint256 nullifier, bytes32 evidenceHash) external;

    /// @notice Sends an active deposit whose term has ended to the treasury. Anyone may call it.
    /// @param identityCommitment The expired deposit.
    function claimExpired(uint256 identityCommitment) external;

    /// @notice The deposit registered under `identityCommitment`.
    /// @param identityCommitment The deposit.
    function deposits(uint256 identityCommitment) external view returns (DepositRecord memory);

    /// @notice keccak256(abi.encode(request)) of the pending withdrawal of a deposit (zero if none).
    /// @param identityCommitment The deposit.
    function withdrawalCommitments(uint256 identityCommitment) external view returns (bytes32);

    /// @notice Poseidon(chainId, address(this)): the domain separator of this registry's tickets.
    function scope() external view returns (uint256);

    /// @notice Poseidon(scope, providerKey.x, providerKey.y, terms): the constant public signal
    /// that binds every proof to this registry, its provider key and its terms.
    function context() external view returns (uint256);

    /// @notice Blocks per epoch: epoch n's root is the tree after every event of blocks ≤ n·epochBlocks.
    function epochBlocks() external view returns (uint256);

    /// @notice The smallest deposit that can pay FOLD_SIZE requests at maxCost plus policyPenalty each above its
    /// reserve: enough to be charged, fold the charges and go on (a deposit that could pay one request only
    /// could never fold, and its remainder would be spendable by no one).
    function minimumDeposit() external view returns (uint256);

    /// @notice Number of policy violations the provider has reported (auditable rate).
    function violationCount() external view returns (uint256);

    /// @notice True if a violation was reported for this nullifier.
    /// @param nullifier A ticket nullifier.
    function violationReported(uint256 nullifier) external view returns (bool);

    /// @notice The provider's EdDSA public key (Baby Jubjub point).
    function providerKey() external view returns (uint256 x, uint256 y);

    /// @notice The most one request may cost, and what a declared slot costs at finalization.
    function maxCost() external view returns (uint256);

    /// @notice Burned from a deposit for a request that breaks the terms of service.
    function policyPenalty() external view returns (uint256);

    /// @notice Basis points of each deposit that cannot be spent.
    function reserveBps() external view returns (uint256);

    /// @notice Seconds between a withdrawal request and its payout.
    function challengeWindow() external view returns (uint256);

    /// @notice Seconds after registration when an untouched deposit may be claimed by the provider.
    function depositTerm() external view returns (uint256);

    /// @notice Depth of the registry tree: 32, bound to the Spend(32, 8) circuit.
    function treeDepth() external pure returns (uint256);

    /// @notice W: the ticket window of the circuits (8).
    function ticketWindow() external pure returns (uint256);

    /// @notice K: charges per fold (2).
    function foldSize() external pure returns (uint256);

    /// @notice The Groth16 verifiers of the four circuits.
    function verifiers()
        external
        view
        returns (ISpendVerifier spend, IFoldVerifier fold, IWithdrawVerifier withdraw, ISlashVerifier slashing);

    /// @notice The Slash proof's public binding of `receiver`: keccak256(abi.encode(chainId, this, receiver)) >> 8.
    /// @param receiver The receiver.
    function slashReceiverBinding(address receiver) external view returns (uint256);

    /// @notice Poseidon(Poseidon(n_0, n_1, n_2, n_3), Poseidon(n_4, n_5, n_6, n_7)): the hash the Withdraw
    /// proof commits the disclosed slot nullifiers to.
    /// @param slotNullifiers The disclosed nullifiers (0 for declared slots).
    function hashSlotNullifiers(uint256[8] calldata slotNullifiers) external pure returns (uint256);
}
