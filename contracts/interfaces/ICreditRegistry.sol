// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ISpendVerifier, IWithdrawVerifier, ISlashVerifier} from "./IVerifiers.sol";
import {IRegistryCheckpoint} from "./IRegistryCheckpoint.sol";
import {IDepositCustody} from "./IDepositCustody.sol";

/// @title ICreditRegistry
/// @notice Anonymous, pay-per-request API credits for one provider and one ERC-20 token
/// (docs/protocol.md). A user deposits once under an identity commitment; each request spends
/// an unlinkable ticket proved off-chain with the Spend circuit; the provider keeps a signed,
/// homomorphic account of what the user spent. This registry holds the deposits, keeps a
/// keccak checkpoint over the registrations (the Poseidon tree lives off-chain), pays
/// withdrawals after a challenge window, and slashes whoever reuses a ticket.
interface ICreditRegistry is IRegistryCheckpoint, IDepositCustody {
    /// @notice Lifecycle of a deposit.
    enum DepositStatus {
        None,
        Active,
        Withdrawing,
        Withdrawn,
        Slashed,
        Expired
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

    /// @notice What a withdrawal claims; its hash is stored, the data travels in events and calldata.
    /// @param nullifier Nullifier of the ticket of the claimed state: if it was ever spent, the
    /// state was not the latest and the withdrawal is challenged.
    /// @param recipient Receives `amount - spent - burned`.
    /// @param spent Total the provider charged (paid to the treasury).
    /// @param burned Total of policy penalties (sent to the burn address).
    struct WithdrawalRequest {
        uint256 nullifier;
        address recipient;
        uint96 spent;
        uint96 burned;
    }

    /// @notice The public signals of a Spend proof that the challenger supplies; the registry
    /// adds its own context and the withdrawal's nullifier.
    struct SpendSignals {
        uint256 root;
        uint256 rerandomisedStateX;
        uint256 rerandomisedStateY;
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
    /// @param treasury Receives what users spent, slashed deposits and expired deposits.
    /// @param providerKeyX x of the provider's EdDSA (Baby Jubjub) public key.
    /// @param providerKeyY y of the provider's EdDSA (Baby Jubjub) public key.
    /// @param maxCost The most one request may cost.
    /// @param policyPenalty Burned from a deposit for a request that breaks the terms of service.
    /// @param reserveBps Basis points of each deposit that cannot be spent; pays slashing bounties.
    /// @param challengeWindow Seconds between a withdrawal request and its payout.
    /// @param depositTerm Seconds after registration when a deposit neither withdrawn nor
    /// slashed may be claimed by the provider (the term includes any grace period).
    /// @param treeDepth Depth of the Spend circuit's tree; the registry holds at most 2^treeDepth deposits.
    /// @param spendVerifier Verifier of Spend proofs (built for `treeDepth`).
    /// @param withdrawVerifier Verifier of Withdraw proofs.
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
        uint8 treeDepth;
        ISpendVerifier spendVerifier;
        IWithdrawVerifier withdrawVerifier;
        ISlashVerifier slashVerifier;
        address owner;
    }

    error InvalidToken(address token);
    error InvalidTreasury(address treasury);
    error InvalidProviderKey(uint256 x, uint256 y);
    error InvalidMaxCost(uint256 maxCost);
    error InvalidReserve(uint256 reserveBps);
    error InvalidChallengeWindow(uint256 challengeWindow, uint256 maximum);
    error InvalidDepositTerm(uint256 depositTerm, uint256 challengeWindow);
    error InvalidTreeDepth(uint256 treeDepth, uint256 maximum);
    error InvalidVerifier(address verifier);
    error InvalidIdentityCommitment(uint256 identityCommitment);
    error IdentityAlreadyRegistered(uint256 identityCommitment);
    error InvalidDepositAmount(uint256 amount, uint256 minimum, uint256 maximum);
    error UnexpectedDepositStatus(uint256 identityCommitment, DepositStatus status);
    error InvalidRecipient(address recipient);
    error TotalsExceedDeposit(uint256 spent, uint256 burned, uint256 amount);
    error InvalidWithdrawProof(uint256 identityCommitment);
    error InvalidChallengeProof(uint256 identityCommitment);
    error InvalidSlashProof(uint256 identityCommitment);
    error WithdrawalRequestMismatch(uint256 identityCommitment);
    error ChallengeWindowClosed(uint256 identityCommitment, uint256 closedAt);
    error ChallengeWindowOpen(uint256 identityCommitment, uint256 finalizableAt);
    error DepositNotExpired(uint256 identityCommitment, uint256 expiresAt);
    error InvalidReceiver(address receiver);
    error InvalidNullifier(uint256 nullifier);
    error ViolationAlreadyReported(uint256 nullifier);
    error InvalidEvidence(bytes32 evidenceHash);

    /// @notice A deposit joined the registry: everything a client needs to rebuild the tree.
    /// @param identityCommitment idc = Poseidon(k); the leaf is Poseidon(idc, amount).
    /// @param leafIndex Position of the leaf (registration order).
    /// @param amount Deposited token units.
    /// @param checkpoint keccak256(previous checkpoint, idc, amount), after this registration.
    event Registered(uint256 indexed identityCommitment, uint256 indexed leafIndex, uint256 amount, bytes32 checkpoint);

    /// @notice A withdrawal was requested; it can be challenged until `finalizableAt`.
    event WithdrawalRequested(
        uint256 indexed identityCommitment,
        uint256 indexed nullifier,
        address indexed recipient,
        uint256 spent,
        uint256 burned,
        uint256 finalizableAt
    );

    /// @notice A withdrawal was shown stale (its ticket was spent) and the deposit went to the treasury.
    event WithdrawalChallenged(
        uint256 indexed identityCommitment,
        uint256 indexed nullifier,
        address indexed challenger,
        uint256 amount
    );

    /// @notice A withdrawal was paid out.
    event WithdrawalFinalized(
        uint256 indexed identityCommitment,
        address indexed recipient,
        uint256 refund,
        uint256 spent,
        uint256 burned
    );

    /// @notice A deposit was slashed with a proof of knowledge of its secret.
    event Slashed(uint256 indexed identityCommitment, address indexed receiver, uint256 bounty, uint256 toTreasury);

    /// @notice The provider reported a policy violation by the request with this nullifier.
    event ViolationReported(uint256 indexed nullifier, bytes32 indexed evidenceHash, uint256 violationCount);

    /// @notice A deposit reached the end of its term unclaimed and went to the treasury.
    event DepositExpired(uint256 indexed identityCommitment, uint256 amount);

    /// @notice Deposits `amount` tokens under `identityCommitment` (the caller must have approved them).
    /// @dev Reverts if the commitment is not a canonical, non-zero field element or is already
    /// registered, if the amount cannot pay one request above the reserve or exceeds 2^96 - 1,
    /// if the tree is full, or if the token delivers a different amount than requested.
    /// @param identityCommitment idc = Poseidon(k), k the user's secret.
    /// @param amount Token units to deposit.
    function register(uint256 identityCommitment, uint256 amount) external;

    /// @notice Starts the withdrawal of a deposit with a Withdraw proof of its latest state.
    /// @dev Anyone may submit it: the proof binds the recipient, so a copied transaction pays
    /// the same recipient. Reverts unless the deposit is active and the proof verifies against
    /// this registry's context.
    /// @param identityCommitment The deposit to withdraw.
    /// @param request The claimed final state and the recipient.
    /// @param proof A Withdraw proof with public signals (idc, nullifier, context, spent, burned, recipient).
    function requestWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        Groth16Proof calldata proof
    ) external;

    /// @notice Shows that a pending withdrawal claimed a stale state: its ticket was spent.
    /// @dev The Spend proof must carry the withdrawal's nullifier and this registry's context;
    /// its root need not be recent. The whole deposit goes to the treasury (a bounty to the
    /// caller would reward whoever copies the provider's challenge from the mempool).
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    /// @param spend The Spend proof's other public signals.
    /// @param proof The Spend proof.
    function challengeWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        SpendSignals calldata spend,
        Groth16Proof calldata proof
    ) external;

    /// @notice Pays out a withdrawal once its challenge window has passed; anyone may call it.
    /// @dev `amount - spent - burned` goes to the recipient, `spent` accrues to the treasury and
    /// `burned` to the burn address (see {sweep}).
    /// @param identityCommitment The deposit under withdrawal.
    /// @param request The withdrawal as requested (from its event).
    function finalizeWithdrawal(uint256 identityCommitment, WithdrawalRequest calldata request) external;

    /// @notice Slashes a deposit whose secret is known (revealed by a reused ticket).
    /// @dev The proof binds `receiver`, this chain and this registry, so a copied transaction
    /// pays the original receiver. `amount * reserveBps / 10000` goes to the receiver, the rest
    /// accrues to the treasury. Works for active deposits and those under withdrawal.
    /// @param identityCommitment The deposit to slash.
    /// @param receiver Receives the bounty.
    /// @param proof A Slash proof with public signals (idc, keccak256(chainId, registry, receiver) >> 8).
    function slash(uint256 identityCommitment, address receiver, Groth16Proof calldata proof) external;

    /// @notice Logs a policy violation by the request with `nullifier`; the penalty itself is
    /// burned through the user's signed state. Only the owner (the provider's operator).
    /// @param nullifier The offending request's ticket nullifier.
    /// @param evidenceHash Hash of the evidence the provider keeps.
    function reportViolation(uint256 nullifier, bytes32 evidenceHash) external;

    /// @notice Sends a deposit whose term has ended (neither withdrawn nor slashed) to the treasury.
    /// @param identityCommitment The expired deposit.
    function claimExpired(uint256 identityCommitment) external;

    /// @notice The deposit registered under `identityCommitment`.
    function deposits(uint256 identityCommitment) external view returns (DepositRecord memory);

    /// @notice Hash of the pending withdrawal request of a deposit (zero if none).
    function withdrawalCommitments(uint256 identityCommitment) external view returns (bytes32);

    /// @notice Poseidon(chainId, address(this)): the domain separator of this registry's tickets.
    function scope() external view returns (uint256);

    /// @notice Poseidon(scope, providerKey.x, providerKey.y, terms): the constant public signal
    /// that binds every proof to this registry, its provider key and its terms.
    function context() external view returns (uint256);

    /// @notice The smallest deposit that can pay one request at maxCost plus policyPenalty above its reserve.
    function minimumDeposit() external view returns (uint256);

    /// @notice Number of policy violations the provider has reported (auditable rate).
    function violationCount() external view returns (uint256);

    /// @notice True if a violation was reported for this nullifier.
    function violationReported(uint256 nullifier) external view returns (bool);

    /// @notice The provider's EdDSA public key (Baby Jubjub point).
    function providerKey() external view returns (uint256 x, uint256 y);

    /// @notice The most one request may cost.
    function maxCost() external view returns (uint256);

    /// @notice Burned from a deposit for a request that breaks the terms of service.
    function policyPenalty() external view returns (uint256);

    /// @notice Basis points of each deposit that cannot be spent.
    function reserveBps() external view returns (uint256);

    /// @notice Seconds between a withdrawal request and its payout.
    function challengeWindow() external view returns (uint256);

    /// @notice Seconds after registration when an untouched deposit may be claimed by the provider.
    function depositTerm() external view returns (uint256);

    /// @notice Depth of the registry tree the Spend verifier was built for.
    function treeDepth() external view returns (uint256);

    /// @notice The Groth16 verifiers of the three circuits.
    function verifiers() external view returns (ISpendVerifier spend, IWithdrawVerifier withdraw, ISlashVerifier slashing);
}
