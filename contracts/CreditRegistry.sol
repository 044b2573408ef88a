// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";
import {PoseidonT5} from "poseidon-solidity/PoseidonT5.sol";
import {ICreditRegistry} from "./interfaces/ICreditRegistry.sol";
import {ISpendVerifier, IWithdrawVerifier, ISlashVerifier} from "./interfaces/IVerifiers.sol";
import {RegistryCheckpoint} from "./base/RegistryCheckpoint.sol";
import {DepositCustody} from "./base/DepositCustody.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";
import {
    AMOUNT_BITS,
    BPS_DENOMINATOR,
    MAX_AMOUNT,
    MAX_CHALLENGE_WINDOW,
    MAX_TREE_DEPTH,
    SNARK_SCALAR_FIELD
} from "./libraries/RegistryConstants.sol";

/// @title CreditRegistry
/// @notice The zk-api-credits registry of one provider and one ERC-20 token.
/// @dev See {ICreditRegistry}; docs/protocol.md is the specification.
contract CreditRegistry is ICreditRegistry, RegistryCheckpoint, DepositCustody, Ownable2Step {
    /// @inheritdoc ICreditRegistry
    uint256 public immutable scope;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable context;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable maxCost;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable policyPenalty;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable reserveBps;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable challengeWindow;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable depositTerm;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable treeDepth;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable minimumDeposit;

    uint256 private immutable _providerKeyX;
    uint256 private immutable _providerKeyY;
    ISpendVerifier private immutable _spendVerifier;
    IWithdrawVerifier private immutable _withdrawVerifier;
    ISlashVerifier private immutable _slashVerifier;

    mapping(uint256 identityCommitment => DepositRecord) private _deposits;

    /// @inheritdoc ICreditRegistry
    mapping(uint256 identityCommitment => bytes32 requestHash) public withdrawalCommitments;

    /// @inheritdoc ICreditRegistry
    mapping(uint256 nullifier => bool) public violationReported;

    /// @inheritdoc ICreditRegistry
    uint256 public violationCount;

    /// @param config The registry's parameters, each validated (see {ICreditRegistry-RegistryConfig}).
    constructor(
        RegistryConfig memory config
    ) RegistryCheckpoint(_validTreeDepth(config.treeDepth)) DepositCustody(config.token, config.treasury) Ownable(config.owner) {
        if (address(config.token).code.length == 0) revert InvalidToken(address(config.token));
        if (config.treasury == address(0)) revert InvalidTreasury(config.treasury);
        if (!BabyJubjub.isValidPublicKey(config.providerKeyX, config.providerKeyY)) {
            revert InvalidProviderKey(config.providerKeyX, config.providerKeyY);
        }
        // maxCost and policyPenalty are uint96, so below 2^96 by type.
        if (config.maxCost == 0) revert InvalidMaxCost(config.maxCost);
        if (config.reserveBps >= BPS_DENOMINATOR) revert InvalidReserve(config.reserveBps);
        if (config.challengeWindow == 0 || config.challengeWindow > MAX_CHALLENGE_WINDOW) {
            revert InvalidChallengeWindow(config.challengeWindow, MAX_CHALLENGE_WINDOW);
        }
        if (config.depositTerm <= config.challengeWindow) revert InvalidDepositTerm(config.depositTerm, config.challengeWindow);
        _requireContract(address(config.spendVerifier));
        _requireContract(address(config.withdrawVerifier));
        _requireContract(address(config.slashVerifier));

        maxCost = config.maxCost;
        policyPenalty = config.policyPenalty;
        reserveBps = config.reserveBps;
        challengeWindow = config.challengeWindow;
        depositTerm = config.depositTerm;
        treeDepth = config.treeDepth;
        _providerKeyX = config.providerKeyX;
        _providerKeyY = config.providerKeyY;
        _spendVerifier = config.spendVerifier;
        _withdrawVerifier = config.withdrawVerifier;
        _slashVerifier = config.slashVerifier;

        // The smallest a with a - floor(a * r / B) >= need, i.e. a * (B - r) > (need - 1) * B.
        uint256 need = uint256(config.maxCost) + config.policyPenalty;
        uint256 minimum = ((need - 1) * BPS_DENOMINATOR) / (BPS_DENOMINATOR - config.reserveBps) + 1;
        if (minimum > MAX_AMOUNT) revert InvalidMaxCost(config.maxCost);
        minimumDeposit = minimum;

        uint256 registryScope = PoseidonT3.hash([block.chainid, uint256(uint160(address(this)))]);
        uint256 terms =
            uint256(config.maxCost) |
                (uint256(config.policyPenalty) << AMOUNT_BITS) |
                (uint256(config.reserveBps) << (2 * AMOUNT_BITS));
        scope = registryScope;
        context = PoseidonT5.hash([registryScope, config.providerKeyX, config.providerKeyY, terms]);
    }

    /// @dev See {ICreditRegistry-register}.
    function register(uint256 identityCommitment, uint256 amount) external nonReentrant {
        if (identityCommitment == 0 || identityCommitment >= SNARK_SCALAR_FIELD) {
            revert InvalidIdentityCommitment(identityCommitment);
        }
        if (amount < minimumDeposit || amount > MAX_AMOUNT) revert InvalidDepositAmount(amount, minimumDeposit, MAX_AMOUNT);
        if (_deposits[identityCommitment].status != DepositStatus.None) revert IdentityAlreadyRegistered(identityCommitment);

        (uint256 leafIndex, bytes32 checkpoint) = _appendLeaf(identityCommitment, amount);
        _deposits[identityCommitment] = DepositRecord({
            amount: uint96(amount),
            registeredAt: uint40(block.timestamp),
            withdrawalRequestedAt: 0,
            leafIndex: uint32(leafIndex),
            status: DepositStatus.Active
        });
        emit Registered(identityCommitment, leafIndex, amount, checkpoint);

        _collect(msg.sender, amount);
    }

    /// @dev See {ICreditRegistry-requestWithdrawal}.
    function requestWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        Groth16Proof calldata proof
    ) external nonReentrant {
        DepositRecord memory record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Active) revert UnexpectedDepositStatus(identityCommitment, record.status);
        if (request.recipient == address(0)) revert InvalidRecipient(request.recipient);
        if (request.nullifier == 0 || request.nullifier >= SNARK_SCALAR_FIELD) revert InvalidNullifier(request.nullifier);
        if (uint256(request.spent) + request.burned > record.amount) {
            revert TotalsExceedDeposit(request.spent, request.burned, record.amount);
        }
        uint256[6] memory signals = [
            identityCommitment,
            request.nullifier,
            context,
            request.spent,
            request.burned,
            uint256(uint160(request.recipient))
        ];
        if (!_withdrawVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidWithdrawProof(identityCommitment);

        record.status = DepositStatus.Withdrawing;
        record.withdrawalRequestedAt = uint40(block.timestamp);
        _deposits[identityCommitment] = record;
        withdrawalCommitments[identityCommitment] = _hashRequest(request);
        emit WithdrawalRequested(
            identityCommitment,
            request.nullifier,
            request.recipient,
            request.spent,
            request.burned,
            block.timestamp + challengeWindow
        );
    }

    /// @dev See {ICreditRegistry-challengeWithdrawal}.
    function challengeWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        SpendSignals calldata spend,
        Groth16Proof calldata proof
    ) external nonReentrant {
        DepositRecord memory record = _pendingWithdrawal(identityCommitment, request);
        uint256 closesAt = uint256(record.withdrawalRequestedAt) + challengeWindow;
        if (block.timestamp >= closesAt) revert ChallengeWindowClosed(identityCommitment, closesAt);
        uint256[7] memory signals = [
            spend.root,
            context,
            spend.rerandomisedStateX,
            spend.rerandomisedStateY,
            request.nullifier,
            spend.y,
            spend.x
        ];
        if (!_spendVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidChallengeProof(identityCommitment);

        record.status = DepositStatus.Slashed;
        _deposits[identityCommitment] = record;
        delete withdrawalCommitments[identityCommitment];
        _accrue(record.amount, 0);
        emit WithdrawalChallenged(identityCommitment, request.nullifier, msg.sender, record.amount);
    }

    /// @dev See {ICreditRegistry-finalizeWithdrawal}.
    function finalizeWithdrawal(uint256 identityCommitment, WithdrawalRequest calldata request) external nonReentrant {
        DepositRecord memory record = _pendingWithdrawal(identityCommitment, request);
        uint256 finalizableAt = uint256(record.withdrawalRequestedAt) + challengeWindow;
        if (block.timestamp < finalizableAt) revert ChallengeWindowOpen(identityCommitment, finalizableAt);

        record.status = DepositStatus.Withdrawn;
        _deposits[identityCommitment] = record;
        delete withdrawalCommitments[identityCommitment];
        // requestWithdrawal checked spent + burned <= amount.
        uint256 refund = uint256(record.amount) - request.spent - request.burned;
        _accrue(request.spent, request.burned);
        emit WithdrawalFinalized(identityCommitment, request.recipient, refund, request.spent, request.burned);

        _pay(request.recipient, refund);
    }

    /// @dev See {ICreditRegistry-slash}.
    function slash(uint256 identityCommitment, address receiver, Groth16Proof calldata proof) external nonReentrant {
        DepositRecord memory record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Active && record.status != DepositStatus.Withdrawing) {
            revert UnexpectedDepositStatus(identityCommitment, record.status);
        }
        if (receiver == address(0)) revert InvalidReceiver(receiver);
        uint256[2] memory signals = [identityCommitment, slashReceiverBinding(receiver)];
        if (!_slashVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidSlashProof(identityCommitment);

        if (record.status == DepositStatus.Withdrawing) delete withdrawalCommitments[identityCommitment];
        record.status = DepositStatus.Slashed;
        _deposits[identityCommitment] = record;
        uint256 bounty = (uint256(record.amount) * reserveBps) / BPS_DENOMINATOR;
        uint256 toTreasury = record.amount - bounty;
        _accrue(toTreasury, 0);
        emit Slashed(identityCommitment, receiver, bounty, toTreasury);

        _pay(receiver, bounty);
    }

    /// @dev See {ICreditRegistry-reportViolation}.
    function reportViolation(uint256 nullifier, bytes32 evidenceHash) external onlyOwner {
        if (nullifier == 0 || nullifier >= SNARK_SCALAR_FIELD) revert InvalidNullifier(nullifier);
        if (evidenceHash == bytes32(0)) revert InvalidEvidence(evidenceHash);
        if (violationReported[nullifier]) revert ViolationAlreadyReported(nullifier);
        violationReported[nullifier] = true;
        uint256 count = ++violationCount;
        emit ViolationReported(nullifier, evidenceHash, count);
    }

    /// @dev See {ICreditRegistry-claimExpired}.
    function claimExpired(uint256 identityCommitment) external nonReentrant {
        DepositRecord memory record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Active) revert UnexpectedDepositStatus(identityCommitment, record.status);
        uint256 expiresAt = uint256(record.registeredAt) + depositTerm;
        if (block.timestamp < expiresAt) revert DepositNotExpired(identityCommitment, expiresAt);

        record.status = DepositStatus.Expired;
        _deposits[identityCommitment] = record;
        _accrue(record.amount, 0);
        emit DepositExpired(identityCommitment, record.amount);
    }

    /// @dev See {ICreditRegistry-deposits}.
    function deposits(uint256 identityCommitment) external view returns (DepositRecord memory) {
        return _deposits[identityCommitment];
    }

    /// @dev See {ICreditRegistry-providerKey}.
    function providerKey() external view returns (uint256 x, uint256 y) {
        return (_providerKeyX, _providerKeyY);
    }

    /// @dev See {ICreditRegistry-verifiers}.
    function verifiers() external view returns (ISpendVerifier spend, IWithdrawVerifier withdraw, ISlashVerifier slashing) {
        return (_spendVerifier, _withdrawVerifier, _slashVerifier);
    }

    /// @notice The Slash proof's public binding of `receiver`: keccak256(chainId, this, receiver) >> 8.
    function slashReceiverBinding(address receiver) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), receiver))) >> 8;
    }

    /// @dev The record of a deposit under withdrawal, after checking the request matches the stored hash.
    function _pendingWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request
    ) private view returns (DepositRecord memory record) {
        record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Withdrawing) revert UnexpectedDepositStatus(identityCommitment, record.status);
        if (withdrawalCommitments[identityCommitment] != _hashRequest(request))
            revert WithdrawalRequestMismatch(identityCommitment);
    }

    function _hashRequest(WithdrawalRequest calldata request) private pure returns (bytes32) {
        return keccak256(abi.encode(request.nullifier, request.recipient, request.spent, request.burned));
    }

    function _requireContract(address verifier) private view {
        if (verifier.code.length == 0) revert InvalidVerifier(verifier);
    }

    function _validTreeDepth(uint256 depth) private pure returns (uint256) {
        if (depth == 0 || depth > MAX_TREE_DEPTH) revert InvalidTreeDepth(depth, MAX_TREE_DEPTH);
        return depth;
    }
}
