// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SNARK_SCALAR_FIELD} from "./RegistryConstants.sol";

/// @title BabyJubjub
/// @notice Validation of the provider's EdDSA public key on Baby Jubjub (EIP-2494), the twisted
/// Edwards curve a·x² + y² = 1 + d·x²·y² over the BN254 scalar field, a = 168700, d = 168696.
/// @dev The curve's group has order 8·l (cofactor 8). A key A with 8·A = O (a point of order 1, 2,
/// 4 or 8) makes every EdDSA-Poseidon signature check pass for any message, since the verifier
/// multiplies both sides by the cofactor: such keys are refused.
library BabyJubjub {
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;

    /// @notice True if (x, y) is a canonical point of the curve whose order is not a divisor of 8
    /// (in particular not the neutral element (0, 1) nor the order-2 point (0, p - 1)).
    /// @param x The key's x coordinate.
    /// @param y The key's y coordinate.
    function isValidPublicKey(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= SNARK_SCALAR_FIELD || y >= SNARK_SCALAR_FIELD) return false;
        // x = 0 holds only for the neutral element (0, 1) and the order-2 point (0, p - 1).
        if (x == 0) return false;
        if (!isOnCurve(x, y)) return false;
        return !hasSmallOrder(x, y);
    }

    /// @notice True if (x, y) satisfies a·x² + y² = 1 + d·x²·y² (coordinates taken mod p).
    /// @param x The point's x coordinate.
    /// @param y The point's y coordinate.
    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        uint256 p = SNARK_SCALAR_FIELD;
        uint256 xx = mulmod(x, x, p);
        uint256 yy = mulmod(y, y, p);
        uint256 left = addmod(mulmod(A, xx, p), yy, p);
        uint256 right = addmod(1, mulmod(D, mulmod(xx, yy, p), p), p);
        return left == right;
    }

    /// @notice True if 8·(x, y) is the neutral element, for a point (x, y) of the curve: three
    /// doublings in projective coordinates (X : Y : Z), then X = 0 and Y = Z.
    /// @dev Doubling "dbl-2008-bbjlp" (Bernstein, Birkner, Joye, Lange, Peters: "Twisted Edwards
    /// curves", 2008): B = (X + Y)², C = X², D = Y², E = a·C, F = E + D, H = Z², J = F − 2·H,
    /// X' = (B − C − D)·J, Y' = F·(E − D), Z' = F·J. The addition law of Baby Jubjub is complete
    /// (a is a square, d is not), so Z never becomes 0 on a curve point.
    /// @param x The point's x coordinate.
    /// @param y The point's y coordinate.
    function hasSmallOrder(uint256 x, uint256 y) internal pure returns (bool) {
        uint256 px = x;
        uint256 py = y;
        uint256 pz = 1;
        for (uint256 i = 0; i < 3; ++i) {
            (px, py, pz) = _double(px, py, pz);
        }
        return px == 0 && py == pz;
    }

    function _double(uint256 x, uint256 y, uint256 z) private pure returns (uint256, uint256, uint256) {
        uint256 p = SNARK_SCALAR_FIELD;
        uint256 xPlusY = addmod(x, y, p);
        uint256 b = mulmod(xPlusY, xPlusY, p);
        uint256 c = mulmod(x, x, p);
        uint256 d = mulmod(y, y, p);
        uint256 e = mulmod(A, c, p);
        uint256 f = addmod(e, d, p);
        uint256 h = mulmod(z, z, p);
        uint256 j = addmod(f, p - addmod(h, h, p), p);
        uint256 bMinusCMinusD = addmod(b, p - addmod(c, d, p), p);
        return (mulmod(bMinusCMinusD, j, p), mulmod(f, addmod(e, p - d, p), p), mulmod(f, j, p));
    }
}
