// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";
import {PoseidonT5} from "poseidon-solidity/PoseidonT5.sol";
import {ICreditRegistry} from "./interfaces/ICreditRegistry.sol";
import {ISpendVerifier, IFoldVerifier, IWithdrawVerifier, ISlashVerifier} from "./interfaces/IVerifiers.sol";
import {RegistryCheckpoint} from "./base/RegistryCheckpoint.sol";
import {DepositCustody} from "./base/DepositCustody.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";
import {
    ACCOUNTING_BURNED_SHIFT,
    ACCOUNTING_MASK_SHIFT,
    AMOUNT_BITS,
    BPS_DENOMINATOR,
    FOLD_SIZE,
    MAX_AMOUNT,
    MAX_CHALLENGE_WINDOW,
    SNARK_SCALAR_FIELD,
    TICKET_WINDOW,
    TREE_DEPTH
} from "./libraries/RegistryConstants.sol";

/// @title CreditRegistry
/// @notice The zk-api-credits registry (protocol v2) of one provider and one ERC-20 token.
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
    uint256 public immutable epochBlocks;
    /// @inheritdoc ICreditRegistry
    uint256 public immutable minimumDeposit;

    uint256 private immutable _providerKeyX;
    uint256 private immutable _providerKeyY;
    ISpendVerifier private immutable _spendVerifier;
    IFoldVerifier private immutable _foldVerifier;
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
    constructor(RegistryConfig memory config) DepositCustody(config.token, config.treasury) Ownable(config.owner) {
        minimumDeposit = _validate(config);
        maxCost = config.maxCost;
        policyPenalty = config.policyPenalty;
        reserveBps = config.reserveBps;
        challengeWindow = config.challengeWindow;
        depositTerm = config.depositTerm;
        epochBlocks = config.epochBlocks;
        _providerKeyX = config.providerKeyX;
        _providerKeyY = config.providerKeyY;
        _spendVerifier = config.spendVerifier;
        _foldVerifier = config.foldVerifier;
        _withdrawVerifier = config.withdrawVerifier;
        _slashVerifier = config.slashVerifier;

        uint256 registryScope = PoseidonT3.hash([block.chainid, uint256(uint160(address(this)))]);
        uint256 terms =
            uint256(config.maxCost) |
                (uint256(config.policyPenalty) << AMOUNT_BITS) |
                (uint256(config.reserveBps) << (2 * AMOUNT_BITS));
        scope = registryScope;
        context = PoseidonT5.hash([registryScope, config.providerKeyX, config.providerKeyY, terms]);
    }

    /// @inheritdoc ICreditRegistry
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

    /// @inheritdoc ICreditRegistry
    function requestWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        Groth16Proof calldata proof
    ) external nonReentrant {
        DepositRecord memory record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Active) revert UnexpectedDepositStatus(identityCommitment, record.status);
        _checkRequest(request);
        uint256[6] memory signals = [
            identityCommitment,
            context,
            uint256(request.spent) |
                (uint256(request.burned) << ACCOUNTING_BURNED_SHIFT) |
                (uint256(request.declaredSlots) << ACCOUNTING_MASK_SHIFT),
            request.foldNullifier,
            request.slotNullifiersHash,
            uint256(uint160(request.recipient))
        ];
        if (!_withdrawVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidWithdrawProof(identityCommitment);

        record.status = DepositStatus.Withdrawing;
        record.withdrawalRequestedAt = uint40(block.timestamp);
        _deposits[identityCommitment] = record;
        withdrawalCommitments[identityCommitment] = keccak256(abi.encode(request));
        emit WithdrawalRequested(
            identityCommitment,
            request.recipient,
            request.foldNullifier,
            request.spent,
            request.burned,
            request.declaredSlots,
            request.slotNullifiers,
            request.slotNullifiersHash,
            block.timestamp + challengeWindow
        );
    }

    /// @inheritdoc ICreditRegistry
    function challengeStaleBase(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        uint256[2] calldata newBase,
        Groth16Proof calldata proof
    ) external nonReentrant {
        DepositRecord memory record = _challengeableWithdrawal(identityCommitment, request);
        uint256[4] memory signals = [context, request.foldNullifier, newBase[0], newBase[1]];
        if (!_foldVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) {
            revert InvalidChallengeProof(identityCommitment, ChallengeKind.StaleBase);
        }
        _forfeit(identityCommitment, record, request, ChallengeKind.StaleBase);
    }

    /// @inheritdoc ICreditRegistry
    function challengeUndeclaredTicket(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        uint8 slot,
        SpendSignals calldata spend,
        Groth16Proof calldata proof
    ) external nonReentrant {
        DepositRecord memory record = _challengeableWithdrawal(identityCommitment, request);
        if (slot >= TICKET_WINDOW) revert InvalidSlot(slot, TICKET_WINDOW);
        if (_isDeclared(request.declaredSlots, slot)) revert SlotDeclared(identityCommitment, slot);
        uint256[7] memory signals = [
            spend.root,
            context,
            spend.ticketX,
            spend.ticketY,
            request.slotNullifiers[slot],
            spend.y,
            spend.x
        ];
        if (!_spendVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) {
            revert InvalidChallengeProof(identityCommitment, ChallengeKind.UndeclaredTicket);
        }
        _forfeit(identityCommitment, record, request, ChallengeKind.UndeclaredTicket);
    }

    /// @inheritdoc ICreditRegistry
    function challengeDisclosure(uint256 identityCommitment, WithdrawalRequest calldata request) external nonReentrant {
        DepositRecord memory record = _challengeableWithdrawal(identityCommitment, request);
        if (hashSlotNullifiers(request.slotNullifiers) == request.slotNullifiersHash)
            revert DisclosureConsistent(identityCommitment);
        _forfeit(identityCommitment, record, request, ChallengeKind.Disclosure);
    }

    /// @inheritdoc ICreditRegistry
    function finalizeWithdrawal(uint256 identityCommitment, WithdrawalRequest calldata request) external nonReentrant {
        DepositRecord memory record = _pendingWithdrawal(identityCommitment, request);
        uint256 finalizableAt = uint256(record.withdrawalRequestedAt) + challengeWindow;
        if (block.timestamp < finalizableAt) revert ChallengeWindowOpen(identityCommitment, finalizableAt);

        record.status = DepositStatus.Withdrawn;
        _deposits[identityCommitment] = record;
        delete withdrawalCommitments[identityCommitment];
        // Never reverts on totals: the burn is paid first, then the charges, each capped by what is left.
        uint256 toBurn = _min(request.burned, record.amount);
        uint256 charged = uint256(request.spent) + _popcount(request.declaredSlots) * maxCost;
        uint256 toTreasury = _min(charged, record.amount - toBurn);
        uint256 refund = record.amount - toBurn - toTreasury;
        _accrue(toTreasury, toBurn);
        emit WithdrawalFinalized(identityCommitment, request.recipient, refund, toTreasury, toBurn);

        if (!_payOrOwe(request.recipient, refund)) emit RefundDeferred(identityCommitment, request.recipient, refund);
    }

    /// @inheritdoc ICreditRegistry
    function slash(uint256 identityCommitment, address receiver, Groth16Proof calldata proof) external nonReentrant {
        DepositRecord memory record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Active) revert UnexpectedDepositStatus(identityCommitment, record.status);
        _verifySlash(identityCommitment, receiver, proof);

        record.status = DepositStatus.Slashed;
        _deposits[identityCommitment] = record;
        uint256 bounty = (uint256(record.amount) * reserveBps) / BPS_DENOMINATOR;
        uint256 toTreasury = record.amount - bounty;
        _accrue(toTreasury, 0);
        emit Slashed(identityCommitment, receiver, bounty, toTreasury, 0);

        _pay(receiver, bounty);
    }

    /// @inheritdoc ICreditRegistry
    function slashWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request,
        address receiver,
        Groth16Proof calldata proof
    ) external nonReentrant {
        DepositRecord memory record = _pendingWithdrawal(identityCommitment, request);
        _verifySlash(identityCommitment, receiver, proof);

        record.status = DepositStatus.Slashed;
        _deposits[identityCommitment] = record;
        delete withdrawalCommitments[identityCommitment];
        uint256 toBurn = _min(request.burned, record.amount);
        uint256 toTreasury = record.amount - toBurn;
        _accrue(toTreasury, toBurn);
        emit Slashed(identityCommitment, receiver, 0, toTreasury, toBurn);
    }

    /// @inheritdoc ICreditRegistry
    function reportViolation(uint256 nullifier, bytes32 evidenceHash) external onlyOwner {
        if (nullifier == 0 || nullifier >= SNARK_SCALAR_FIELD) revert InvalidNullifier(nullifier);
        if (evidenceHash == bytes32(0)) revert InvalidEvidence(evidenceHash);
        if (violationReported[nullifier]) revert ViolationAlreadyReported(nullifier);
        violationReported[nullifier] = true;
        uint256 count = ++violationCount;
        emit ViolationReported(nullifier, evidenceHash, count);
    }

    /// @inheritdoc ICreditRegistry
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

    /// @inheritdoc ICreditRegistry
    function deposits(uint256 identityCommitment) external view returns (DepositRecord memory) {
        return _deposits[identityCommitment];
    }

    /// @inheritdoc ICreditRegistry
    function providerKey() external view returns (uint256 x, uint256 y) {
        return (_providerKeyX, _providerKeyY);
    }

    /// @inheritdoc ICreditRegistry
    function verifiers()
        external
        view
        returns (ISpendVerifier spend, IFoldVerifier fold, IWithdrawVerifier withdraw, ISlashVerifier slashing)
    {
        return (_spendVerifier, _foldVerifier, _withdrawVerifier, _slashVerifier);
    }

    /// @inheritdoc ICreditRegistry
    function treeDepth() external pure returns (uint256) {
        return TREE_DEPTH;
    }

    /// @inheritdoc ICreditRegistry
    function ticketWindow() external pure returns (uint256) {
        return TICKET_WINDOW;
    }

    /// @inheritdoc ICreditRegistry
    function foldSize() external pure returns (uint256) {
        return FOLD_SIZE;
    }

    /// @inheritdoc ICreditRegistry
    function slashReceiverBinding(address receiver) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), receiver))) >> 8;
    }

    /// @inheritdoc ICreditRegistry
    function hashSlotNullifiers(uint256[8] calldata n) public pure returns (uint256) {
        return PoseidonT3.hash([PoseidonT5.hash([n[0], n[1], n[2], n[3]]), PoseidonT5.hash([n[4], n[5], n[6], n[7]])]);
    }

    /// @dev The record of a deposit under withdrawal, after checking the request matches the stored hash.
    function _pendingWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request
    ) private view returns (DepositRecord memory record) {
        record = _deposits[identityCommitment];
        if (record.status != DepositStatus.Withdrawing) revert UnexpectedDepositStatus(identityCommitment, record.status);
        if (withdrawalCommitments[identityCommitment] != keccak256(abi.encode(request))) {
            revert WithdrawalRequestMismatch(identityCommitment);
        }
    }

    /// @dev {_pendingWithdrawal}, and the challenge window must still be open.
    function _challengeableWithdrawal(
        uint256 identityCommitment,
        WithdrawalRequest calldata request
    ) private view returns (DepositRecord memory record) {
        record = _pendingWithdrawal(identityCommitment, request);
        uint256 closesAt = uint256(record.withdrawalRequestedAt) + challengeWindow;
        if (block.timestamp >= closesAt) revert ChallengeWindowClosed(identityCommitment, closesAt);
    }

    /// @dev A successful challenge: the whole deposit is forfeited, the request's burned part to the burn address.
    function _forfeit(
        uint256 identityCommitment,
        DepositRecord memory record,
        WithdrawalRequest calldata request,
        ChallengeKind kind
    ) private {
        record.status = DepositStatus.Slashed;
        _deposits[identityCommitment] = record;
        delete withdrawalCommitments[identityCommitment];
        uint256 toBurn = _min(request.burned, record.amount);
        uint256 toTreasury = record.amount - toBurn;
        _accrue(toTreasury, toBurn);
        emit WithdrawalChallenged(identityCommitment, msg.sender, kind, toTreasury, toBurn);
    }

    /// @dev requestWithdrawal's input checks: recipient, canonical signals, and a nullifier exactly
    /// where a slot is not declared.
    function _checkRequest(WithdrawalRequest calldata request) private pure {
        if (request.recipient == address(0)) revert InvalidRecipient(request.recipient);
        if (request.foldNullifier >= SNARK_SCALAR_FIELD) revert NonCanonicalFoldNullifier(request.foldNullifier);
        if (request.slotNullifiersHash >= SNARK_SCALAR_FIELD) {
            revert NonCanonicalSlotNullifiersHash(request.slotNullifiersHash);
        }
        uint8 declared = request.declaredSlots;
        for (uint256 slot = 0; slot < TICKET_WINDOW; ++slot) {
            uint256 nullifier = request.slotNullifiers[slot];
            if (_isDeclared(declared, slot)) {
                if (nullifier != 0) revert DeclaredSlotDisclosed(slot, nullifier);
            } else if (nullifier == 0 || nullifier >= SNARK_SCALAR_FIELD) {
                revert InvalidSlotNullifier(slot, nullifier);
            }
        }
    }

    /// @dev Reverts unless `proof` is a Slash proof of `identityCommitment` bound to `receiver` (not zero).
    function _verifySlash(uint256 identityCommitment, address receiver, Groth16Proof calldata proof) private view {
        if (receiver == address(0)) revert InvalidReceiver(receiver);
        uint256[2] memory signals = [identityCommitment, slashReceiverBinding(receiver)];
        if (!_slashVerifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidSlashProof(identityCommitment);
    }

    /// @dev Checks every parameter; returns the minimum deposit.
    function _validate(RegistryConfig memory config) private view returns (uint256 minimum) {
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
        if (config.epochBlocks == 0) revert InvalidEpochBlocks(config.epochBlocks);
        _requireContract(address(config.spendVerifier));
        _requireContract(address(config.foldVerifier));
        _requireContract(address(config.withdrawVerifier));
        _requireContract(address(config.slashVerifier));

        // The smallest a with a - floor(a * r / B) >= need, i.e. a * (B - r) > (need - 1) * B, where need is
        // one fold's worth of requests at their worst case (maxCost and policyPenalty are below 2^96).
        uint256 need = FOLD_SIZE * (uint256(config.maxCost) + config.policyPenalty);
        minimum = ((need - 1) * BPS_DENOMINATOR) / (BPS_DENOMINATOR - config.reserveBps) + 1;
        if (minimum > MAX_AMOUNT) revert InvalidMaxCost(config.maxCost);
    }

    function _requireContract(address verifier) private view {
        if (verifier.code.length == 0) revert InvalidVerifier(verifier);
    }

    function _isDeclared(uint8 declaredSlots, uint256 slot) private pure returns (bool) {
        return (uint256(declaredSlots) >> slot) & 1 == 1;
    }

    function _popcount(uint8 mask) private pure returns (uint256 count) {
        for (uint256 rest = mask; rest != 0; rest &= rest - 1) ++count;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
